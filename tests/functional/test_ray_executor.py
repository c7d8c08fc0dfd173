"""--executor ray on a real local Ray cluster: a head node and a second node joining it, CPU only.

One cluster for the module (Ray is slow to start). The demo manifest built on
the cluster — with one render worker killed while it works — gives the outputs,
the lock and the SBOM of a single-process build, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray_helpers

pytest.importorskip("ray", reason="pip install 'pixelgen[ray]'")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """``ray start --head`` plus a second node process joining it, CPU only; yields the address."""
    with ray_helpers.ray_cluster(tmp_path_factory.mktemp("ray"), head_cpus=2, second_node_cpus=1) as address:
        yield address


def _checkout(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "manifests", folder / "manifests", ignore=shutil.ignore_patterns("*.lock.json", ".pixelgen"))
    return folder / "manifests" / "demo.yaml"


def _build(manifest: Path, out: Path, *extra: str, watch=None) -> dict:
    command = [sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(out), "--json", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"})
    watcher = threading.Thread(target=watch, daemon=True) if watch else None
    if watcher:
        watcher.start()
    stdout, stderr = process.communicate(timeout=900)
    if watcher:
        watcher.join(timeout=5)
    assert process.returncode == 0, stderr[-4000:]
    return {"summary": json.loads(stdout), "stderr": stderr}


def _render_workers() -> list[int]:
    """Process ids of this machine's Ray render actors (Ray names worker processes ray::<Actor>…)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if command.startswith("ray::_RenderActor"):
                found.append(int(entry.name))
    return found


def _records(out: Path) -> dict[str, bytes]:
    # The provenance carries the invocation id and times; the report counts how this run got its images.
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in {"provenance.intoto.json", "report.html"}}


def test_demo_on_the_cluster_with_a_killed_worker_equals_a_single_process_build(ray_cluster: str, tmp_path: Path) -> None:
    local = _checkout(tmp_path / "local")
    farm = _checkout(tmp_path / "farm")
    plain = _build(local, tmp_path / "local" / "out")["summary"]
    assert plain["rendered"] > 0 and not plain["failed"]

    killed: list[int] = []

    def kill_one_render_worker() -> None:
        # Once a render actor is running (loading its pipeline or rendering), kill its process.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed:
            workers = _render_workers()
            if workers:
                time.sleep(1.0)
                try:
                    os.kill(workers[0], signal.SIGKILL)
                    killed.append(workers[0])
                except ProcessLookupError:
                    continue
            time.sleep(0.2)

    result = _build(farm, tmp_path / "farm" / "out", "--executor", "ray", "--ray-address", ray_cluster, watch=kill_one_render_worker)
    summary = result["summary"]
    assert killed, "no render worker was seen to kill"
    assert "a render worker died" in result["stderr"]
    assert not summary["failed"] and summary["rendered"] == plain["rendered"] and summary["built"] == plain["built"]
    assert _records(tmp_path / "farm" / "out") == _records(tmp_path / "local" / "out")
    assert farm.with_name("demo.lock.json").read_bytes() == local.with_name("demo.lock.json").read_bytes()
    deadline = time.monotonic() + 30
    while _render_workers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _render_workers() == []  # the driver released its actors


def test_without_ray_the_flag_says_what_to_install(tmp_path: Path) -> None:
    manifest = _checkout(tmp_path / "c")
    blocker = tmp_path / "no-ray"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('No module named ray')\n")
    done = subprocess.run([sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(tmp_path / "out"), "--executor", "ray"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(blocker), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1
    assert "pip install 'pixelgen[ray]'" in done.stderr and "Traceback" not in done.stderr


class _SlimeFailsGenerator:
    """Stands in for the diffusion model on the workers; cannot render slimes."""

    def render(self, jobs):
        import numpy as np

        if any("slime" in job.prompt for job in jobs):
            raise RuntimeError("the slime pipeline ran out of memory")
        return [np.full((job.height, job.width, 3), (job.seed * 37) % 251, dtype=np.uint8) for job in jobs]


def test_keep_going_keeps_its_meaning_on_the_cluster(ray_cluster: str, tmp_path: Path) -> None:
    from ray import cloudpickle  # Ray vendors it

    from pixelgen.commands.build import build
    from pixelgen.core.workspace import BuildOptions

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    manifest = tmp_path / "game.yaml"
    manifest.write_text(
        "version: 1\nname: game\nmodels: {tiny: {builtin: tiny-sdxl}}\npalettes: {pico: {builtin: pico-8}}\n"
        "defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico, pixelart: {cell: 8}}\n"
        "assets:\n  - {id: hero, kind: sprite, prompt: a hero, seed: 1}\n  - {id: slime, kind: sprite, prompt: a slime, seed: 2}\n"
        "  - {id: bat, kind: sprite, prompt: a bat, seed: 3}\n")
    options = {"out": tmp_path / "out", "progress": False, "executor": "ray", "ray_address": ray_cluster}
    with pytest.raises(RuntimeError, match="ran out of memory"):
        build(manifest, BuildOptions(**options), make_generator=lambda ws: _SlimeFailsGenerator())
    assert not manifest.with_name("game.lock.json").exists()  # nothing written
    summary = build(manifest, BuildOptions(**options, keep_going=True), make_generator=lambda ws: _SlimeFailsGenerator())
    assert set(summary.failed) == {"slime"} and "ran out of memory" in summary.failed["slime"]
    assert summary.built == 2 and (tmp_path / "out" / "game" / "hero" / "default.png").is_file()

