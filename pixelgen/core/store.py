"""Content-addressed cache of render results and post-processed assets.

Layout (like git/DVC objects)::

    CACHE/objects/sha256/ab/cdef…          bytes, named by their own sha256
    CACHE/jobs/<level>/ab/<job key>.json  {"object": sha256, "meta": {...}}

``level`` is ``render`` or ``post``, so the two are cached separately. Every
read re-hashes the object: a corrupt object is discarded with a warning and the
job simply runs again. A malformed entry (not what pixelgen writes) stops the
build with the fix instead: it is never acted on. Objects and entries are written atomically, and because
an object's name is its content, concurrent writers cannot disagree.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pixelgen.errors import CorruptStoreError
from pixelgen.files.fsutil import (
    file_digest_inside,
    read_bytes_inside,
    unlink_inside,
    write_bytes_inside,
    write_json_inside,
)
from pixelgen.files.hashing import sha256_bytes
from pixelgen.files.paths import check_digest, is_digest

log = logging.getLogger("pixelgen")
LEVELS = ("render", "post", "override", "train", "train-checkpoint", "train-validation")  # override: hand-made images, keyed by their own sha256


@dataclass(frozen=True)
class CacheHit:
    data: bytes
    digest: str
    meta: dict[str, Any]


class Store:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def object_path(self, digest: str) -> Path:
        check_digest(digest, "cache object name")
        return self.root / "objects" / "sha256" / digest[:2] / digest[2:]

    def entry_path(self, level: str, key: str) -> Path:
        if level not in LEVELS:
            raise ValueError(f"unknown cache level {level!r}")
        check_digest(key, "job key")
        return self.root / "jobs" / level / key[:2] / f"{key}.json"

    def _record(self, level: str, key: str) -> tuple[str, dict[str, Any]] | None:
        """(object digest, meta) of a job entry; None if absent; ``CorruptStoreError`` if malformed.

        The entry decides which file is read next, so it is checked before
        anything else happens: a hostile entry must never name a file.
        """
        entry_path = self.entry_path(level, key)
        raw = read_bytes_inside(self.root, entry_path)
        if raw is None:
            return None
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self._corrupt(entry_path, "is not valid JSON") from None
        if not isinstance(entry, dict) or not set(entry) <= {"object", "meta"} or "object" not in entry:
            raise self._corrupt(entry_path, "is not a record of `object` and `meta`")
        if not is_digest(entry["object"]):
            raise self._corrupt(entry_path, f"names the object {entry['object']!r}, which is not a sha256 digest")
        meta = entry.get("meta", {})
        if not isinstance(meta, dict):
            raise self._corrupt(entry_path, f"has a `meta` of type {type(meta).__name__}, not a mapping")
        return entry["object"], meta

    def _corrupt(self, path: Path, detail: str) -> CorruptStoreError:
        return CorruptStoreError(
            f"{path}: cache entry {detail}; pixelgen does not act on it\n"
            f"    fix: run `pixelgen gc MANIFEST` (it drops malformed entries) or delete the cache folder {self.root}, then build again"
        )

    def has(self, level: str, key: str) -> bool:
        """Cheap existence check; ``get`` verifies content."""
        try:
            record = self._record(level, key)
        except CorruptStoreError:
            return False
        if record is None:
            return False
        try:
            info = os.stat(self.object_path(record[0]), follow_symlinks=False)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode)

    def meta(self, level: str, key: str) -> dict[str, Any] | None:
        """The ``meta`` of a job entry whose object exists, without reading the object (so without verifying it)."""
        if not self.has(level, key):
            return None
        record = self._record(level, key)
        return None if record is None else record[1]

    def get(self, level: str, key: str) -> CacheHit | None:
        record = self._record(level, key)
        if record is None:
            return None
        digest, meta = record
        object_path = self.object_path(digest)
        data = read_bytes_inside(self.root, object_path)
        if data is None:
            unlink_inside(self.root, self.entry_path(level, key))
            return None
        if sha256_bytes(data) != digest:
            log.warning("cache object %s is corrupt (its sha256 does not match); discarding it and rebuilding", object_path)
            unlink_inside(self.root, object_path)
            unlink_inside(self.root, self.entry_path(level, key))
            return None
        return CacheHit(data=data, digest=digest, meta=meta)

    def put(self, level: str, key: str, data: bytes, meta: dict[str, Any] | None = None) -> str:
        digest = sha256_bytes(data)
        object_path = self.object_path(digest)
        if file_digest_inside(self.root, object_path) != digest:
            write_bytes_inside(self.root, object_path, data)
        write_json_inside(self.root, self.entry_path(level, key), {"object": digest, "meta": meta or {}})
        return digest

    def gc(self, keep: dict[str, Iterable[str]]) -> tuple[int, int]:
        """Delete job entries not in ``keep`` (level → keys) and objects no kept entry uses.

        Only files named the way pixelgen names them are deleted, and the walk
        never enters a symlinked folder: a planted link cannot make gc delete
        anything outside the cache. Returns (entries removed, bytes freed).
        """
        kept_objects: set[str] = set()
        removed_entries = 0
        for level in LEVELS:
            wanted = set(keep.get(level, ()))
            for entry in _own_files(self.root, ("jobs", level), _ENTRY_NAME):
                key = entry.name[: -len(".json")]
                if key in wanted:
                    try:
                        record = self._record(level, key)
                    except CorruptStoreError:
                        record = None
                    if record is not None:
                        kept_objects.add(record[0])
                        continue
                unlink_inside(self.root, entry)
                removed_entries += 1
        freed = 0
        for obj in _own_files(self.root, ("objects", "sha256"), _OBJECT_NAME):
            digest = obj.parent.name + obj.name
            if digest not in kept_objects:
                size = os.stat(obj, follow_symlinks=False).st_size
                if unlink_inside(self.root, obj):
                    freed += size
        for tmp in _own_files(self.root, (), _TEMP_NAME, recursive=True):
            unlink_inside(self.root, tmp)
        return removed_entries, freed


_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.json")
_OBJECT_NAME = re.compile(r"[0-9a-f]{62}")
_TEMP_NAME = re.compile(r"\..+\.tmp")
_SHARD = re.compile(r"[0-9a-f]{2}")


def _own_files(root: Path, under: tuple[str, ...], name: re.Pattern[str], *, recursive: bool = False) -> list[Path]:
    """Regular files pixelgen names ``name`` in the shards below ``root/under``, never crossing a symlink."""
    found: list[Path] = []
    top = root.joinpath(*under)
    if not top.is_dir() or any(root.joinpath(*under[: i + 1]).is_symlink() for i in range(len(under))):
        return found
    if recursive:
        for folder, dirs, files in os.walk(top, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            found.extend(Path(folder, f) for f in files if name.fullmatch(f) and _is_regular(Path(folder, f)))
        return found
    with os.scandir(top) as shards:
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False) or not _SHARD.fullmatch(shard.name):
                continue
            with os.scandir(shard.path) as entries:
                found.extend(Path(e.path) for e in entries if e.is_file(follow_symlinks=False) and name.fullmatch(e.name))
    return found


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:
        return False


CACHE_LOCK_NAME = "cache.lock"


class CacheLock:
    """Builds hold the cache shared, ``gc`` exclusive: gc never deletes what a running build just stored.

    Several builds (of different manifests) may share one cache at once; gc
    waits until none is running, and a build waits while gc runs. Uses
    ``flock`` where the platform has it, else an exclusive file lock for both.
    """

    def __init__(self, root: Path, *, exclusive: bool, wait_seconds: float) -> None:
        self.path = Path(root) / "locks" / CACHE_LOCK_NAME
        self.exclusive = exclusive
        self.wait_seconds = wait_seconds
        self._fd: int | None = None
        self._filelock: Any = None

    def __enter__(self) -> "CacheLock":
        import time

        try:
            import fcntl
        except ImportError:
            from filelock import FileLock, Timeout

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._filelock = FileLock(str(self.path))
            try:
                self._filelock.acquire(timeout=self.wait_seconds)
            except Timeout:
                raise self._busy() from None
            return self
        from pixelgen.files.fsutil import open_dir_inside

        folder_fd = open_dir_inside(self.path.parent.parent, (self.path.parent.name,), create=True)
        try:
            fd = os.open(self.path.name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666, dir_fd=folder_fd)
        finally:
            os.close(folder_fd)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.wait_seconds
        warned = False
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._busy() from None
                if not warned:
                    what = "a build is using" if self.exclusive else "gc is cleaning"
                    log.warning("%s the cache %s; waiting for it to finish", what, self.path.parent.parent)
                    warned = True
                time.sleep(0.05)
        self._fd = fd
        return self

    def _busy(self) -> Exception:
        from pixelgen.errors import EnvironmentProblem

        what = "a build is still using" if self.exclusive else "gc is still cleaning"
        return EnvironmentProblem(f"{what} the cache {self.path.parent.parent} after {self.wait_seconds:.0f} s; run the command again when it has finished")

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
        if self._filelock is not None:
            self._filelock.release()
