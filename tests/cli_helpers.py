"""Drive the CLI the way a user does: in-process for speed, or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from pixelgen.cli import cli


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(project: Path, *args: str) -> Result:
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return Result(result.exit_code, result.stdout, result.stderr)


def run_subprocess(project: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    completed = subprocess.run(
        [sys.executable, "-m", "pixelgen", *args], cwd=project, capture_output=True, text=True, timeout=timeout, env=env
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def build_json(project: Path, *args: str) -> dict:
    result = run_cli(project, "build", "manifests/small.yaml", "--json", *args)
    assert result.code == 0, result.err + result.out
    return json.loads(result.out)


def outputs(project: Path, name: str = "small") -> dict[str, bytes]:
    """The generated images (not packed sheets or tilesets) on disk, by path."""
    root = project / "assets_out" / name
    lock = json.loads((project / "manifests" / f"{name}.lock.json").read_text())
    return {path: (root / path).read_bytes() for path in sorted(lock["outputs"]) if (root / path).is_file()}


def packed(project: Path, name: str = "small") -> dict[str, bytes]:
    root = project / "assets_out" / name
    lock = json.loads((project / "manifests" / f"{name}.lock.json").read_text())
    return {path: (root / path).read_bytes() for path in sorted(lock["packs"]) if (root / path).is_file()}


def hub_cache_repo(hub: Path, repo: str, files: dict[str, Path], commit: str) -> None:
    """Lay out a Hugging Face hub cache entry by hand: refs/main → commit, blobs by digest, snapshot symlinks."""
    import shutil

    from pixelgen.files.hashing import sha256_file

    root = hub / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    for relative, source in files.items():
        blob = root / "blobs" / sha256_file(source)
        blob.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, blob)
        link = root / "snapshots" / commit / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
