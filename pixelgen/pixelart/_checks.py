"""Argument checks shared by the pixel-art functions: uint8 in, uint8 out, no silent conversion."""

from __future__ import annotations

import numpy as np


def check_image(image: np.ndarray, *, min_side: int = 1) -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must have dtype uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must have shape (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < min_side or image.shape[1] < min_side:
        raise ValueError(f"image must be at least {min_side}x{min_side} pixels, got {image.shape[1]}x{image.shape[0]}")
