"""Names and digests that come from files pixelgen does not trust.

A lock file, a cache record or another lock given to ``diff --against`` may
come from a git checkout, a shared cache or a CI artefact. Whoever wrote them
must not be able to steer pixelgen outside its own folders, so every path in
them must be a plain relative POSIX path that stays inside its root, and
every digest must be 64 lowercase hex digits. Pure checks: no file access.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")

# Windows refuses these as file names whatever the extension; a game repo is
# often checked out there.
RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})
MAX_RELATIVE_PATH = 1024


class UnsafeValue(ValueError):
    """A path or digest that pixelgen refuses to act on; the message says why."""


def is_digest(value: object) -> bool:
    return isinstance(value, str) and DIGEST_PATTERN.fullmatch(value) is not None


def check_digest(value: object, what: str) -> str:
    if not is_digest(value):
        raise UnsafeValue(f"{what} is {_shown(value)}, not a sha256 digest (64 lowercase hex digits)")
    return value  # type: ignore[return-value]


def check_relative_path(value: object, what: str) -> str:
    """Return ``value`` if it is a relative POSIX path that stays inside its root, else raise ``UnsafeValue``.

    Refused: non-strings, empty paths, absolute paths, drive letters, back
    slashes, NUL and other control characters, and any ``""``, ``"."`` or
    ``".."`` segment (so normalisation can never leave the root).
    """
    if not isinstance(value, str):
        raise UnsafeValue(f"{what} is {_shown(value)}, not a path")
    problem = None
    if not value:
        problem = "is empty"
    elif len(value) > MAX_RELATIVE_PATH:
        problem = f"is longer than {MAX_RELATIVE_PATH} characters"
    elif any(ord(ch) < 32 or ch == "\x7f" for ch in value):
        problem = "contains a control character"
    elif "\\" in value:
        problem = "contains a back slash"
    elif value.startswith("/") or PurePosixPath(value).is_absolute():
        problem = "is absolute"
    elif re.match(r"[A-Za-z]:", value):
        problem = "starts with a drive letter"
    elif any(part in ("", ".", "..") for part in value.split("/")):
        problem = "has an empty, '.' or '..' segment"
    if problem:
        raise UnsafeValue(f"{what} {_shown(value)} {problem}: only relative paths inside the folder are allowed")
    return value


def portable_name_problem(name: str) -> str | None:
    """Why ``name`` would misbehave as a file name on Windows or macOS, or None."""
    if name.split(".")[0].lower() in RESERVED_NAMES:
        return f"{name!r} is a reserved file name on Windows"
    if name.endswith((".", " ")):
        return f"{name!r} ends with {name[-1]!r}, which Windows drops (so it would collide with {name.rstrip('. ')!r})"
    return None


def portable_key(name: str) -> str:
    """The form two names share when Windows or macOS would treat them as the same file."""
    return name.rstrip(". ").casefold()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
