"""Shared test set-up: offline Hugging Face, and one tiny model built per session."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest

# A hub lookup otherwise hangs ~45 s before failing; nothing here may download.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# The key that authenticates cache memos lives outside every cache; tests keep theirs out of $HOME.
os.environ.setdefault("PIXELGEN_STATE_DIR", tempfile.mkdtemp(prefix="pixelgen-state-"))

REPO = Path(__file__).resolve().parent.parent


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto``: two per core, at most eight.

    Much of the suite waits (on Ray nodes starting, Chromium, the S3 and GCS
    emulators, builds in subprocesses), so one worker per core leaves the
    cores idle: on a 2-core machine the suite took 686 s with two workers and
    651 s with four on a fresh clone (954 s in one process).
    """
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


SMALL_MANIFEST = textwrap.dedent(
    """\
    # A small manifest of every asset kind that renders in well under a second on a CPU.
    version: 1
    name: small
    models:
      tiny: {builtin: tiny-sdxl}
    palettes:
      pico: {builtin: pico-8}
      warm: {colors: ["#000000", "#ff004d", "#ffa300", "#ffec27", "#fff1e8"]}
    defaults:
      model: tiny
      size: [16, 16]
      render: {width: 64, height: 64, steps: 2, guidance: 3.0}
      palette: pico
      seed: 3
    assets:
      - id: hero
        kind: sprite
        prompt: "a {class} hero"
        vars: {class: knight}
        background: transparent
        variants: [1, 2]
      - id: slime
        kind: sprite
        prompt: "a {color} slime"
        matrix: {color: [green, blue]}
      - id: ground
        kind: tileset
        prompt: "{name} ground texture"
        seamless: true
        palette: warm
        tiles:
          - name: grass
          - name: dirt
      - id: hud
        kind: ui
        prompt: "a wooden {name}"
        elements:
          - name: button
            size: [16, 8]
            border: [2, 2, 2, 2]
    """
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny SDXL pipeline, built once per test session."""
    pytest.importorskip("diffusers")
    from pixelgen.render.tiny import ensure_tiny_sdxl

    return ensure_tiny_sdxl(tmp_path_factory.mktemp("tiny-cache"))


@pytest.fixture
def project(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A game repo with ``manifests/small.yaml`` and a cache holding the tiny model."""
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "small.yaml").write_text(SMALL_MANIFEST)
    cache_models = tmp_path / "manifests" / ".pixelgen" / "cache" / "models"
    cache_models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, cache_models / tiny_model_dir.name)
    return tmp_path
