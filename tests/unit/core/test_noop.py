"""The no-op shortcut answers only when nothing changed; any change of an input or output is seen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from pixelgen.commands.build import build
from pixelgen.core import noop
from pixelgen.core.workspace import BuildOptions


class FlatColourGenerator:
    """Stands in for the diffusion model: these tests are about bookkeeping, not pixels."""

    def render(self, jobs):
        return [np.full((job.height, job.width, 3), (job.seed * 37) % 251, dtype=np.uint8) for job in jobs]


def _manifest(folder: Path) -> Path:
    palette = folder / "palettes" / "four.hex"
    palette.parent.mkdir(parents=True, exist_ok=True)
    palette.write_text("000000\n555555\naaaaaa\nffffff\n")
    path = folder / "game.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        name: game
        models: {{tiny: {{builtin: tiny-sdxl}}}}
        palettes: {{four: {{path: {palette}}}}}
        defaults: {{model: tiny, size: [8, 8], render: {{width: 64, height: 64, steps: 2}}, palette: four, pixelart: {{cell: 8}}}}
        assets:
          - {{id: hero, kind: sprite, prompt: a hero, seed: 1}}
          - {{id: slime, kind: sprite, prompt: a slime, seed: 2}}
        """))
    return path


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, BuildOptions]:
    manifest = _manifest(tmp_path)
    options = BuildOptions(out=tmp_path / "out", cache_dir=tmp_path / "cache", progress=False)
    summary = build(manifest, options, make_generator=lambda ws: FlatColourGenerator())
    assert summary.built == 2 and not summary.failed
    return manifest, options


def _shortcut(manifest: Path, options: BuildOptions) -> dict | None:
    return noop.shortcut(manifest, out=options.out, cache_dir=options.cache_dir, strip_metadata=options.strip_metadata,
                         sbom_timestamp=options.sbom_timestamp, gates=options.gates)


def _strip_time(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "seconds"}


def test_shortcut_answers_what_a_full_no_op_build_reports(built) -> None:
    manifest, options = built
    recorded = _shortcut(manifest, options)
    assert recorded is not None and recorded["up_to_date"] == 2
    noop.forget(manifest)
    full = build(manifest, options)  # no stamp: the whole recipe, with nothing to do
    assert full.built == 0 and full.rendered == 0
    assert _strip_time(asdict(full)) == _strip_time(recorded)
    assert _shortcut(manifest, options) is not None  # and the full no-op build stamped again


def _edit_output(manifest: Path, options: BuildOptions) -> None:
    path = options.out / "game" / "hero" / "default.png"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # same size
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime: ctime still moves


def _retouch_manifest(manifest: Path, options: BuildOptions) -> None:
    before = manifest.stat()
    manifest.write_text(manifest.read_text().replace("a hero", "a hera"))  # same size
    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))


def _tiny_model_dir(cache_dir: Path) -> Path:
    from pixelgen.render.tiny import tiny_model_dir

    return tiny_model_dir(cache_dir)


