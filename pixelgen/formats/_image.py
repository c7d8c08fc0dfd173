"""Input checks shared by the format writers (no silent dtype conversion)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pixelgen.pixelart.checks import check_image


def check_rgba(image: object, *, what: str = "image") -> np.ndarray:
    """Return ``image`` unchanged if it is an H×W×4 uint8 array, else raise."""
    return check_image(image, what=what, channels=(4,))


def check_rgba_list(images: Sequence[np.ndarray], *, what: str = "frames") -> list[np.ndarray]:
    if isinstance(images, np.ndarray):
        raise TypeError(f"{what} must be a sequence of H×W×4 arrays, not one array")
    checked = [check_rgba(image, what=f"{what}[{index}]") for index, image in enumerate(images)]
    if not checked:
        raise ValueError(f"{what} is empty; give at least one image")
    return checked


def check_same_size(images: Sequence[np.ndarray], *, what: str) -> tuple[int, int]:
    """All images share one (height, width); return it."""
    height, width = images[0].shape[:2]
    for index, image in enumerate(images):
        if image.shape[:2] != (height, width):
            raise ValueError(
                f"{what}[{index}] is {image.shape[1]}×{image.shape[0]} but {what}[0] is "
                f"{width}×{height}; all {what} must be the same size"
            )
    return height, width


def check_non_negative_int(value: object, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
