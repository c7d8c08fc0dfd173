"""Godot 4 TileSet resource (``.tres``, text format 3) for a tileset atlas.

One ``TileSetAtlasSource`` over the atlas PNG, one tile per atlas cell, and —
when a Wang set is given — a terrain set whose peering bits come from the
Wang ids, so Godot's terrain painting places the transition tiles:

* a corner set (Tiled ``corner``) becomes terrain mode 1, *match corners*;
* a blob set (Tiled ``mixed``) becomes terrain mode 0, *match corners and sides*.

Godot numbers terrains from 0 where Tiled's Wang colours start at 1; a Wang id
entry of 0 ("no colour") becomes an unset peering bit. This text was checked
with a parser of Godot's resource format (godot-parser), not by opening it in
Godot.
"""

from __future__ import annotations

from pixelgen.formats.tiled import WangSet

# Tiled Wang id positions (top, top-right, right, bottom-right, bottom,
# bottom-left, left, top-left) → Godot peering-bit names for square tiles.
_PEERING = ("top_side", "top_right_corner", "right_side", "bottom_right_corner",
            "bottom_side", "bottom_left_corner", "left_side", "top_left_corner")
_MODE = {"corner": 1, "mixed": 0, "edge": 2}


def check_texture_path(texture_path: str) -> None:
    """A texture path Godot resolves: ``res://…``, or relative to the ``.tres`` file (Godot's text loader joins
    a relative ``ext_resource`` path with the folder of the file being loaded, so it holds wherever it is deployed)."""
    relative_ok = not texture_path.startswith("/") and "\\" not in texture_path and ".." not in texture_path.split("/") and "://" not in texture_path
    if not texture_path or '"' in texture_path or "\n" in texture_path or not (texture_path.startswith("res://") or relative_ok):
        raise ValueError(f"texture_path must be a res:// path or a path relative to the .tres file, without quotes or newlines; got {texture_path!r}")


def _color(hex_color: str) -> str:
    value = hex_color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return f"Color({r:.4g}, {g:.4g}, {b:.4g}, 1)"


def godot_tileset_tres(*, texture_path: str, tile_size: tuple[int, int], tilecount: int, columns: int,
                       wangset: WangSet | None = None) -> str:
    """The TileSet resource text; ``texture_path``: the atlas, ``res://…`` or relative to the ``.tres``."""
    check_texture_path(texture_path)
    if tilecount < 1 or columns < 1:
        raise ValueError(f"need at least one tile and one column, got tilecount={tilecount}, columns={columns}")
    width, height = tile_size
    peering: dict[int, tuple[int, ...]] = dict(wangset.tiles) if wangset else {}
    lines = [
        '[gd_resource type="TileSet" load_steps=3 format=3]',
        "",
        f'[ext_resource type="Texture2D" path="{texture_path}" id="1_atlas"]',
        "",
        '[sub_resource type="TileSetAtlasSource" id="TileSetAtlasSource_atlas"]',
        'texture = ExtResource("1_atlas")',
        f"texture_region_size = Vector2i({width}, {height})",
    ]
    for tile_id in range(tilecount):
        coords = f"{tile_id % columns}:{tile_id // columns}/0"
        lines.append(f"{coords} = 0")
        if tile_id in peering:
            wangid = peering[tile_id]
            lines.append(f"{coords}/terrain_set = 0")
            # The tile's own terrain: the one most of its peering bits name.
            set_bits = [colour for colour in wangid if colour]
            lines.append(f"{coords}/terrain = {max(set(set_bits), key=set_bits.count) - 1}")
            for name, colour in zip(_PEERING, wangid):
                if colour:
                    lines.append(f"{coords}/terrains_peering_bit/{name} = {colour - 1}")
    lines += ["", "[resource]", f"tile_size = Vector2i({width}, {height})"]
    if wangset is not None:
        lines.append(f"terrain_set_0/mode = {_MODE[wangset.type]}")
        for index, colour in enumerate(wangset.colors):
            lines.append(f'terrain_set_0/terrain_{index}/name = "{colour.name}"')
            lines.append(f"terrain_set_0/terrain_{index}/color = {_color(colour.color)}")
    lines.append('sources/0 = SubResource("TileSetAtlasSource_atlas")')
    return "\n".join(lines) + "\n"
