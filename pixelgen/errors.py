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
