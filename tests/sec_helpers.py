"""Helpers of the security suite: a project beside a sentinel folder, and the checks every hostile-input test makes.

Layout of each test's ``tmp_path``::

    project/                 the game repo: manifests/sec.yaml, its lock, assets_out/, the cache
    sentinel/                files outside every pixelgen folder; must never change

The project is built once per session with the tiny model and copied per
test, so most tests run no render at all.
"""

from __future__ import annotations

import hashlib
import os
import stat
import textwrap
from dataclasses import dataclass
from pathlib import Path

from cli_helpers import run_cli, run_subprocess

SEC_MANIFEST = textwrap.dedent(
    """\
    version: 1
    name: sec
    models:
      tiny: {builtin: tiny-sdxl}
    palettes:
      pico: {builtin: pico-8}
    defaults:
      model: tiny
      size: [16, 16]
      render: {width: 64, height: 64, steps: 1, guidance: 2.0}
      palette: pico
      seed: 3
    assets:
      - id: hero
        kind: sprite
        prompt: "a hero"
      - id: walker
        kind: sprite
        prompt: "a walker, frame {frame}"
        animations:
          - {name: walk, frames: 2}
    """
)
MANIFEST = "manifests/sec.yaml"
LOCK = "manifests/sec.lock.json"
OUT = "assets_out/sec"
CACHE = "manifests/.pixelgen/cache"


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder`` (links not followed): type, mode, size, mtime and content digest."""
    state: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root, name)
            info = os.lstat(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else None
            link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
            state[path.relative_to(folder).as_posix()] = (stat.S_IFMT(info.st_mode), info.st_mode, info.st_size, info.st_mtime_ns, digest, link)
    return state


@dataclass
class Sandbox:
    root: Path
    project: Path
    sentinel: Path
    before: dict[str, tuple]

    def run(self, *args: str):
        return run_cli(self.project, *args)

    def run_process(self, *args: str, timeout: float = 120):
        return run_subprocess(self.project, *args, timeout=timeout)

    def sentinel_untouched(self) -> None:
        assert snapshot(self.sentinel) == self.before, "a file outside OUT, the cache and the deploy folder changed"

    @property
    def lock_path(self) -> Path:
        return self.project / LOCK

    @property
    def out(self) -> Path:
        return self.project / OUT

    @property
    def cache(self) -> Path:
        return self.project / CACHE


def make_sentinel(folder: Path) -> None:
    """Files an attacker would like pixelgen to delete or overwrite, including cache-like names."""
    (folder / "sub").mkdir(parents=True)
    (folder / "important.txt").write_text("do not touch\n")
    (folder / "sub" / "data.bin").write_bytes(os.urandom(64))
    (folder / ("ab" * 31)).write_bytes(b"named like a cache object")
    (folder / (("cd" * 32) + ".json")).write_text('{"object": "x"}')
    (folder / ".evil.tmp").write_text("named like a temp file")


def assert_one_error(result, code: int, *needles: str) -> None:
    """Exit ``code``, one ``error:`` message on stderr, no traceback, and every needle in it."""
    assert result.code == code, (result.code, result.err, result.out)
    assert "Traceback" not in result.err + result.out
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.err.count("error: ") == 1, result.err
    before_error = result.err[: result.err.index("error: ")].splitlines()
    # Progress and status lines may come first (the renderer starting, a model loading).
    assert all(line.startswith(("progress:", "warning:", "starting the renderer", "loading model")) for line in before_error), result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)
