"""Write assets into the output folder and keep it in step with the lock."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pixelgen.fsutil import write_bytes_atomic
from pixelgen.hashing import sha256_file


def manifest_out_dir(out_root: Path, manifest_name: str) -> Path:
    return out_root / manifest_name


def write_output(out_dir: Path, relative: str, data: bytes, digest: str) -> bool:
    """Write one asset atomically; leave the file untouched if it already has these bytes."""
    target = out_dir / relative
    if target.is_file() and sha256_file(target) == digest:
        return False
    write_bytes_atomic(target, data)
    return True


def remove_outputs(out_dir: Path, relatives: Iterable[str]) -> list[str]:
    """Remove outputs the manifest no longer has; only files the lock recorded, never others."""
    removed = []
    for relative in relatives:
        target = out_dir / relative
        try:
            os.unlink(target)
            removed.append(relative)
        except FileNotFoundError:
            continue
        parent = target.parent
        while parent != out_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed
