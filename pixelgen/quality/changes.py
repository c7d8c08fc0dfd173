"""Which pixels of an image changed, as a person would see it; and how large diff images draw a pixel.

Shared by ``pixelgen diff`` and the three-way merge of touch-ups (:mod:`pixelgen.core.overrides`).
"""

from __future__ import annotations

import numpy as np

DIFF_SCALE = 4  # screen pixels per image pixel in side-by-side diff images


def visible_changes(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Pixels that look different: alpha changed, or colour changed where the pixel is not fully transparent.

    A fully transparent pixel's hidden RGB is invisible, so a change there is no change.
    """
    def rgba(image: np.ndarray) -> np.ndarray:
        return image if image.shape[2] == 4 else np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])

    before, after = rgba(previous), rgba(current)
    alpha_changed = before[..., 3] != after[..., 3]
    colour_changed = np.any(before[..., :3] != after[..., :3], axis=2) & (after[..., 3] > 0)
    return alpha_changed | colour_changed
