"""Tiled tilesets (TSX XML and TSJ JSON), tileset atlases and a sample TMX map.

Written in the Tiled 1.10 formats: an external tileset references one atlas
image; per-tile ``name`` properties and Wang sets (terrains) are optional.
Atlas geometry follows Tiled's rule: ``margin`` pixels around the atlas,
``spacing`` pixels between tiles, so Tiled derives
``columns = (imagewidth - 2*margin + spacing) // (tilewidth + spacing)``.

Wang ids have 8 entries in Tiled's order: top, top-right, right, bottom-right,
bottom, bottom-left, left, top-left. Corner sets use the corner positions
(indices 1, 3, 5, 7) and leave edges 0; colour ids are 1-based (0 = unset).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from pixelgen.formats._image import (
    check_non_negative_int,
    check_rgba_list,
    check_same_size,
)

TILED_FORMAT_VERSION = "1.10"
DEFAULT_TILED_VERSION = "1.10.2"


@dataclass(frozen=True)
class WangColor:
    """A terrain of a Wang set (its 1-based colour id is its position + 1)."""

    name: str
    color: str = "#ff0000"
    tile: int = -1
    probability: float = 1.0


@dataclass(frozen=True)
class WangSet:
    """A Tiled Wang set: colours and, per tile id, its 8-entry wang id."""

    name: str
    colors: tuple[WangColor, ...]
    tiles: tuple[tuple[int, tuple[int, ...]], ...]
    type: Literal["corner", "edge", "mixed"] = "corner"
    tile: int = -1

    def __post_init__(self) -> None:
        if self.type not in ("corner", "edge", "mixed"):
            raise ValueError(f"WangSet {self.name!r}: type must be corner, edge or mixed, got {self.type!r}")
        if not self.colors:
            raise ValueError(f"WangSet {self.name!r} has no colours")
        for tile_id, wangid in self.tiles:
            if len(wangid) != 8:
                raise ValueError(f"WangSet {self.name!r}: tile {tile_id} wangid must have 8 entries, got {wangid}")
            if any(not 0 <= value <= len(self.colors) for value in wangid):
                raise ValueError(
                    f"WangSet {self.name!r}: tile {tile_id} wangid {wangid} uses a colour outside 0..{len(self.colors)}"
                )
            if self.type == "corner" and any(wangid[i] for i in (0, 2, 4, 6)):
                raise ValueError(f"WangSet {self.name!r}: corner set tile {tile_id} has edge values in {wangid}")


def tileset_atlas(
    tiles: Sequence[np.ndarray], *, columns: int | None = None, margin: int = 0, spacing: int = 0
) -> tuple[np.ndarray, int]:
    """Lay equal-size RGBA tiles out row by row; return the atlas and its column count.

    Tile ``i`` sits at column ``i % columns``, row ``i // columns`` (Tiled's local tile id order).
    """
    images = check_rgba_list(tiles, what="tiles")
    tile_h, tile_w = check_same_size(images, what="tiles")
    margin = check_non_negative_int(margin, name="margin")
    spacing = check_non_negative_int(spacing, name="spacing")
    count = len(images)
    if columns is None:
        columns = math.ceil(math.sqrt(count))
    elif isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}")
    rows = math.ceil(count / columns)
    atlas = np.zeros(
        (2 * margin + rows * tile_h + (rows - 1) * spacing, 2 * margin + columns * tile_w + (columns - 1) * spacing, 4),
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        x = margin + (index % columns) * (tile_w + spacing)
        y = margin + (index // columns) * (tile_h + spacing)
        atlas[y : y + tile_h, x : x + tile_w] = image
    return atlas, columns


def _check_geometry(
    image_size: tuple[int, int], tile_size: tuple[int, int], tilecount: int, columns: int, margin: int, spacing: int
) -> None:
    image_w, image_h = image_size
    tile_w, tile_h = tile_size
    if tile_w <= 0 or tile_h <= 0:
        raise ValueError(f"tile_size must be positive, got {tile_size}")
    if columns < 1 or tilecount < 1:
        raise ValueError(f"columns and tilecount must be positive, got columns={columns}, tilecount={tilecount}")
    derived = (image_w - 2 * margin + spacing) // (tile_w + spacing)
    if derived != columns:
        raise ValueError(
            f"an image {image_w} px wide holds {derived} columns of {tile_w}-px tiles "
            f"(margin {margin}, spacing {spacing}), not {columns}; Tiled would slice it differently"
        )
    rows = (image_h - 2 * margin + spacing) // (tile_h + spacing)
    if tilecount > rows * columns:
        raise ValueError(f"tilecount {tilecount} exceeds the {columns}×{rows} tiles the image holds")


def tileset_tsx(
    *,
    name: str,
    image_path: str,
    image_size: tuple[int, int],
    tile_size: tuple[int, int],
    tilecount: int,
    columns: int,
    margin: int = 0,
    spacing: int = 0,
    wangsets: Sequence[WangSet] = (),
    tile_names: Sequence[str] | None = None,
    tiled_version: str = DEFAULT_TILED_VERSION,
) -> str:
    """An external Tiled tileset in XML (``.tsx``). ``image_path`` is relative to the .tsx file."""
    _check_geometry(image_size, tile_size, tilecount, columns, margin, spacing)
    _check_tile_names(tile_names, tilecount)
    root = ET.Element(
        "tileset",
        {
            "version": TILED_FORMAT_VERSION,
            "tiledversion": tiled_version,
            "name": name,
            "tilewidth": str(tile_size[0]),
            "tileheight": str(tile_size[1]),
            "spacing": str(spacing),
            "margin": str(margin),
            "tilecount": str(tilecount),
            "columns": str(columns),
        },
    )
    ET.SubElement(root, "image", {"source": image_path, "width": str(image_size[0]), "height": str(image_size[1])})
    for tile_id, tile_name in enumerate(tile_names or ()):
        tile = ET.SubElement(root, "tile", {"id": str(tile_id)})
        properties = ET.SubElement(tile, "properties")
        ET.SubElement(properties, "property", {"name": "name", "value": tile_name})
    if wangsets:
        wangsets_el = ET.SubElement(root, "wangsets")
        for wangset in wangsets:
            _check_wang_tiles(wangset, tilecount)
            set_el = ET.SubElement(
                wangsets_el, "wangset", {"name": wangset.name, "type": wangset.type, "tile": str(wangset.tile)}
            )
            for color in wangset.colors:
                ET.SubElement(
                    set_el,
                    "wangcolor",
                    {
                        "name": color.name,
                        "color": color.color,
                        "tile": str(color.tile),
                        "probability": _number(color.probability),
                    },
                )
            for tile_id, wangid in wangset.tiles:
                ET.SubElement(set_el, "wangtile", {"tileid": str(tile_id), "wangid": ",".join(map(str, wangid))})
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def tileset_tsj(
    *,
    name: str,
    image_path: str,
    image_size: tuple[int, int],
    tile_size: tuple[int, int],
    tilecount: int,
    columns: int,
    margin: int = 0,
    spacing: int = 0,
    wangsets: Sequence[WangSet] = (),
    tile_names: Sequence[str] | None = None,
    tiled_version: str = DEFAULT_TILED_VERSION,
) -> dict[str, Any]:
    """The same tileset in Tiled's JSON format (``.tsj``), as a ``dict``."""
    _check_geometry(image_size, tile_size, tilecount, columns, margin, spacing)
    _check_tile_names(tile_names, tilecount)
    document: dict[str, Any] = {
        "type": "tileset",
        "version": TILED_FORMAT_VERSION,
        "tiledversion": tiled_version,
        "name": name,
        "tilewidth": tile_size[0],
        "tileheight": tile_size[1],
        "tilecount": tilecount,
        "columns": columns,
        "margin": margin,
        "spacing": spacing,
        "image": image_path,
        "imagewidth": image_size[0],
        "imageheight": image_size[1],
    }
    if tile_names:
        document["tiles"] = [
            {"id": tile_id, "properties": [{"name": "name", "type": "string", "value": tile_name}]}
            for tile_id, tile_name in enumerate(tile_names)
        ]
    document["wangsets"] = []
    for wangset in wangsets:
        _check_wang_tiles(wangset, tilecount)
        document["wangsets"].append(
            {
                "name": wangset.name,
                "type": wangset.type,
                "tile": wangset.tile,
                "colors": [
                    {"name": c.name, "color": c.color, "tile": c.tile, "probability": c.probability}
                    for c in wangset.colors
                ],
                "wangtiles": [{"tileid": tile_id, "wangid": list(wangid)} for tile_id, wangid in wangset.tiles],
            }
        )
    return document


