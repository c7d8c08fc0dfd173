"""``--shard I/N``: one of N processes renders its share of a build into a shared cache.

For render farms whose engine has no Python API (a Kubernetes Indexed Job, a CI
matrix): each shard renders and post-processes the stale jobs of its assets
into the cache and writes nothing else; a finishing build (``--finish``) then
finds every job in the cache and writes the outputs, the lock and the records
once, byte for byte what one plain build writes.

An asset belongs to shard ``int(key[:16], 16) % N`` of the smallest job key of
its images. Job keys are sha256 content keys, so the split is stable across
machines and Python versions, spreads evenly, and keeps the images of one
asset (which may share a learned palette) in one shard.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Sequence

from pixelgen.errors import InputError

INDEX_VARIABLE = "JOB_COMPLETION_INDEX"  # set by Kubernetes for every pod of an Indexed Job
_SHARD = re.compile(r"^(?:(\d+)/)?(\d+)$")


def parse_shard(text: str, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """``"I/N"`` → ``(I, N)``; ``"N"`` alone takes ``I`` from ``$JOB_COMPLETION_INDEX``."""
    environ = dict(os.environ) if environ is None else environ
    match = _SHARD.match(text.strip())
    if not match:
        raise InputError(f"--shard {text!r}: write I/N (shard I of N, counted from 0), e.g. --shard 0/3, "
                         f"or N alone to take I from ${INDEX_VARIABLE}")
    index_text, count_text = match.groups()
    if index_text is None:
        index_text = environ.get(INDEX_VARIABLE)
        if index_text is None or not index_text.isdigit():
            raise InputError(f"--shard {text}: ${INDEX_VARIABLE} is {'not set' if index_text is None else repr(index_text)}; "
                             "write --shard I/N, or run as a pod of a Kubernetes Indexed Job")
    index, count = int(index_text), int(count_text)
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {index}/{count}: I must be between 0 and N-1, and N at least 1")
    return index, count


def shard_of(keys: Iterable[str], count: int) -> int:
    """The shard of a unit of work made of these job keys."""
    return int(min(keys)[:16], 16) % count


def select(assets: Sequence[tuple[str, Sequence[str]]], shard: tuple[int, int]) -> set[str]:
    """The asset ids (given with their job keys) that belong to ``shard``."""
    index, count = shard
    return {asset_id for asset_id, keys in assets if keys and shard_of(keys, count) == index}
