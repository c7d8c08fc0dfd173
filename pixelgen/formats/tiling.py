"""How seamless a repeating tile is, and a repeated preview to look at.

``seam_error`` compares the colour jump across the wrap edges (where the tile
meets its own copy) with the typical jump between neighbouring pixels inside
the tile:

* ``seam`` — mean absolute RGB difference (0..255 per channel) between the
  last and first column, and between the last and first row, pooled over all
  pixel pairs of both wrap edges;
* ``interior`` — mean absolute RGB difference between horizontally and
  vertically adjacent pixels inside the tile, pooled over both axes;
* ``ratio`` — ``seam / interior``. A seamless tile is ≈ 1 or below: its wrap
  edges look like any other pair of neighbours. If ``interior`` is 0 (a flat
  tile) the ratio is 0 when ``seam`` is 0 too, else ``inf``.

Alpha is ignored; RGB and RGBA uint8 tiles are accepted.
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


def seam_error(tile: np.ndarray) -> dict[str, float]:
    """``{"seam", "interior", "ratio"}`` for a tile meant to repeat in both directions."""
    rgb = _check_tile(tile)[..., :3].astype(np.int16)
    seam_pairs = np.concatenate([np.abs(rgb[:, -1] - rgb[:, 0]).ravel(), np.abs(rgb[-1, :] - rgb[0, :]).ravel()])
    interior_pairs = np.concatenate([np.abs(np.diff(rgb, axis=1)).ravel(), np.abs(np.diff(rgb, axis=0)).ravel()])
    seam = float(seam_pairs.mean())
    interior = float(interior_pairs.mean())
    if interior == 0.0:
        ratio = 0.0 if seam == 0.0 else float("inf")
    else:
        ratio = seam / interior
    return {"seam": seam, "interior": interior, "ratio": ratio}


def tiled_preview(tile: np.ndarray, *, repeat: int = 3) -> np.ndarray:
    """The tile repeated ``repeat``×``repeat`` times, to show seams to a person."""
    checked = _check_tile(tile)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    return np.tile(checked, (repeat, repeat, 1))
