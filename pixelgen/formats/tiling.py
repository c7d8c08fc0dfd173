"""A repeated preview of a seamless tile, to look at it tiling.

How seamless a tile is (the wrap-around seam error) is measured in one place,
:func:`pixelgen.quality.scores.seam_metrics`, which the build reports and the
``max_seam_error`` gate reads.
"""

from __future__ import annotations

import numpy as np


def _check_tile(tile: object) -> np.ndarray:
    if not isinstance(tile, np.ndarray):
        raise TypeError(f"tile must be a numpy array, got {type(tile).__name__}")
    if tile.dtype != np.uint8:
        raise TypeError(f"tile must have dtype uint8, got {tile.dtype}")
    if tile.ndim != 3 or tile.shape[2] not in (3, 4):
        raise ValueError(f"tile must be H×W×3 or H×W×4, got shape {tile.shape}")
    if tile.shape[0] < 2 or tile.shape[1] < 2:
        raise ValueError(f"tile must be at least 2×2 to have neighbours, got {tile.shape[1]}×{tile.shape[0]}")
    return tile


def tiled_preview(tile: np.ndarray, *, repeat: int = 3) -> np.ndarray:
    """The tile repeated ``repeat``×``repeat`` times, to show seams to a person."""
    checked = _check_tile(tile)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    return np.tile(checked, (repeat, repeat, 1))
