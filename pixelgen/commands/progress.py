"""Build progress: a rich bar on a terminal, plain lines elsewhere (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


class BuildProgress:
    def __init__(self, *, stream: TextIO | None = None, enabled: bool = True,
                 on_advance: Callable[[int, int], None] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        # Called with (done, total) after every change; it may raise to stop the build
        # between jobs (the MCP server cancels that way).
        self.on_advance = on_advance
        self.total = 0
        self.done = 0
        self.images = 0
        self.started = time.perf_counter()
        self._rich = None
        self._task = None
        self._last_line = 0.0
        if enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                TextColumn("[bold]building"),
                TextColumn("{task.fields[current]}", style="cyan"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )

    def __enter__(self) -> "BuildProgress":
        if self._rich is not None:
            self._rich.start()
            self._task = self._rich.add_task("build", total=self.total, rate="", current="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    def add_total(self, count: int) -> None:
        self.total += count
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, total=self.total)
        if self.on_advance is not None:
            self.on_advance(self.done, self.total)

    def note(self, text: str) -> None:
        """A line of its own (e.g. while a model loads, which can take minutes with no job finishing)."""
        if self._rich is not None:
            self._rich.console.print(text)
        elif self.enabled:
            print(text, file=self.stream, flush=True)

    def advance(self, count: int, *, images: int = 0, label: str = "") -> None:
        """``count`` jobs finished; ``label`` names what was just done (an asset or image)."""
        if not count:
            return
        self.done += count
        if self.on_advance is not None:
            self.on_advance(self.done, self.total)
        self.images += images
        elapsed = time.perf_counter() - self.started
        rate = f"{self.images / elapsed:.2f} img/s" if self.images and elapsed > 0 else ""
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, completed=self.done, rate=rate, current=label)
        elif self.enabled:
            now = time.perf_counter()
            # Plain logs: a line per second at most, and the last one.
            if now - self._last_line >= 1.0 or self.done >= self.total:
                self._last_line = now
                eta = ""
                if 0 < self.done < self.total and elapsed > 0:
                    eta = f", about {_duration((self.total - self.done) * elapsed / self.done)} left"
                shown = f" {label}" if label else ""
                print(f"progress: {self.done}/{self.total} jobs{shown} {rate}{eta}".rstrip(), file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
