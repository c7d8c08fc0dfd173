"""Write assets into the output folder and keep it in step with the lock.

Paths come from the plan or from the lock (already checked to be relative
paths inside OUT); every write and deletion goes through the confined
operations of :mod:`pixelgen.files.fsutil`, so a symlinked folder planted in OUT
cannot redirect them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from pixelgen.files.fsutil import file_digest_inside, unlink_inside, write_bytes_inside


def manifest_out_dir(out_root: Path, manifest_name: str) -> Path:
    return out_root / manifest_name


def write_output(out_dir: Path, relative: str, data: bytes, digest: str) -> bool:
    """Write one asset atomically; leave the file untouched if it already has these bytes."""
    target = out_dir / relative
    if file_digest_inside(out_dir, target) == digest:
        return False
    write_bytes_inside(out_dir, target, data)
    return True


def remove_outputs(out_dir: Path, recorded: Mapping[str, str] | Iterable[str]) -> tuple[list[str], list[str]]:
    """Remove outputs the manifest no longer has: only files the lock recorded, with the bytes it recorded.

    ``recorded`` maps each relative path to the sha256 pixelgen wrote there.
    Returns (removed, kept): a file whose bytes differ (edited by someone) or
    that is not a regular file is kept and reported, never deleted.
    """
    removed, kept = [], []
    items = recorded.items() if isinstance(recorded, Mapping) else ((path, None) for path in recorded)
    for relative, digest in items:
        target = out_dir / relative
        if unlink_inside(out_dir, target, expected_sha256=digest, prune_empty=True):
            removed.append(relative)
        elif file_digest_inside(out_dir, target) is not None or target.is_symlink():
            kept.append(relative)
    return removed, kept
