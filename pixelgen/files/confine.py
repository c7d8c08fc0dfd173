"""Paths given by a remote client (MCP tools, the live preview) stay inside one root folder.

A path is resolved the way the OS would open it (symlinks followed), then must
lie inside the resolved root. A path that only *looks* inside, because a
symlink in it leads out, is refused with its own message.
"""

from __future__ import annotations

import os
from pathlib import Path

from pixelgen.errors import InputError


class OutsideRootError(InputError):
    """A path that resolves outside the folder a server was given."""


def confine(root: Path, value: str | os.PathLike[str], *, what: str = "path") -> Path:
    """``value`` (relative to ``root``, or absolute) as a resolved path inside ``root``; refuse anything else."""
    text = os.fspath(value)
    if "\x00" in text:
        raise OutsideRootError(f"{what} {text!r} contains a NUL byte")
    base = Path(root).resolve()
    lexical = Path(os.path.normpath(base / text))
    resolved = lexical.resolve()
    if resolved == base or resolved.is_relative_to(base):
        return resolved
    if lexical == base or lexical.is_relative_to(base):
        raise OutsideRootError(
            f"{what} {text!r} leads outside the server root {base} through a symlink (to {resolved}); "
            f"use a real path under {base}"
        )
    raise OutsideRootError(f"{what} {text!r} is outside the server root {base}; use a path under {base}")


def relative_to_root(root: Path, path: Path) -> str:
    """``path`` (inside ``root``) as a POSIX path relative to the resolved root."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
