"""A repeated preview of a seamless tile, to look at it tiling.

How seamless a tile is (the wrap-around seam error) is measured in one place,
:func:`pixelgen.quality.scores.seam_metrics`, which the build reports and the
``max_seam_error`` gate reads.
"""

from __future__ import annotations

import numpy as np

from pixelgen.pixelart.checks import check_image


def tiled_preview(tile: np.ndarray, *, repeat: int = 3) -> np.ndarray:
    """The tile repeated ``repeat``×``repeat`` times, to show seams to a person."""
    checked = check_image(tile, what="tile", min_side=2)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    return np.tile(checked, (repeat, repeat, 1))
