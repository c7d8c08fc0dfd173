"""Corner autotiles: build every terrain-transition tile from plain terrain tiles.

Given square terrain tiles of equal size (say grass and dirt), each
transition tile takes, pixel by pixel, either the base terrain's pixel or the
other terrain's pixel at the same position. Which one is decided by a mask:
the bilinear blend of the four corner terrains (1 where a corner is the other
terrain), plus a small smooth noise, thresholded at 0.5. So:

* edges are hard and there is no blending — every output pixel is a pixel of
  an input tile, and the palette stays exactly the inputs' palette;
* the boundary is slightly irregular but deterministic (``seed``);
* tiles match where they meet: along a tile edge the mask depends only on that
  edge's two corners, and the noise field is periodic with the tile size, so
  the neighbouring tile continues the same boundary.

Limits: only the 16-tile *corner* set (``mode="corner16"``); the 47-tile blob
set (mixed corner + edge) is not offered. With more than two terrains the
first is the base and each other terrain gets its own base↔terrain
transitions (``1 + 15·(n-1)`` tiles in one Wang set); transitions between two
non-base terrains are not generated, so Tiled's terrain brush routes them
through the base terrain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from pixelgen.formats._image import check_rgba_list, check_same_size
from pixelgen.formats.tiled import WangColor, WangSet

# Corner positions inside Tiled's 8-entry wang id (top, top-right, right, …, top-left).
_WANGID_CORNER_SLOTS = {"tr": 1, "br": 3, "bl": 5, "tl": 7}
_NOISE_AMPLITUDE = 0.14  # below 0.5, so full-terrain tiles stay pure


@dataclass(frozen=True)
class WangTile:
    """One autotile: its image, corner terrain indices (tr, br, bl, tl) and Tiled wang id."""

    image: np.ndarray
    corners: tuple[int, int, int, int]
    wangid: tuple[int, int, int, int, int, int, int, int]


def corner_wang_tiles(
    terrains: Sequence[np.ndarray], *, mode: Literal["corner16"] = "corner16", seed: int = 0
) -> list[WangTile]:
    """Every corner-transition tile between ``terrains[0]`` and each other terrain.

    Order: for two terrains, tile ``i`` has corners ``tr = bit 0``, ``br = bit 1``,
    ``bl = bit 2``, ``tl = bit 3`` of ``i`` (0 = base, 1 = other terrain), so
    tile 0 is all base and tile 15 all the other terrain. With more terrains the
    all-base tile comes first, then tiles 1..15 of that order for terrain 1,
    then for terrain 2, and so on. Wang colour ids are terrain index + 1.
    """
    if mode != "corner16":
        raise ValueError(f"mode must be 'corner16' (the 47-tile blob set is not available), got {mode!r}")
    images = check_rgba_list(terrains, what="terrains")
    if len(images) < 2:
        raise ValueError(f"give at least two terrain tiles to build transitions, got {len(images)}")
    height, width = check_same_size(images, what="terrains")
    if height != width:
        raise ValueError(f"terrain tiles must be square, got {width}×{height}")

    base = images[0]
    noise = _periodic_noise(width, seed=seed)
    centres = (np.arange(width) + 0.5) / width
    u = centres[None, :]  # 0 at the left edge, 1 at the right
    v = centres[:, None]  # 0 at the top, 1 at the bottom

    tiles = [WangTile(base.copy(), (0, 0, 0, 0), _wangid((0, 0, 0, 0)))]
    for terrain_index in range(1, len(images)):
        other = images[terrain_index]
        for bits in range(1, 16):
            tr, br, bl, tl = (bits >> 0) & 1, (bits >> 1) & 1, (bits >> 2) & 1, (bits >> 3) & 1
            weight = tl * (1 - u) * (1 - v) + tr * u * (1 - v) + bl * (1 - u) * v + br * u * v
            take_other = (weight + noise) > 0.5
            image = np.where(take_other[..., None], other, base)
            corners = tuple(terrain_index if bit else 0 for bit in (tr, br, bl, tl))
            tiles.append(WangTile(image, corners, _wangid(corners)))  # type: ignore[arg-type]
    return tiles


def corner_wangset(
    name: str,
    tiles: Sequence[WangTile],
    *,
    terrain_names: Sequence[str],
    colors: Sequence[str] | None = None,
    first_tile_id: int = 0,
) -> WangSet:
    """A Tiled corner :class:`~pixelgen.formats.tiled.WangSet` for ``tiles`` placed from ``first_tile_id`` on.

    ``terrain_names[i]`` names terrain ``i`` (colour id ``i + 1``); ``colors`` are
    ``#rrggbb`` display colours in Tiled's editor (defaults to a fixed set).
    """
    default_colors = ("#ff0000", "#00ff00", "#0000ff", "#ff7700", "#00e9ff", "#ff00d8", "#ffff00", "#a000ff")
    palette = (
        list(colors)
        if colors is not None
        else [default_colors[i % len(default_colors)] for i in range(len(terrain_names))]
    )
    if len(palette) != len(terrain_names):
        raise ValueError(f"{len(palette)} colours for {len(terrain_names)} terrains; give one per terrain")
    used = max((max(tile.corners) for tile in tiles), default=0)
    if used >= len(terrain_names):
        raise ValueError(f"tiles use terrain {used} but only {len(terrain_names)} terrain names were given")
    return WangSet(
        name=name,
        type="corner",
        colors=tuple(WangColor(name=terrain, color=color) for terrain, color in zip(terrain_names, palette)),
        tiles=tuple((first_tile_id + index, tile.wangid) for index, tile in enumerate(tiles)),
    )


def _wangid(corners: tuple[int, int, int, int]) -> tuple[int, int, int, int, int, int, int, int]:
    wangid = [0] * 8
    for slot, terrain in zip(("tr", "br", "bl", "tl"), corners):
        wangid[_WANGID_CORNER_SLOTS[slot]] = terrain + 1
    return tuple(wangid)  # type: ignore[return-value]


def _periodic_noise(size: int, *, seed: int) -> np.ndarray:
    """Smooth noise with period ``size`` on both axes, max |value| = _NOISE_AMPLITUDE.

    Integer frequencies make it wrap, so the right column of one tile and the
    left column of its neighbour see neighbouring noise values.
    """
    rng = np.random.default_rng(seed)
    coords = np.arange(size) / size
    x = coords[None, :]
    y = coords[:, None]
    field = np.zeros((size, size))
    for freq_x, freq_y in ((1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (1, 2), (3, 2), (2, 3)):
        amplitude = rng.uniform(0.5, 1.0) / (abs(freq_x) + abs(freq_y))
        phase = rng.uniform(0, 2 * np.pi)
        field += amplitude * np.sin(2 * np.pi * (freq_x * x + freq_y * y) + phase)
    peak = np.abs(field).max()
    return field * (_NOISE_AMPLITUDE / peak) if peak > 0 else field
