"""The one place that hashes: content keys, file and byte digests.

Every digest in pixelgen is sha256, written as lowercase hex. Job keys are the
sha256 of canonical JSON (sorted keys, no whitespace, UTF-8), so the same inputs
give the same key on every machine and Python version.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` so that equal data always gives equal bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(value: Any) -> str:
    """Key of a job or record: sha256 of its canonical JSON."""
    return sha256_bytes(canonical_json(value))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(root: str | Path, *, suffixes: tuple[str, ...] | None = None) -> str:
    """Digest of a directory: relative paths and file digests, in sorted order.

    Used for diffusers model folders, whose identity is every weight and config
    file they hold.
    """
    root = Path(root)
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if suffixes is not None and path.suffix not in suffixes:
            continue
        entries.append([path.relative_to(root).as_posix(), sha256_file(path)])
    return content_key(entries)


class FileDigestCache:
    """Remembers file digests by (size, mtime, inode, ctime), like DVC's state database.

    A 7 GB checkpoint is hashed once; later plans reuse the digest until the
    file changes. ``ctime`` is part of the signature because a same-size edit
    can restore the old mtime (``touch -r``) but cannot restore the ctime.
    The memo is a small JSON file in the cache directory, MACed with the
    cache's key (see :mod:`pixelgen.files.trust`): a memo someone else wrote is
    ignored, and losing it only costs a re-hash. ``memo_path=None`` hashes
    every file (``verify --full``).
    """

    def __init__(self, memo_path: str | Path | None) -> None:
        self.memo_path = Path(memo_path) if memo_path else None
        self._entries: dict[str, list] = {}
        self._dirty = False
        self._key: bytes | None = None
        if self.memo_path is None:
            return
        from pixelgen.files.trust import cache_key

        self._key = cache_key(self.memo_path.parent)
        if self._key is None or not self.memo_path.is_file() or self.memo_path.is_symlink():
            return
        try:
            loaded = json.loads(self.memo_path.read_text("utf-8"))
        except (OSError, ValueError):
            return
        if (isinstance(loaded, dict) and isinstance(loaded.get("entries"), dict)
                and loaded.get("mac") == hmac_sha256(self._key, loaded["entries"])):
            self._entries = loaded["entries"]

    def file(self, path: str | Path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
        entry = self._entries.get(str(path))
        if isinstance(entry, list) and entry[:4] == signature and len(entry) == 5:
            return entry[4]
        digest = sha256_file(path)
        if self._key is not None:
            self._entries[str(path)] = [*signature, digest]
            self._dirty = True
        return digest

    def tree(self, root: str | Path) -> tuple[str, list[tuple[str, str]]]:
        """Digest of a model directory and its files' digests (relative path, sha256)."""
        root = Path(root)
        files = [
            (path.relative_to(root).as_posix(), self.file(path))
            for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        ]
        return content_key(files), files

    def save(self) -> None:
        if self._dirty and self.memo_path and self._key is not None:
            from pixelgen.files.fsutil import write_bytes_inside

            try:
                write_bytes_inside(self.memo_path.parent, self.memo_path,
                                   json.dumps({"entries": self._entries, "mac": hmac_sha256(self._key, self._entries)}, sort_keys=True).encode())
            except OSError:
                return  # the memo only saves time
            self._dirty = False


def sha256_fd(fd: int) -> str:
    """Digest of an open file from its current offset (the caller owns ``fd``)."""
    digest = hashlib.sha256()
    while chunk := os.read(fd, _CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def hmac_sha256(key: bytes, value: Any) -> str:
    """MAC of ``value``'s canonical JSON under ``key``: memos in a shared cache cannot be forged without the key."""
    import hmac

    return hmac.new(key, canonical_json(value), hashlib.sha256).hexdigest()


def derive_key(key: bytes, label: str) -> bytes:
    import hmac

    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()
