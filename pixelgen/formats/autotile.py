"""Autotiles: build every terrain-transition tile from plain terrain tiles.

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

Two sets:

* ``mode="corner16"``: the 16-tile *corner* set. With more than two terrains
  the first is the base and each other terrain gets its own base↔terrain
  transitions (``1 + 15·(n-1)`` tiles in one Wang set); transitions between
  two non-base terrains are not generated, so Tiled's terrain brush routes
  them through the base terrain.
* ``mode="blob47"``: the classic 47-tile *blob* set (Tiled "mixed" Wang set),
  two terrains only. Each tile's 4 edges and 4 corners say where the second
  terrain is; a corner only counts when both its edges are set (otherwise it
  is forced to the base), which leaves 47 of the 256 combinations. The mask
  is the same threshold-plus-periodic-noise idea, but interpolated over a
  3×3 lattice (corners, edge midpoints, centre) so a tile edge depends only
  on that edge's corner, midpoint, corner values — which the neighbour shares.
  The centre is the second terrain as soon as any edge is: one set edge is a
  dead-end stub reaching the centre, two opposite edges a straight band, and
  regions of the second terrain end a quarter tile inside their border tiles.
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
# Tiled wangid order, which is also the bit order of the blob mask (top = bit 0, clockwise).
_BLOB_POSITIONS = ("t", "tr", "r", "br", "b", "bl", "l", "tl")
_BLOB_CORNER_EDGES = {"tr": ("t", "r"), "br": ("r", "b"), "bl": ("b", "l"), "tl": ("l", "t")}

AutotileMode = Literal["corner16", "blob47"]


@dataclass(frozen=True)
class WangTile:
    """One autotile: its image, terrain indices and Tiled wang id.

    ``corners`` are the terrain indices at the corners (tr, br, bl, tl).
    ``edges`` are those at the edge midpoints (top, right, bottom, left) for
    blob tiles, ``None`` for corner-set tiles. In a blob tile a corner is the
    second terrain only when both its edges are too (the blob reduction), so
    ``corners`` is what the tile shows there, not the raw diagonal neighbour.
    """

    image: np.ndarray
    corners: tuple[int, int, int, int]
    wangid: tuple[int, int, int, int, int, int, int, int]
    edges: tuple[int, int, int, int] | None = None


def wang_tile_label(tile: WangTile) -> str:
    """A short label, unique within a tile set, for naming the tile.

    Corner tiles: the corner terrains joined by ``-`` (``"0-1-0-0"`` = tr, br, bl, tl).
    Blob tiles: ``"b"`` and the classic blob mask in three digits (``"b000"`` … ``"b255"``),
    the bits being top=1, top-right=2, right=4, …, top-left=128 (Tiled's wangid order).
    """
    if tile.edges is None:
        return "-".join(str(c) for c in tile.corners)
    mask = sum(1 << position for position, color in enumerate(tile.wangid) if color > 1)
    return f"b{mask:03d}"


def corner_wang_tiles(
    terrains: Sequence[np.ndarray], *, mode: AutotileMode = "corner16", seed: int = 0
) -> list[WangTile]:
    """Every transition tile between ``terrains[0]`` and each other terrain.

    ``mode="corner16"`` order: for two terrains, tile ``i`` has corners ``tr = bit 0``, ``br = bit 1``,
    ``bl = bit 2``, ``tl = bit 3`` of ``i`` (0 = base, 1 = other terrain), so
    tile 0 is all base and tile 15 all the other terrain. With more terrains the
    all-base tile comes first, then tiles 1..15 of that order for terrain 1,
    then for terrain 2, and so on. Wang colour ids are terrain index + 1.

    ``mode="blob47"`` (exactly two terrains): the 47 blob tiles in ascending
    blob mask (see :func:`wang_tile_label`), so tile 0 is all base and tile 46
    all the other terrain; every wangid uses all 8 positions.
    """
    if mode not in ("corner16", "blob47"):
        raise ValueError(f"mode must be 'corner16' or 'blob47', got {mode!r}")
    images = check_rgba_list(terrains, what="terrains")
    if len(images) < 2:
        raise ValueError(f"give at least two terrain tiles to build transitions, got {len(images)}")
    if mode == "blob47" and len(images) != 2:
        raise ValueError(
            f"mode 'blob47' takes exactly two terrains, got {len(images)}; "
            "use mode 'corner16' for more, or one blob set per terrain pair"
        )
    height, width = check_same_size(images, what="terrains")
    if height != width:
        raise ValueError(f"terrain tiles must be square, got {width}×{height}")
    if mode == "blob47":
        return _blob_tiles(images[0], images[1], seed=seed)

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
    """A Tiled :class:`~pixelgen.formats.tiled.WangSet` for ``tiles`` placed from ``first_tile_id`` on.

    The set's type follows the tiles: ``"corner"`` for corner16 tiles,
    ``"mixed"`` for blob47 tiles (which carry ``edges``); mixing both raises.
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
    blob_count = sum(tile.edges is not None for tile in tiles)
    if 0 < blob_count < len(tiles):
        raise ValueError(
            f"{blob_count} of {len(tiles)} tiles are blob47 tiles and the rest corner16; put each set in its own Wang set"
        )
    used = max((max(tile.corners + (tile.edges or ())) for tile in tiles), default=0)
    if used >= len(terrain_names):
        raise ValueError(f"tiles use terrain {used} but only {len(terrain_names)} terrain names were given")
    return WangSet(
        name=name,
        type="mixed" if blob_count else "corner",
        colors=tuple(WangColor(name=terrain, color=color) for terrain, color in zip(terrain_names, palette)),
        tiles=tuple((first_tile_id + index, tile.wangid) for index, tile in enumerate(tiles)),
    )


def _blob_tiles(base: np.ndarray, other: np.ndarray, *, seed: int) -> list[WangTile]:
    size = base.shape[0]
    noise = _periodic_noise(size, seed=seed)
    centres = (np.arange(size) + 0.5) / size
    # Tent functions of the lattice lines 0, 0.5, 1: piecewise-linear interpolation weights.
    tents = np.stack(
        [np.clip(1 - 2 * centres, 0, None), 1 - np.abs(2 * centres - 1), np.clip(2 * centres - 1, 0, None)], axis=1
    )
    tiles = []
    for mask in range(256):
        values = {position: (mask >> bit) & 1 for bit, position in enumerate(_BLOB_POSITIONS)}
        # A corner counts only when both its edges do; skipping the others leaves the 47 distinct tiles.
        if any(values[corner] and not (values[a] and values[b]) for corner, (a, b) in _BLOB_CORNER_EDGES.items()):
            continue
        centre = 1 if values["t"] or values["r"] or values["b"] or values["l"] else 0
        lattice = np.array(
            [
                [values["tl"], values["t"], values["tr"]],
                [values["l"], centre, values["r"]],
                [values["bl"], values["b"], values["br"]],
            ],
            dtype=float,
        )
        weight = tents @ lattice @ tents.T  # rows = y, columns = x
        take_other = (weight + noise) > 0.5
        image = np.where(take_other[..., None], other, base)
        corners = (values["tr"], values["br"], values["bl"], values["tl"])
        edges = (values["t"], values["r"], values["b"], values["l"])
        wangid = tuple(values[position] + 1 for position in _BLOB_POSITIONS)
        tiles.append(WangTile(image, corners, wangid, edges))  # type: ignore[arg-type]
    return tiles


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