CHANGES = {
    "manifest edited (same size and mtime)": _retouch_manifest,
    "manifest comment added": lambda m, o: m.write_text(m.read_text() + "# note\n"),
    "palette file edited": lambda m, o: (m.parent / "palettes" / "four.hex").write_text("000000\nffffff\n"),
    "lock edited": lambda m, o: m.with_name("game.lock.json").write_text(m.with_name("game.lock.json").read_text() + " "),
    "lock removed": lambda m, o: m.with_name("game.lock.json").unlink(),
    "output edited (same size and mtime)": _edit_output,
    "output removed": lambda m, o: (o.out / "game" / "slime" / "default.png").unlink(),
    "SBOM edited": lambda m, o: (o.out / "game" / "sbom.cdx.json").write_text("{}"),
    "provenance removed": lambda m, o: (o.out / "game" / "provenance.intoto.json").unlink(),
    "report edited": lambda m, o: (o.out / "game" / "report.html").write_text("<p>hand edit</p>"),
    "built-in model appeared": lambda m, o: _tiny_model_dir(o.cache_dir).mkdir(parents=True),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_of_an_input_or_output_falls_back_to_the_full_build(built, change: str) -> None:
    manifest, options = built
    assert _shortcut(manifest, options) is not None
    CHANGES[change](manifest, options)
    assert _shortcut(manifest, options) is None


@pytest.mark.parametrize(
    "variation",
    [
        {"strip_metadata": True},
        {"gates": "warn"},
        {"sbom_timestamp": "2026-01-01T00:00:00Z"},
        {"out": "elsewhere"},
        {"cache_dir": "other-cache"},
    ],
)
def test_other_options_are_not_answered_by_the_stamp(built, variation: dict) -> None:
    manifest, options = built
    changed = {**{"out": options.out, "cache_dir": options.cache_dir, "strip_metadata": False, "sbom_timestamp": None,
                  "gates": "error"}, **variation}
    if variation.get("out"):
        changed["out"] = manifest.parent / variation["out"]
    if variation.get("cache_dir"):
        changed["cache_dir"] = manifest.parent / variation["cache_dir"]
    assert noop.shortcut(manifest, **changed) is None


def test_environment_that_moves_the_cache_is_part_of_the_key(built, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest, options = built
    monkeypatch.setenv("PIXELGEN_CACHE", str(manifest.parent / "shared"))
    assert _shortcut(manifest, options) is None


def test_a_build_that_writes_removes_the_stamp_first(built) -> None:
    manifest, options = built
    manifest.write_text(manifest.read_text().replace("a slime", "a green slime"))
    seen: list[bool] = []

    def progress(done: int, total: int) -> None:
        seen.append(any((manifest.parent / ".pixelgen" / "noop").iterdir()))

    summary = build(manifest, BuildOptions(**{**options.__dict__, "on_progress": progress}),
                    make_generator=lambda ws: FlatColourGenerator())
    assert summary.built == 1 and seen and not any(seen)
    assert _shortcut(manifest, options) is not None  # stamped again at the end


class FailingGenerator:
    def render(self, jobs):
        raise RuntimeError("out of memory")


def _stamps(folder: Path) -> list[Path]:
    stamps = folder / ".pixelgen" / "noop"
    return sorted(stamps.iterdir()) if stamps.is_dir() else []


def test_selections_failures_and_deploys_are_never_stamped(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    common = {"out": tmp_path / "out", "cache_dir": tmp_path / "cache", "progress": False}
    failed = build(manifest, BuildOptions(**common, keep_going=True), make_generator=lambda ws: FailingGenerator())
    assert failed.failed and _stamps(tmp_path) == []
    build(manifest, BuildOptions(**common, only=frozenset({"hero"})), make_generator=lambda ws: FlatColourGenerator())
    assert _stamps(tmp_path) == []
    build(manifest, BuildOptions(**common, deploy=tmp_path / "game"), make_generator=lambda ws: FlatColourGenerator())
    assert _stamps(tmp_path) == []
    build(manifest, BuildOptions(**common), make_generator=lambda ws: FlatColourGenerator())
    assert len(_stamps(tmp_path)) == 1


def test_cli_no_op_imports_neither_numpy_nor_pillow(built) -> None:
    manifest, options = built
    command = [sys.executable, "-X", "importtime", "-m", "pixelgen", "build", str(manifest), "--out", str(options.out),
               "--cache-dir", str(options.cache_dir), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=True)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pixelgen.core.noop" in imported
    assert not {"numpy", "PIL", "torch", "yaml", "jsonschema", "click", "pixelgen.cli", "pixelgen.commands.build"} & imported
    (summary,) = json.loads(done.stdout) if done.stdout.lstrip().startswith("[") else [json.loads(done.stdout)]
    assert summary["up_to_date"] == 2 and summary["built"] == 0
    # An edited output is seen from the command line too: the full build restores it.
    _edit_output(manifest, options)
    again = subprocess.run(command[:1] + command[3:], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cached"] == 1


FULL_CLI = "import sys; from pixelgen.cli import main; sys.argv[0] = 'pixelgen'; main()"


@pytest.mark.parametrize("extra", [[], ["--json"], ["--check"], ["-q"], ["--check", "--json"]])
def test_the_fast_entry_prints_what_the_full_command_line_prints(built, extra: list[str]) -> None:
    manifest, options = built
    arguments = ["build", str(manifest), "--out", str(options.out), *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PIXELGEN_CACHE": str(options.cache_dir)}  # the cache through the variable
    fast = subprocess.run([sys.executable, "-m", "pixelgen", *arguments], capture_output=True, text=True, env=env)
    full = subprocess.run([sys.executable, "-c", FULL_CLI, *arguments], capture_output=True, text=True, env=env)
    assert fast.returncode == full.returncode == 0, full.stderr
    assert (fast.stderr, full.stderr) == ("", "")

    def without_time(text: str) -> str:
        if "--json" in extra:
            return json.dumps({k: v for k, v in json.loads(text).items() if k != "seconds"})
        return re.sub(r"in \d+\.\d\d s", "in T s", text)

    assert without_time(fast.stdout) == without_time(full.stdout)
    assert fast.stdout or "-q" in extra


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "m.yaml"],
        ["build", "m.yaml", "--only", "hero"],
        ["build", "a.yaml", "b.yaml"],
        ["build", "m.yaml", "--gates", "maybe"],
        ["build", "m.yaml", "--out"],
        ["build", "m.yaml", "--executor", "ray"],
        ["build", "m.yaml", "-v"],
        ["build"],
    ],
)
def test_the_fast_entry_leaves_everything_else_to_the_full_command_line(argv: list[str]) -> None:
    from pixelgen.fastcli import _parse, try_noop

    assert _parse(argv) is None and try_noop(argv) is None


def test_the_fast_entry_reads_options_as_click_does() -> None:
    from pixelgen.fastcli import _parse

    assert _parse(["build", "m.yaml", "--out=o", "--cache-dir", "s3://b/p", "--json", "--gates", "warn"]) == {
        "manifest": "m.yaml", "--out": "o", "--cache-dir": "s3://b/p", "--json": True, "--gates": "warn"}
