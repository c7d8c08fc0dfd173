"""Render actors on a Ray cluster with GPUs: one pipeline per GPU (``num_gpus=1``), chosen from a config file.

The cluster is a real one whose head node declares a logical GPU
(``ray start --head --num-gpus 1``): Ray schedules on it as on a real one, and
the test reads from Ray's actor table that each render actor required and was
granted one GPU. There is no CUDA device here, so torch in the actor renders
on the CPU, and the build is byte for byte a local build. The repository's
``pixelgen.toml`` selects Ray (no flag), and the manifest trains a LoRA: the
driver trains it, the actors render with the weights the driver sends them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import ray_helpers

pytest.importorskip("ray", reason="pip install 'pixelgen[ray]'")
pytestmark = pytest.mark.slow

HOUSE = """\
version: 1
name: house
models: {tiny: {builtin: tiny-sdxl}}
loras:
  house:
    train: {images: ../refs/house, base: tiny, captions: filename, rank: 4, alpha: 4, steps: 4, lr: 1.0e-3, resolution: 64,
            seed: 7, precision: fp32, validation: {steps: 1, prompts: [a slime]}}
palettes: {pico: {builtin: pico-8}}
defaults: {model: tiny, size: [16, 16], render: {width: 64, height: 64, steps: 2, guidance: 3.0}, palette: pico, seed: 3}
assets:
  - {id: slime, kind: sprite, prompt: "a slime", loras: [{name: house}]}
  - {id: bat, kind: sprite, prompt: "a bat", loras: [{name: house, weight: 0.5}]}
  - {id: coin, kind: sprite, prompt: "a coin"}
"""


def _house_repo(folder: Path, tiny_model_dir: Path) -> Path:
    from pixelgen.core.dataset import house_style_sprites
    from pixelgen.formats.png import encode_png

    (folder / ".git").mkdir(parents=True)  # the repository root: the config file search stops here
    (folder / "manifests").mkdir()
    (folder / "manifests" / "house.yaml").write_text(HOUSE)
    (folder / "refs" / "house").mkdir(parents=True)
    for name, image in house_style_sprites(4):
        (folder / "refs" / "house" / f"{name}.png").write_bytes(encode_png(image))
    shutil.copytree(tiny_model_dir, folder / "manifests" / ".pixelgen" / "cache" / "models" / tiny_model_dir.name)
    return folder / "manifests" / "house.yaml"


def _build(manifest: Path, *extra: str) -> tuple[dict, str]:
    # One thread for both drivers, which train (the same thread count gives the same LoRA bytes; one is faster on a small CPU).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(manifest.parent.parent / "out"),
                           "--json", "-v", *extra], capture_output=True, text=True, timeout=900, env=env, cwd=manifest.parent.parent)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout), done.stderr


def _records(out: Path) -> dict[str, bytes]:
    # The provenance carries the invocation id and times; the report counts how this run got its images.
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in {"provenance.intoto.json", "report.html"}}


def test_render_actors_take_one_gpu_each_and_a_config_selected_farm_build_equals_a_local_one(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    if torch.cuda.is_available():
        pytest.skip("a real CUDA device renders other bytes than the CPU; this test is about a logical GPU")
    local = _house_repo(tmp_path / "local", tiny_model_dir)
    farm = _house_repo(tmp_path / "farm", tiny_model_dir)
    plain, _ = _build(local)
    assert plain["executor"] == {"name": "local", "from": "default"} and plain["trained"] == ["house"]

    with ray_helpers.ray_cluster(tmp_path_factory.mktemp("ray"), head_cpus=2, head_gpus=1) as address:
        config = tmp_path / "farm" / "pixelgen.toml"
        config.write_text(f'# this repository renders on its farm\nexecutor = "ray"\nray-address = "{address}"\n')
        summary, log = _build(farm)
        actors = ray_helpers.actors_of_class(address, "_RenderActor")

    assert summary["executor"] == {"name": "ray", "from": f"{config}: executor"}
    assert f"executor ray (from {config}: executor), Ray cluster {address} (from {config}: ray-address)" in log
    assert summary["trained"] == ["house"] and not summary["failed"] and summary["rendered"] == plain["rendered"] == 3
    # One GPU in the cluster: one render actor, which asked Ray for a GPU (and no CPU) and was granted GPU 0.
    assert len(actors) == 1, actors
    assert actors[0]["required_resources"] == {"GPU": 1.0}
    assert actors[0]["assigned"] == {"GPU": [0]}
    assert "granted GPU 0 but torch sees no CUDA device there" in log and "rendering on cpu" in log
    assert _records(tmp_path / "farm" / "out") == _records(tmp_path / "local" / "out")
    assert farm.with_name("house.lock.json").read_bytes() == local.with_name("house.lock.json").read_bytes()