def tiled_map_tmx(
    *,
    tileset_source: str,
    tile_size: tuple[int, int],
    grid: Sequence[Sequence[int]],
    tiled_version: str = DEFAULT_TILED_VERSION,
    layer_name: str = "Tiles",
) -> str:
    """A small orthogonal TMX map (one CSV tile layer) using an external tileset.

    ``grid[row][col]`` is a 0-based local tile id of the tileset, or -1 for empty.
    """
    rows = [list(row) for row in grid]
    if not rows or not rows[0]:
        raise ValueError("grid is empty; give at least one row with one cell")
    width = len(rows[0])
    for row_index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"grid row {row_index} has {len(row)} cells, row 0 has {width}; rows must be equal")
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < -1:
                raise ValueError(f"grid row {row_index}: {value!r} is not a tile id (>= 0) or -1 for empty")
    first_gid = 1
    root = ET.Element(
        "map",
        {
            "version": TILED_FORMAT_VERSION,
            "tiledversion": tiled_version,
            "orientation": "orthogonal",
            "renderorder": "right-down",
            "width": str(width),
            "height": str(len(rows)),
            "tilewidth": str(tile_size[0]),
            "tileheight": str(tile_size[1]),
            "infinite": "0",
            "nextlayerid": "2",
            "nextobjectid": "1",
        },
    )
    ET.SubElement(root, "tileset", {"firstgid": str(first_gid), "source": tileset_source})
    layer = ET.SubElement(root, "layer", {"id": "1", "name": layer_name, "width": str(width), "height": str(len(rows))})
    data = ET.SubElement(layer, "data", {"encoding": "csv"})
    # Global id 0 means "no tile"; local id n of the first tileset is gid n + firstgid.
    lines = [",".join(str(0 if value < 0 else int(value) + first_gid) for value in row) for row in rows]
    ET.indent(root, space=" ")
    # Set after indent() so the CSV keeps one map row per line.
    data.text = "\n" + ",\n".join(lines) + "\n"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _check_tile_names(tile_names: Sequence[str] | None, tilecount: int) -> None:
    if tile_names is not None and len(tile_names) > tilecount:
        raise ValueError(f"{len(tile_names)} tile names for only {tilecount} tiles")


def _check_wang_tiles(wangset: WangSet, tilecount: int) -> None:
    for tile_id, _ in wangset.tiles:
        if not 0 <= tile_id < tilecount:
            raise ValueError(f"WangSet {wangset.name!r}: tile id {tile_id} is outside 0..{tilecount - 1}")


def _number(value: float) -> str:
    """Write 1.0 as "1" like Tiled does, other values in shortest form."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
