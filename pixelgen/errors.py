"""Errors meant for people: what is wrong, where, and how to fix it.

The CLI turns a ``PixelgenError`` into its message on stderr and its exit code,
without a traceback. Bad input exits 2; an environment problem (missing
dependency, no CUDA device) or a failed build exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_FAILURE = 1
EXIT_USAGE = 2


class PixelgenError(Exception):
    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(PixelgenError):
    """Bad user input: a manifest, a palette, a model file."""

    exit_code = EXIT_USAGE


class EnvironmentProblem(PixelgenError):
    """A missing optional dependency or an unavailable device."""

    exit_code = EXIT_FAILURE


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where, what, how to fix."""

    file: str
    where: str  # "line 12" or a JSON pointer, or both
    message: str
    fix: str | None = None

    def render(self) -> str:
        text = f"{self.file}:{self.where}: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class ManifestError(InputError):
    """All problems found in a manifest, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        header = f"{count} problem{'s' if count != 1 else ''} in manifest:"
        super().__init__("\n".join([header, *(p.render() for p in problems)]))


class CorruptStoreError(PixelgenError):
    """A lock file or cache record that is not what pixelgen writes (hand-edited, damaged or hostile).

    Nothing it names is acted on: the build stops before reading, writing or
    deleting anything because of it.
    """

    exit_code = EXIT_FAILURE


class ModelChangedError(PixelgenError):
    """A model's files differ from those recorded for the same model identity."""

    exit_code = EXIT_FAILURE


class FileSystemError(PixelgenError):
    """An operating-system error (permission, disk full, not a regular file) with the path and the fix."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    @classmethod
    def from_os_error(cls, exc: OSError, path: object = None, action: str = "access") -> "FileSystemError":
        import errno

        shown = str(path if path is not None else (exc.filename or "?"))
        reason = exc.strerror or str(exc)
        code = exc.errno
        if code in (errno.EACCES, errno.EPERM):
            fix = f"make {shown} writable (or readable) for this user, or point pixelgen elsewhere (--out, --cache-dir, --deploy)"
        elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            fix = "free some disk space and run the command again; files are written atomically, so nothing was left half-written"
        elif code == errno.EROFS:
            fix = f"{shown} is on a read-only file system: choose a writable folder (--out, --cache-dir, --deploy)"
        elif code == errno.ELOOP:
            fix = "pixelgen does not follow symbolic links inside its folders: replace the link by a real folder or file"
        elif code in (errno.EISDIR, errno.ENOTDIR):
            fix = f"{shown} is a folder where a file is expected (or the reverse): move it out of the way"
        else:
            fix = "check the path and the file system, then run the command again"
        return cls(f"cannot {action} {shown}: {reason}\n    fix: {fix}", shown)


def translate_os_errors(action: str = "access"):
    """Decorator: an ``OSError`` escaping a command becomes a ``FileSystemError`` (no traceback)."""
    import functools

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except OSError as exc:
                raise FileSystemError.from_os_error(exc, exc.filename, action) from None

        return wrapper

    return decorate
