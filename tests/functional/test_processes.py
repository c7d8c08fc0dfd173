"""Builds as separate processes: killed mid-build, and two at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli

from pixelgen.formats.png import decode_png

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def _more_images(project: Path, count: int = 24) -> None:
    path = project / MANIFEST
    seeds = ", ".join(str(s) for s in range(100, 100 + count))
    path.write_text(path.read_text().replace("variants: [1, 2]", f"variants: [{seeds}]"))


def _spawn(project: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "build", MANIFEST], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _assert_everything_decodes(project: Path) -> None:
    for png in (project / "assets_out").rglob("*.png"):
        decode_png(png.read_bytes())  # raises on a truncated file
    objects = project / "manifests" / ".pixelgen" / "cache" / "objects" / "sha256"
    from pixelgen.files.hashing import sha256_file

    for obj in objects.glob("*/*"):
        if not obj.name.startswith("."):
            assert sha256_file(obj) == obj.parent.name + obj.name


def test_sigkill_mid_build_leaves_nothing_corrupt_and_resume_completes(project):
    # 15 jobs: the kill after 3 renders leaves most of the build to resume.
    _more_images(project, 10)
    renders = project / "manifests" / ".pixelgen" / "cache" / "jobs" / "render"
    process = _spawn(project)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(renders.glob("*/*.json"))) < 3:
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    _assert_everything_decodes(project)
    resumed = run_cli(project, "build", MANIFEST)
    assert resumed.code == 0, resumed.err
    # Renders finished before the kill were reused.
    assert "rendered" in resumed.out
    rendered = int(resumed.out.split(";")[1].split("rendered")[0])
    assert rendered <= 15 - 3
    _assert_everything_decodes(project)
    assert run_cli(project, "build", MANIFEST, "--check").code == 0


def test_two_builds_at_once_do_not_interleave(project):
    _more_images(project, 12)
    first = _spawn(project)
    second = _spawn(project)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    # One of them waited for the other, then found everything built.
    assert "waiting" in err1 + err2
    assert "0 built" in out1 + out2
    _assert_everything_decodes(project)
    assert run_cli(project, "build", MANIFEST, "--check").code == 0
