"""A cache shared through object storage (fsspec): ``PIXELGEN_CACHE=s3://bucket/prefix``, ``gs://…``, ``file://…``.

Builders on many machines share renders through a bucket; each keeps a local
read-through copy (``.pixelgen/cache`` beside the manifest, or
``PIXELGEN_CACHE_LOCAL``), which also holds what is per machine: locks, the
digest memo, the built-in model. Layout under the URL::

    objects/sha256/ab/cdef…                     bytes, named by their own sha256
    jobs/<level>/ab/<job key>/<object sha256>.json   {"object": sha256, "meta": {...}}

Every remote file is written once and never changed. An object's name is its
content, so two writers of one object write the same bytes. A job's record is
named by the object it points to, so two builders racing on one job key (on a
GPU their bytes may differ) write two records side by side instead of
overwriting each other; every reader takes the record with the smallest name
whose object is intact, so they agree. Every read re-hashes the object; a
record or object that is not what pixelgen writes is skipped with a warning,
never acted on. ``s3fs`` (``pip install 'pixelgen[s3]'``) provides ``s3://``;
endpoint and credentials come from the usual AWS variables (``AWS_ENDPOINT_URL``
for an S3-compatible server) or fsspec's ``FSSPEC_S3_*``. ``gcsfs``
(``pip install 'pixelgen[gcs]'``) provides ``gs://``: Google's default
credentials, or ``STORAGE_EMULATOR_HOST`` for an emulator.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pixelgen.core.store import LEVELS, CacheHit, Store
from pixelgen.errors import EnvironmentProblem
from pixelgen.files.hashing import sha256_bytes
from pixelgen.files.paths import check_digest, is_digest

log = logging.getLogger("pixelgen")
LOCAL_VARIABLE = "PIXELGEN_CACHE_LOCAL"
GC_GRACE_SECONDS = 3600.0  # gc leaves younger remote files alone: another builder may not have locked them yet
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")
_RECORD = re.compile(r"([0-9a-f]{64})\.json")


def is_url(value: object) -> bool:
    return isinstance(value, str) and _URL.match(value) is not None


def cache_location(manifest_path: Path, cache_dir: str | Path | None) -> tuple[Path, str | None]:
    """(local cache folder, shared cache URL or None) from ``--cache-dir`` / ``PIXELGEN_CACHE``."""
    value: str | Path | None = cache_dir if cache_dir else os.environ.get("PIXELGEN_CACHE") or None
    default_local = Path(manifest_path).parent / ".pixelgen" / "cache"
    if is_url(value):
        local = os.environ.get(LOCAL_VARIABLE)
        return (Path(local) if local else default_local), str(value).rstrip("/")
    return (Path(value) if value else default_local), None


def open_store(local: Path, url: str | None) -> Store:
    """The local store, or a :class:`SharedStore` over it when a shared cache URL is given."""
    return Store(local) if url is None else SharedStore(local, RemoteStore(url))


@dataclass(frozen=True)
class RemoteRecord:
    path: str
    digest: str
    meta: dict[str, Any]


class RemoteStore:
    """Write-once objects and job records under an fsspec URL."""

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs

            self.fs, self.base = url_to_fs(url)
        except ImportError as exc:
            extra = {"s3": "s3", "gs": "gcs", "gcs": "gcs"}.get(url.split("://", 1)[0])
            fix = f"pip install 'pixelgen[{extra}]'" if extra else f"install the fsspec file system for {url.split('://', 1)[0]}://"
            raise EnvironmentProblem(f"the shared cache {url} needs {exc.name or 'a file-system package'}\n    fix: {fix}") from None
        self.url = url
        self.base = self.base.rstrip("/")
        self._local_files = type(self.fs).__name__ == "LocalFileSystem"

    def object_path(self, digest: str) -> str:
        check_digest(digest, "cache object name")
        return f"{self.base}/objects/sha256/{digest[:2]}/{digest[2:]}"

    def records_path(self, level: str, key: str) -> str:
        if level not in LEVELS:
            raise ValueError(f"unknown cache level {level!r}")
        check_digest(key, "job key")
        return f"{self.base}/jobs/{level}/{key[:2]}/{key}"

    def records(self, level: str, key: str) -> list[RemoteRecord]:
        """The job's well-formed records, smallest name first."""
        folder = self.records_path(level, key)
        try:
            names = sorted(self.fs.ls(folder, detail=False, refresh=True))
        except FileNotFoundError:
            return []
        found = []
        for path in names:
            match = _RECORD.fullmatch(path.rsplit("/", 1)[-1])
            if match is None:
                continue
            record = self._read_record(path, match.group(1))
            if record is not None:
                found.append(record)
        return found

    def _read_record(self, path: str, digest: str) -> RemoteRecord | None:
        try:
            entry = json.loads(self.fs.cat_file(path).decode("utf-8"))
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, ValueError):
            entry = None
        if (not isinstance(entry, dict) or set(entry) - {"object", "meta"} or entry.get("object") != digest
                or not is_digest(digest) or not isinstance(entry.get("meta", {}), dict)):
            log.warning("shared cache record %s is not what pixelgen writes; ignoring it", path)
            return None
        return RemoteRecord(path, digest, entry.get("meta", {}))

    def fetch(self, level: str, key: str) -> CacheHit | None:
        for record in self.records(level, key):
            try:
                data = self.fs.cat_file(self.object_path(record.digest))
            except FileNotFoundError:
                continue
            if sha256_bytes(data) != record.digest:
                log.warning("shared cache object %s is corrupt (its sha256 does not match); ignoring it", self.object_path(record.digest))
                continue
            return CacheHit(data=data, digest=record.digest, meta=record.meta)
        return None

    def has(self, level: str, key: str) -> bool:
        return any(self.fs.exists(self.object_path(record.digest)) for record in self.records(level, key))

    def store(self, level: str, key: str, data: bytes, digest: str, meta: dict[str, Any]) -> None:
        """Upload the object, then its record; both only if absent (write-once)."""
        object_path = self.object_path(digest)
        if not self.fs.exists(object_path):
            self._write_once(object_path, data)
        record_path = f"{self.records_path(level, key)}/{digest}.json"
        if not self.fs.exists(record_path):
            self._write_once(record_path, json.dumps({"object": digest, "meta": meta}, sort_keys=True).encode("utf-8"))

    def _write_once(self, path: str, data: bytes) -> None:
        if self._local_files:
            # A shared file system: a reader must never see half a file, so temp file + rename.
            from pixelgen.files.fsutil import write_bytes_atomic

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        else:
            self.fs.pipe_file(path, data)  # one PUT: object stores never show a partial object

    def gc(self, keep: dict[str, Iterable[str]], *, grace_seconds: float = GC_GRACE_SECONDS) -> tuple[int, int]:
        """Delete records of unkept keys and objects no kept record names, older than ``grace_seconds``."""
        now = time.time()

        def old_enough(path: str) -> bool:
            try:
                return now - self.fs.modified(path).timestamp() >= grace_seconds
            except (FileNotFoundError, NotImplementedError):
                return False

        kept_objects: set[str] = set()
        removed = 0
        for level in LEVELS:
            wanted = set(keep.get(level, ()))
            for path in self._find(f"{self.base}/jobs/{level}"):
                parts = path.rsplit("/", 2)
                match = _RECORD.fullmatch(parts[-1])
                if match is None or not is_digest(parts[-2]):
                    continue  # not a file pixelgen names: never deleted
                if parts[-2] in wanted:
                    kept_objects.add(match.group(1))
                elif old_enough(path):
                    self.fs.rm_file(path)
                    removed += 1
                else:
                    kept_objects.add(match.group(1))
        freed = 0
        for path in self._find(f"{self.base}/objects/sha256"):
            shard, name = path.rsplit("/", 2)[-2:]
            digest = shard + name
            if is_digest(digest) and digest not in kept_objects and old_enough(path):
                size = self.fs.size(path) or 0
                self.fs.rm_file(path)
                freed += size
        return removed, freed

    def _find(self, folder: str) -> list[str]:
        try:
            self.fs.invalidate_cache()
            return sorted(self.fs.find(folder))
        except FileNotFoundError:
            return []


class SharedStore(Store):
    """The local store first; the shared one behind it, read through and written to on every put."""

    def __init__(self, local: str | Path, remote: RemoteStore) -> None:
        super().__init__(local)
        self.remote = remote

    def get(self, level: str, key: str) -> CacheHit | None:
        hit = super().get(level, key)
        if hit is not None:
            return hit
        hit = self.remote.fetch(level, key)
        if hit is not None:
            super().put(level, key, hit.data, hit.meta)  # read-through: never downloaded twice
        return hit

    def has(self, level: str, key: str) -> bool:
        return super().has(level, key) or self.remote.has(level, key)

    def put(self, level: str, key: str, data: bytes, meta: dict[str, Any] | None = None) -> str:
        digest = super().put(level, key, data, meta)
        self.remote.store(level, key, data, digest, meta or {})
        return digest

    def gc(self, keep: dict[str, Iterable[str]], *, grace_seconds: float = GC_GRACE_SECONDS) -> tuple[int, int]:
        keep = {level: set(keys) for level, keys in keep.items()}
        removed, freed = super().gc(keep)
        remote_removed, remote_freed = self.remote.gc(keep, grace_seconds=grace_seconds)
        return removed + remote_removed, freed + remote_freed
