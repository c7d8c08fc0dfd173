"""``pixelgen diff``: what changed in each asset since another version of the lock.

The other version is a git ref of the lock file (default ``HEAD``: what is
committed) or a path to a lock file. For every output whose bytes differ, the
previous image comes from the cache (by its old job key), metric deltas are
computed, and a side-by-side image (previous | current | changed pixels) is
written under ``OUT/<name>/diff/``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixelgen.errors import (
    CorruptStoreError,
    FileSystemError,
    InputError,
    translate_os_errors,
)
from pixelgen.files.fsutil import read_regular_file, regular_file_problem
from pixelgen.quality.changes import DIFF_SCALE, visible_changes
from pixelgen.records.lock import MAX_LOCK_BYTES, Lock, parse_lock


@dataclass(frozen=True)
class OutputDiff:
    path: str
    status: str  # "changed" | "new" | "removed"
    metrics: dict[str, Any]
    image: str | None  # side-by-side PNG, relative to OUT/<name>/


def read_other_lock(lock_path: Path, against: str, manifest_name: str | None = None) -> Lock:
    """The lock at ``against``: a lock file path, or a git ref of ``lock_path``; it must be a lock of ``manifest_name``."""
    candidate = Path(against)
    if candidate.exists():
        problem = regular_file_problem(candidate)
        if problem:
            raise InputError(f"--against {against}: {problem}; pass a lock file or a git ref")
        try:
            text = read_regular_file(candidate, max_bytes=MAX_LOCK_BYTES).decode("utf-8", errors="replace")
        except OSError as exc:
            raise FileSystemError.from_os_error(exc, candidate, "read") from None
    elif against.startswith("-") or any(ord(ch) < 32 for ch in against):
        raise InputError(f"--against {against!r} is neither an existing lock file nor a git ref")
    else:
        folder = lock_path.resolve().parent
        try:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()
            relative = lock_path.resolve().relative_to(Path(top).resolve()).as_posix()
            text = subprocess.run(["git", "show", f"{against}:{relative}"], cwd=top, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError, ValueError):
            raise InputError(
                f"cannot read {lock_path.name} at {against!r}: not a lock file path, and not a git ref where the lock is committed; "
                "pass --against PATH/TO/old.lock.json or a commit that has the lock"
            ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CorruptStoreError(f"the lock at {against!r} is not valid JSON ({exc})\n    fix: pass another lock file or git ref") from None
    if isinstance(data, dict) and manifest_name is not None and data.get("manifest") != manifest_name:
        raise InputError(
            f"the lock at {against!r} belongs to manifest {data.get('manifest')!r}, not {manifest_name!r}; "
            f"compare with a lock of {manifest_name!r} (e.g. a git ref of {lock_path.name})"
        )
    return parse_lock(data, f"the lock at {against!r}")


def side_by_side(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """previous | current | mask of changed pixels (red), each upscaled without smoothing."""
    height = max(previous.shape[0], current.shape[0])
    width = max(previous.shape[1], current.shape[1])

    def fit(image: np.ndarray) -> np.ndarray:
        canvas = np.zeros((height, width, 4), dtype=np.uint8)
        canvas[: image.shape[0], : image.shape[1]] = image if image.shape[2] == 4 else np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        return canvas

    before, after = fit(previous), fit(current)
    changed = visible_changes(before, after)
    mask = np.zeros_like(before)
    mask[..., 3] = 255
    mask[changed] = (255, 0, 64, 255)
    gap = np.zeros((height, 1, 4), dtype=np.uint8)
    row = np.concatenate([before, gap, after, gap, mask], axis=1)
    return np.repeat(np.repeat(row, DIFF_SCALE, axis=0), DIFF_SCALE, axis=1)


@translate_os_errors("write the diff images to")
def diff_outputs(ws: Any, other: Lock) -> list[OutputDiff]:
    from pixelgen.core.overrides import expected_digest
    from pixelgen.files.fsutil import read_bytes_inside, write_bytes_inside
    from pixelgen.formats.png import decode_png, encode_png
    from pixelgen.quality.scores import pixel_metrics, reference_metrics

    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build the manifest first")
    results = []
    for path in sorted(set(ws.lock.outputs) | set(other.outputs)):
        now, before = ws.lock.outputs.get(path), other.outputs.get(path)
        if now is not None and before is not None and expected_digest(now) == expected_digest(before):
            continue
        if now is None:
            results.append(OutputDiff(path, "removed", {}, None))
            continue
        current_bytes = read_bytes_inside(ws.out_dir, ws.out_dir / path)
        current = decode_png(current_bytes) if current_bytes is not None else None
        if before is None or current is None:
            results.append(OutputDiff(path, "new", {}, None))
            continue
        # The file that was in place then: an adopted touch-up, or what its job produced.
        hit = ws.store.get("override", before.override["sha256"]) if before.override else ws.store.get("post", before.post_key)
        if hit is None:
            results.append(OutputDiff(path, "changed", {"note": "previous version not in the cache: no image diff"}, None))
            continue
        previous = decode_png(hit.data)
        metrics = dict(reference_metrics(current, previous))
        old_scores, new_scores = pixel_metrics(previous, palette=None), pixel_metrics(current, palette=None)
        metrics["colors_used"] = [old_scores["colors_used"], new_scores["colors_used"]]
        metrics["changed_pixels"] = int(visible_changes(previous, current).sum()) if previous.shape[:2] == current.shape[:2] else None
        image_path = f"diff/{path}"
        write_bytes_inside(ws.out_dir, ws.out_dir / image_path, encode_png(side_by_side(previous, current)))
        results.append(OutputDiff(path, "changed", metrics, image_path))
    return results
