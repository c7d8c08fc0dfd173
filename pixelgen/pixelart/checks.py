"""The one argument check of every image function: uint8 in, uint8 out, no silent conversion.

The engine, the engine-file formats and the quality scores all take images
as H×W×3 (RGB) or H×W×4 (RGBA) uint8 arrays and refuse anything else with
the same words.
"""

from __future__ import annotations

import numpy as np


def check_image(image: object, *, what: str = "image", channels: tuple[int, ...] = (3, 4), min_side: int = 1) -> np.ndarray:
    """Return ``image`` unchanged if it is an H×W×C uint8 array with C in ``channels``; else raise TypeError/ValueError."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{what} must have dtype uint8, got {image.dtype}; convert it before calling")
    if image.ndim != 3 or image.shape[2] not in channels:
        layouts = " or ".join({3: "H×W×3 RGB", 4: "H×W×4 RGBA"}[c] for c in channels)
        raise ValueError(f"{what} must be an {layouts} array, got shape {image.shape}")
    if image.shape[0] < min_side or image.shape[1] < min_side:
        raise ValueError(f"{what} must be at least {min_side}x{min_side} pixels, got {image.shape[1]}x{image.shape[0]}")
    return image
