"""The single entry point the build calls: render in, game-ready pixel art out."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_image

from .alpha import (
    add_outline,
    binarize_alpha,
    remove_background,
    remove_specks,
    to_rgba,
)
from .grid import GridResult, declared_grid, detect_grid
from .palette import DITHER_METHODS, quantize
from .reduce import ANCHORS, REDUCE_METHODS, fit_to_size, reduce_cells

__all__ = [
    "PIXELIZE_ALGORITHM_VERSION",
    "GridDetectionError",
    "PixelizeResult",
    "pixelize",
    "validate_options",
]

# Goes into cache keys: bump whenever pixelize's output bytes for the same
# input and options change.
PIXELIZE_ALGORITHM_VERSION = 1

GRID_FAILURE_MODES = ("error", "use_declared")
BACKGROUND_MODES = ("transparent", "keep")


class GridDetectionError(ValueError):
    """The cell grid could not be detected with enough confidence."""

    def __init__(self, message: str, *, confidence: float) -> None:
        super().__init__(message)
        self.confidence = confidence


@dataclass(frozen=True)
class PixelizeResult:
    """``image`` is always RGBA uint8 (alpha is 0 or 255), one pixel per cell.

    ``report`` is JSON-serialisable: cell, offset, confidence, cells (grid
    size before fitting), size, colors, fallback, notes, timings.
    """

    image: np.ndarray
    report: dict[str, Any]


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")


def _check_size(size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        w, h = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if (
        not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (w, h)
        )
        or w < 1
        or h < 1
    ):
        raise ValueError(
            f"size must be two positive ints (width, height), got {size!r}"
        )
    return int(w), int(h)


def validate_options(
    *,
    size: tuple[int, int] | None = None,
    palette: np.ndarray | None = None,
    cell: float | None = None,
    on_grid_failure: str = "use_declared",
    min_confidence: float = 0.5,
    reduce: str = "kcentroid",
    dither: str = "none",
    background: str = "keep",
    background_tolerance: float = 0.08,
    min_speck: int = 0,
    outline: tuple[int, int, int] | None = None,
    anchor: str = "bottom-center",
    wrap: bool = False,
) -> None:
    """Raise ValueError (naming the allowed values) on any bad pixelize option."""
    _check_size(size)
    if palette is not None:
        if (
            not isinstance(palette, np.ndarray)
            or palette.dtype != np.uint8
            or palette.ndim != 2
            or palette.shape[1] != 3
        ):
            raise ValueError("palette must be an (N, 3) uint8 array or None")
        if palette.shape[0] < 1:
            raise ValueError("palette must hold at least one colour")
    if cell is not None and (
        not isinstance(cell, (int, float))
        or isinstance(cell, bool)
        or not math.isfinite(cell)
        or cell < 2
    ):
        raise ValueError(
            f"cell must be a number >= 2 (render pixels per cell) or None, got {cell!r}"
        )
    _choice("on_grid_failure", on_grid_failure, GRID_FAILURE_MODES)
    if not isinstance(min_confidence, (int, float)) or not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    _choice("reduce", reduce, REDUCE_METHODS)
    _choice("dither", dither, DITHER_METHODS)
    _choice("background", background, BACKGROUND_MODES)
    if (
        not isinstance(background_tolerance, (int, float))
        or not 0.0 <= background_tolerance <= 1.0
    ):
        raise ValueError(
            f"background_tolerance must be in [0, 1] (OKLab distance), got {background_tolerance!r}"
        )
    if (
        not isinstance(min_speck, (int, np.integer))
        or isinstance(min_speck, bool)
        or min_speck < 0
    ):
        raise ValueError(f"min_speck must be a non-negative int, got {min_speck!r}")
    if outline is not None and (
        not isinstance(outline, (tuple, list))
        or len(outline) != 3
        or not all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in outline)
    ):
        raise ValueError(
            f"outline must be (r, g, b) with ints 0-255 or None, got {outline!r}"
        )
    _choice("anchor", anchor, ANCHORS)
    if wrap not in (True, False):
        raise ValueError(f"wrap must be true or false, got {wrap!r}")


def _declared_from_cell(image: np.ndarray, cell: float, wrap: bool) -> GridResult:
    """Grid of a user-given cell size: detect only its phase and snap the cuts."""
    return detect_grid(image, min_cell=float(cell), max_cell=float(cell), wrap=wrap)


def pixelize(
    image: np.ndarray,
    *,
    size: tuple[int, int] | None,
    palette: np.ndarray | None,
    cell: float | None = None,
    on_grid_failure: str = "use_declared",
    min_confidence: float = 0.5,
    reduce: str = "kcentroid",
    dither: str = "none",
    background: str = "keep",
    background_tolerance: float = 0.08,
    min_speck: int = 0,
    outline: tuple[int, int, int] | None = None,
    anchor: str = "bottom-center",
    wrap: bool = False,
) -> PixelizeResult:
    """Turn an upscaled, degraded pixel-art render into true pixel art.

    Steps: optional background removal on the render; grid detection (or the
    given ``cell``) on the render as given, since the removal's mask edges
    carry no grid information; reduction to one pixel per cell; fit to ``size``; binary
    alpha; speck removal; palette quantisation (skipped when ``palette`` is
    None); outline. Same input and options give identical bytes.

    When detection confidence is below ``min_confidence`` (and the detected
    grid does not yield exactly ``size`` cells, which counts as confirmation):
    ``on_grid_failure="error"`` raises :class:`GridDetectionError`;
    ``"use_declared"`` cuts the render evenly into ``size`` cells (needs
    ``size`` or ``cell``).
    """
    check_image(image)
    validate_options(
        size=size,
        palette=palette,
        cell=cell,
        on_grid_failure=on_grid_failure,
        min_confidence=min_confidence,
        reduce=reduce,
        dither=dither,
        background=background,
        background_tolerance=background_tolerance,
        min_speck=min_speck,
        outline=outline,
        anchor=anchor,
        wrap=wrap,
    )
    target = _check_size(size)
    height, width = image.shape[:2]
    notes: list[str] = []
    fallback: str | None = None
    clock = time.perf_counter
    start = clock()

    alpha_ms = 0.0
    t0 = clock()
    if background == "transparent":
        work = remove_background(
            image, tolerance=float(background_tolerance), wrap=wrap
        )
    else:
        work = image
    alpha_ms += (clock() - t0) * 1000.0

    t0 = clock()
    if cell is not None:
        if cell > min(width, height):
            raise ValueError(f"cell {cell} is larger than the {width}x{height} render")
        grid = _declared_from_cell(image, float(cell), wrap)
        detected_confidence = grid.confidence
        notes.append(f"cell {cell:g} given: detected phase and cut lines only")
    else:
        grid = detect_grid(image, wrap=wrap)
        detected_confidence = grid.confidence
        agrees = target is not None and grid.cells == target
        if grid.confidence < min_confidence and agrees:
            # Detection and the declared size are independent; their agreement
            # confirms the weak detection better than even cuts would.
            notes.append(
                f"grid confidence {grid.confidence:.2f} < {min_confidence:g} but the detected "
                f"{target[0]}x{target[1]} cells match the declared size: kept the detected cuts"
            )
        elif grid.confidence < min_confidence:
            message = f"confidence {grid.confidence:.2f} < {min_confidence:g}"
            if on_grid_failure == "error":
                raise GridDetectionError(
                    f"could not detect the pixel grid ({message}); "
                    "set cell: N (render pixels per cell) or on_grid_failure: use_declared",
                    confidence=grid.confidence,
                )
            if target is None:
                raise GridDetectionError(
                    f"could not detect the pixel grid ({message}) and no size is declared to fall back on; "
                    "set cell: N (render pixels per cell) or size: [w, h]",
                    confidence=grid.confidence,
                )
            if target[0] > width or target[1] > height:
                raise ValueError(
                    f"size {target[0]}x{target[1]} is larger than the {width}x{height} render"
                )
            grid = declared_grid(width, height, cells_x=target[0], cells_y=target[1])
            fallback = f"use_declared: {message}"
    grid_ms = (clock() - t0) * 1000.0

    t0 = clock()
    reduced = reduce_cells(work, grid, method=reduce)
    cells = (int(reduced.shape[1]), int(reduced.shape[0]))
    reduced = to_rgba(reduced) if reduced.shape[2] == 3 else reduced
    if target is not None:
        reduced, note = fit_to_size(reduced, size=target, anchor=anchor)
        if note:
            notes.append(note)
    reduce_ms = (clock() - t0) * 1000.0

    t0 = clock()
    out = binarize_alpha(reduced)
    if min_speck > 0:
        out = remove_specks(out, min_size=int(min_speck), wrap=wrap)
    alpha_ms += (clock() - t0) * 1000.0

    t0 = clock()
    if palette is not None:
        out = quantize(out, palette, dither=dither)
    palette_ms = (clock() - t0) * 1000.0

    t0 = clock()
    if outline is not None:
        out = add_outline(out, color=tuple(int(v) for v in outline), wrap=wrap)
    alpha_ms += (clock() - t0) * 1000.0

    opaque = out[..., 3] > 0
    colours = out[opaque][:, :3]
    if colours.size:
        keys = (
            (colours[:, 0].astype(np.uint32) << 16)
            | (colours[:, 1].astype(np.uint32) << 8)
            | colours[:, 2]
        )
        colour_count = int(np.unique(keys).size)
    else:
        colour_count = 0
    report = {
        "cell": [round(float(grid.cell[0]), 4), round(float(grid.cell[1]), 4)],
        "offset": [int(grid.offset[0]), int(grid.offset[1])],
        "confidence": round(float(detected_confidence), 4),
        "cells": [cells[0], cells[1]],
        "size": [int(out.shape[1]), int(out.shape[0])],
        "colors": colour_count,
        "fallback": fallback,
        "notes": notes,
        "timings": {
            "total_ms": round((clock() - start) * 1000.0, 3),
            "grid_ms": round(grid_ms, 3),
            "reduce_ms": round(reduce_ms, 3),
            "palette_ms": round(palette_ms, 3),
            "alpha_ms": round(alpha_ms, 3),
        },
    }
    return PixelizeResult(image=np.ascontiguousarray(out), report=report)
