"""Deploying into a game folder, and watch mode rebuilding on an edit."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from cli_helpers import build_json, run_cli

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def test_deploy_copies_changed_files_only(project):
    game = project / "game" / "assets"
    summary = build_json(project, "--deploy", str(game))
    assert (game / "hero" / "seed1.png").read_bytes() == (project / "assets_out" / "small" / "hero" / "seed1.png").read_bytes()
    assert (game / "ground" / "ground.tsx").is_file() and (game / "hud" / "button.tres").is_file()
    assert len(summary["deployed"]) > 7
    untouched = game / "hero" / "seed1.png"
    mtime = untouched.stat().st_mtime_ns
    path = project / MANIFEST
    path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
    second = build_json(project, "--deploy", str(game))
    assert untouched.stat().st_mtime_ns == mtime
    assert "ground/grass.png" in second["deployed"] and "hero/seed1.png" not in second["deployed"]
    assert not any(p.name.endswith(".tmp") for p in game.rglob("*"))


def test_manifest_deploy_block(project):
    path = project / MANIFEST
    path.write_text(path.read_text().replace("name: small", "name: small\ndeploy: {dir: ../godot/art}"))
    assert run_cli(project, "build", MANIFEST).code == 0
    assert (project / "godot" / "art" / "hud" / "hud.sheet.png").is_file()


def test_watch_rebuilds_and_redeploys_on_edit(project):
    game = project / "game"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "watch", MANIFEST, "--deploy", str(game), "--max-builds", "2", "--interval", "0.05"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    target = game / "ground" / "grass.png"
    deadline = time.monotonic() + 180
    while not target.exists() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    first = target.read_bytes()
    time.sleep(0.1)
    path = project / MANIFEST
    path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert target.read_bytes() != first
    assert "build 2:" in out and "change → build done" in out and "after rendering finished" in out
