"""Dithering in OKLab for :func:`pixelgen.pixelart.palette.quantize`.

Both functions take OKLab pixels and palette and return palette indices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bayer_matrix", "floyd_steinberg_indices", "ordered_indices"]


def bayer_matrix(size: int) -> np.ndarray:
    """The classic recursive Bayer index matrix of ``size`` 2, 4 or 8 (values 0..size²-1)."""
    if size not in (2, 4, 8):
        raise ValueError(f"Bayer matrix size must be 2, 4 or 8, got {size}")
    matrix = np.array([[0, 2], [3, 1]], dtype=np.int64)
    while matrix.shape[0] < size:
        matrix = np.block(
            [[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]]
        )
    return matrix


def _palette_spacing(palette_lab: np.ndarray) -> float:
    """Median distance from each palette colour to its nearest other colour."""
    pal = np.asarray(palette_lab, dtype=np.float64)
    if pal.shape[0] < 2:
        return 0.0
    distance = np.sqrt(((pal[:, None, :] - pal[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(distance, np.inf)
    return float(np.median(distance.min(axis=1)))


def ordered_indices(
    lab: np.ndarray, palette_lab: np.ndarray, *, size: int
) -> np.ndarray:
    """Ordered (Bayer) dither: a tiled threshold in (-0.5, 0.5) scaled by the
    palette spacing is added to lightness before the nearest-colour match.

    Lightness only, because shifting a/b by a fixed direction would tint.
    """
    from .palette import nearest_indices

    height, width = lab.shape[:2]
    matrix = bayer_matrix(size)
    threshold = (matrix + 0.5) / matrix.size - 0.5
    tiled = np.tile(threshold, (height // size + 1, width // size + 1))[:height, :width]
    shifted = np.array(lab, dtype=np.float32, copy=True)
    shifted[..., 0] += (tiled * _palette_spacing(palette_lab)).astype(np.float32)
    return nearest_indices(shifted, palette_lab)


def floyd_steinberg_indices(
    lab: np.ndarray, palette_lab: np.ndarray, *, alpha: np.ndarray | None = None
) -> np.ndarray:
    """Floyd–Steinberg error diffusion (left to right, top to bottom) in OKLab.

    Sequential by nature, so this walks pixels in Python; it is meant for
    cell-level images (a few tens of thousands of pixels).
    """
    height, width = lab.shape[:2]
    pal = np.asarray(palette_lab, dtype=np.float64)
    work = np.array(lab, dtype=np.float64, copy=True)
    visible = np.ones((height, width), dtype=bool) if alpha is None else alpha > 0
    out = np.zeros((height, width), dtype=np.intp)
    for y in range(height):
        row = work[y]
        for x in range(width):
            if not visible[y, x]:
                continue
            colour = row[x]
            diff = pal - colour
            index = int(np.argmin(np.einsum("pc,pc->p", diff, diff)))
            out[y, x] = index
            error = colour - pal[index]
            if x + 1 < width and visible[y, x + 1]:
                row[x + 1] += error * (7 / 16)
            if y + 1 < height:
                below = work[y + 1]
                if x > 0 and visible[y + 1, x - 1]:
                    below[x - 1] += error * (3 / 16)
                if visible[y + 1, x]:
                    below[x] += error * (5 / 16)
                if x + 1 < width and visible[y + 1, x + 1]:
                    below[x + 1] += error * (1 / 16)
    return out
