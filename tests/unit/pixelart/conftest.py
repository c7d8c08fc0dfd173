"""Synthetic pixel art for the pixelart tests: every expected value is built here."""

from __future__ import annotations

import numpy as np
import pytest


def make_sprite(
    seed: int, width: int, height: int, colours: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Random cell-level RGB image from a palette of well separated colours.

    Runs of equal cells (not pure per-pixel noise) make it look like art; the
    palette spans black to white so neighbours usually differ strongly.
    """
    rng = np.random.default_rng(seed)
    base = np.array(
        [
            [0, 0, 0],
            [255, 255, 255],
            [220, 40, 40],
            [40, 180, 60],
            [40, 70, 220],
            [240, 200, 40],
            [150, 60, 170],
            [90, 200, 210],
        ],
        dtype=np.uint8,
    )
    palette = base[:colours]
    index = rng.integers(0, colours, size=(height, width))
    # Horizontal runs: copy the left neighbour 30% of the time.
    copy_left = rng.random((height, width)) < 0.3
    for x in range(1, width):
        index[:, x] = np.where(copy_left[:, x], index[:, x - 1], index[:, x])
    return palette[index], palette


def upscale(
    sprite: np.ndarray, *, cell: float, phase: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Nearest upscale where cell k spans [phase + k*cell, phase + (k+1)*cell), rounded.

    The render is exactly the sprite's extent (phase 0) or is cropped by the
    phase on the left/top (phase > 0 shifts the grid right/down, and the
    first ``phase`` pixels repeat the first cell).
    """
    h, w = sprite.shape[:2]
    width = int(np.floor(w * cell + phase[0] + 0.5))
    height = int(np.floor(h * cell + phase[1] + 0.5))
    edges_x = np.floor(phase[0] + cell * np.arange(w + 1) + 0.5).astype(int)
    edges_y = np.floor(phase[1] + cell * np.arange(h + 1) + 0.5).astype(int)
    cols = np.clip(
        np.searchsorted(edges_x, np.arange(width), side="right") - 1, 0, w - 1
    )
    rows = np.clip(
        np.searchsorted(edges_y, np.arange(height), side="right") - 1, 0, h - 1
    )
    return np.ascontiguousarray(sprite[rows[:, None], cols[None, :]])


def irregular_upscale(sprite: np.ndarray, *, seed: int, widths: tuple[int, int] = (4, 14)) -> np.ndarray:
    """Nearest upscale on an irregular grid: every column and row of cells its own width, drawn from ``widths``.

    Like pixel art drawn by a model that keeps no lattice: no period repeats.
    """
    rng = np.random.default_rng(seed)
    h, w = sprite.shape[:2]
    cols = np.repeat(np.arange(w), rng.integers(widths[0], widths[1] + 1, w))
    rows = np.repeat(np.arange(h), rng.integers(widths[0], widths[1] + 1, h))
    return np.ascontiguousarray(sprite[rows[:, None], cols[None, :]])


def degrade(
    image: np.ndarray, *, seed: int, blur: float = 0.6, noise: float = 3.0
) -> np.ndarray:
    """Slight Gaussian blur and noise, like a soft generated render."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    work = image.astype(np.float32)
    channels = image.shape[2]
    work = gaussian_filter(work, sigma=(blur, blur, 0)) if blur > 0 else work
    work[..., :3] += rng.normal(0.0, noise, size=work[..., :3].shape)
    del channels
    return np.clip(np.rint(work), 0, 255).astype(np.uint8)


@pytest.fixture
def sprite_factory():
    return make_sprite


@pytest.fixture
def upscaler():
    return upscale


@pytest.fixture
def degrader():
    return degrade


@pytest.fixture
def irregular_upscaler():
    return irregular_upscale
