"""Content-addressed cache of render results and post-processed assets.

Layout (like git/DVC objects)::

    CACHE/objects/sha256/ab/cdef…          bytes, named by their own sha256
    CACHE/jobs/<level>/ab/<job key>.json  {"object": sha256, "meta": {...}}

``level`` is ``render`` or ``post``, so the two are cached separately. Every
read re-hashes the object: a corrupt object is discarded with a warning and the
job simply runs again. Objects and entries are written atomically, and because
an object's name is its content, concurrent writers cannot disagree.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pixelgen.fsutil import write_bytes_atomic, write_json_atomic
from pixelgen.hashing import sha256_bytes

log = logging.getLogger("pixelgen")
LEVELS = ("render", "post")


@dataclass(frozen=True)
class CacheHit:
    data: bytes
    digest: str
    meta: dict[str, Any]


class Store:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def object_path(self, digest: str) -> Path:
        return self.root / "objects" / "sha256" / digest[:2] / digest[2:]

    def entry_path(self, level: str, key: str) -> Path:
        if level not in LEVELS:
            raise ValueError(f"unknown cache level {level!r}")
        return self.root / "jobs" / level / key[:2] / f"{key}.json"

    def has(self, level: str, key: str) -> bool:
        """Cheap existence check; ``get`` verifies content."""
        entry = self.entry_path(level, key)
        if not entry.is_file():
            return False
        try:
            digest = json.loads(entry.read_text("utf-8"))["object"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return self.object_path(digest).is_file()

    def get(self, level: str, key: str) -> CacheHit | None:
        entry_path = self.entry_path(level, key)
        try:
            entry = json.loads(entry_path.read_text("utf-8"))
            digest = entry["object"]
            meta = entry.get("meta", {})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("cache entry %s is unreadable; discarding it and rebuilding", entry_path)
            _unlink(entry_path)
            return None
        object_path = self.object_path(digest)
        try:
            data = object_path.read_bytes()
        except FileNotFoundError:
            _unlink(entry_path)
            return None
        if sha256_bytes(data) != digest:
            log.warning("cache object %s is corrupt (its sha256 does not match); discarding it and rebuilding", object_path)
            _unlink(object_path)
            _unlink(entry_path)
            return None
        return CacheHit(data=data, digest=digest, meta=meta)

    def put(self, level: str, key: str, data: bytes, meta: dict[str, Any] | None = None) -> str:
        digest = sha256_bytes(data)
        object_path = self.object_path(digest)
        if not object_path.is_file():
            write_bytes_atomic(object_path, data)
        write_json_atomic(self.entry_path(level, key), {"object": digest, "meta": meta or {}})
        return digest

    def gc(self, keep: dict[str, Iterable[str]]) -> tuple[int, int]:
        """Delete job entries not in ``keep`` (level → keys) and objects no kept entry uses.

        Returns (entries removed, bytes freed).
        """
        kept_objects: set[str] = set()
        removed_entries = 0
        for level in LEVELS:
            wanted = set(keep.get(level, ()))
            for entry in (self.root / "jobs" / level).glob("*/*.json"):
                key = entry.stem
                if key in wanted:
                    try:
                        kept_objects.add(json.loads(entry.read_text("utf-8"))["object"])
                        continue
                    except (OSError, ValueError, KeyError, TypeError):
                        pass
                _unlink(entry)
                removed_entries += 1
        freed = 0
        for obj in (self.root / "objects" / "sha256").glob("*/*"):
            digest = obj.parent.name + obj.name
            if digest not in kept_objects and not obj.name.startswith("."):
                freed += obj.stat().st_size
                _unlink(obj)
        for tmp in self.root.rglob(".*.tmp"):
            _unlink(tmp)
        return removed_entries, freed


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
