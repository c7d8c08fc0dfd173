"""The per-user secret that authenticates memos kept in a cache.

A cache may be shared (``PIXELGEN_CACHE`` on a network drive, a CI
artefact), so anything in it may have been written by someone else. The
memos that let pixelgen skip work — "these manifest bytes passed schema
validation", "this file has this sha256" — are therefore MACed with a key
that lives outside every cache, in the user's state folder, and is derived
per cache. A memo without a valid MAC is ignored, never trusted: the work is
simply done again.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pixelgen.files.hashing import derive_key

KEY_FILE = "memo.key"
KEY_BYTES = 32


def state_dir() -> Path:
    explicit = os.environ.get("PIXELGEN_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "pixelgen"


@lru_cache(maxsize=8)
def _user_key(folder: str) -> bytes | None:
    path = Path(folder) / KEY_FILE
    try:
        with open(path, "rb") as handle:
            key = handle.read(KEY_BYTES + 1)
        if len(key) == KEY_BYTES:
            return key
    except FileNotFoundError:
        pass
    except OSError:
        return None
    tmp = Path(folder) / f".{KEY_FILE}.{secrets.token_hex(4)}.tmp"
    key = secrets.token_bytes(KEY_BYTES)
    try:
        Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # first writer wins; a racing process then reads the winner's key
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError:
        return None
    return _read_existing(path)


def _read_existing(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == KEY_BYTES else None


def cache_key(cache_dir: Path) -> bytes | None:
    """The MAC key for memos in ``cache_dir``; None when no user key can be kept (memos are then not used)."""
    user = _user_key(str(state_dir()))
    if user is None:
        return None
    return derive_key(user, f"pixelgen-cache-memo:{os.path.realpath(cache_dir)}")
