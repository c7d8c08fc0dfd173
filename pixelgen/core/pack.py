"""Engine-ready files made from an asset's final images (pure: images in, bytes out).

- animated sprites: a packed sheet PNG, an Aseprite json-hash (PixiJS and
  Phaser load it; frame tags carry the clips) and a GIF preview per clip;
- tilesets: an atlas PNG with Tiled TSX and TSJ tilesets (with a corner Wang
  set when the manifest has a ``terrain`` block), a sample TMX map, and a 3×3
  preview and wrap-around seam error per seamless tile;
- UI kits: a sheet PNG, an Aseprite json-hash with 9-slice ``slices`` and
  PixiJS ``borders``, a Godot 4 StyleBoxTexture ``.tres`` per bordered element
  and Unity ``spriteBorder`` values.

Packed files are not cached: when stale they are recomputed from the cached
final images, which takes milliseconds; their sha256 is in the lock like any
output's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from pixelgen.files.hashing import content_key
from pixelgen.formats.png import encode_png
from pixelgen.manifest.model import Asset

PACK_VERSION = 3  # 2: Godot texture paths relative to the .tres; 3: atlas columns without blank cells
GIF_PREVIEW_SCALE = 4


@dataclass
class PackResult:
    files: dict[str, bytes] = field(default_factory=dict)  # name inside OUT/<manifest>/<asset>/ → bytes
    report: dict[str, Any] = field(default_factory=dict)


def pack_key(asset: Asset, post_keys: list[str], manifest_name: str) -> str:
    settings = {
        "clips": [[c.name, list(c.frames), c.duration_ms, c.direction] for c in asset.clips],
        "sheet": [asset.sheet.layout, asset.sheet.columns, asset.sheet.padding, asset.sheet.extrude],
        "terrain": None if asset.terrain is None else [list(asset.terrain.types), asset.terrain.mode, asset.terrain.name],
        "borders": [list(image.border) if image.border else None for image in asset.images],
        "names": [image.name for image in asset.images],
        "seamless": asset.seamless,
    }
    return content_key({"job": "pack", "version": PACK_VERSION, "manifest": manifest_name, "asset": asset.id, "posts": post_keys, "settings": settings})


def pack_outputs(asset: Asset) -> list[str]:
    """The file names ``pack_asset`` will produce for ``asset`` (known before building)."""
    if asset.kind == "sprite":
        if not asset.clips:
            return []
        return [f"{asset.id}.sheet.png", f"{asset.id}.json", *(f"{clip.name}.gif" for clip in asset.clips)]
    if asset.kind == "tileset":
        names = [f"{asset.id}.atlas.png", f"{asset.id}.tsx", f"{asset.id}.tsj", f"{asset.id}.sample.tmx", f"{asset.id}.tileset.tres"]
        if asset.seamless:
            names += [f"{image.name}.tiled3x3.png" for image in asset.images]
        return names
    names = [f"{asset.id}.sheet.png", f"{asset.id}.json", f"{asset.id}.unity.json"]
    return names + [f"{image.name}.tres" for image in asset.images if image.border]


def pack_asset(asset: Asset, images: Mapping[str, np.ndarray], *, manifest_name: str) -> PackResult:
    if asset.kind == "sprite":
        return _pack_animations(asset, images) if asset.clips else PackResult()
    if asset.kind == "tileset":
        return _pack_tileset(asset, images, manifest_name)
    return _pack_ui(asset, images, manifest_name)


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=False) + "\n").encode("utf-8")


def _sheet(asset: Asset, frames: list[np.ndarray]):
    from pixelgen.formats.sheet import pack_frames

    return pack_frames(frames, layout=asset.sheet.layout, columns=asset.sheet.columns, padding=asset.sheet.padding, extrude=asset.sheet.extrude)


def _pack_animations(asset: Asset, images: Mapping[str, np.ndarray]) -> PackResult:
    from pixelgen.formats.aseprite import FrameInfo, FrameTag, aseprite_json_hash
    from pixelgen.formats.gif import animated_gif

    order = [name for clip in asset.clips for name in clip.frames]
    frames = [images[name] for name in order]
    sheet, rects = _sheet(asset, frames)
    durations = {name: clip.duration_ms for clip in asset.clips for name in clip.frames}
    infos = [FrameInfo(rect=rect, duration_ms=durations[name], name=name) for name, rect in zip(order, rects)]
    tags, start = [], 0
    for clip in asset.clips:
        tags.append(FrameTag(name=clip.name, start=start, end=start + len(clip.frames) - 1, direction=clip.direction))
        start += len(clip.frames)
    sheet_name = f"{asset.id}.sheet.png"
    document = aseprite_json_hash(image_name=sheet_name, sheet_size=(sheet.shape[1], sheet.shape[0]), frames=infos, tags=tags)
    result = PackResult({sheet_name: encode_png(sheet), f"{asset.id}.json": _json_bytes(document)})
    for clip in asset.clips:
        clip_frames = [images[name] for name in clip.frames]
        if clip.direction == "reverse":
            clip_frames = clip_frames[::-1]
        elif clip.direction == "pingpong" and len(clip_frames) > 2:
            clip_frames = clip_frames + clip_frames[-2:0:-1]
        result.files[f"{clip.name}.gif"] = animated_gif(_fit_gif_palette(clip_frames), durations_ms=[clip.duration_ms] * len(clip_frames),
                                                        scale=GIF_PREVIEW_SCALE)
    return result


def _fit_gif_palette(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Frames as they are when they use at most 255 opaque colours (GIF's limit), else one shared 255-colour palette.

    Only the GIF preview is reduced (an asset without a palette can use
    thousands of colours); the PNGs and the sheet keep every colour.
    """
    from PIL import Image

    stack = np.stack(frames)
    opaque = stack[..., 3] >= 128
    if len(np.unique(stack[..., :3][opaque].reshape(-1, 3), axis=0)) <= 255:
        return frames
    montage = Image.fromarray(np.concatenate([frame[..., :3] for frame in frames], axis=1))
    reduced = np.asarray(montage.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB"))
    width = frames[0].shape[1]
    return [np.dstack([reduced[:, i * width:(i + 1) * width], frame[..., 3]]) for i, frame in enumerate(frames)]


def atlas_columns(count: int) -> int:
    """Columns of a roughly square atlas that the tiles fill exactly when a divisor allows (no blank cells)."""
    import math

    square = math.ceil(math.sqrt(count))
    return next((columns for columns in range(square, 2 * square + 1) if count % columns == 0), square)


def _pack_tileset(asset: Asset, images: Mapping[str, np.ndarray], manifest_name: str) -> PackResult:
    from pixelgen.formats.autotile import (
        corner_wang_tiles,
        corner_wangset,
        wang_tile_label,
    )
    from pixelgen.formats.godot import godot_tileset_tres
    from pixelgen.formats.tiled import (
        tiled_map_tmx,
        tileset_atlas,
        tileset_tsj,
        tileset_tsx,
    )
    from pixelgen.formats.tiling import tiled_preview
    from pixelgen.quality.scores import seam_metrics

    names = [image.name for image in asset.images]
    tiles = [images[name] for name in names]
    tile_names = list(names)
    wangsets = []
    sample_grid: list[list[int]]
    if asset.terrain is not None:
        terrains = [images[name] for name in asset.terrain.types]
        wang = corner_wang_tiles(terrains, mode=asset.terrain.mode)
        first = len(tiles)
        tiles += [tile.image for tile in wang]
        tile_names += [f"{asset.terrain.name}-{wang_tile_label(tile)}" for tile in wang]
        wangsets.append(corner_wangset(asset.terrain.name, wang, terrain_names=list(asset.terrain.types), first_tile_id=first))
        sample_grid = _terrain_sample(wang, first)
    else:
        sample_grid = [[(x + y) % len(tiles) for x in range(6)] for y in range(4)]
    atlas, columns = tileset_atlas(tiles, columns=atlas_columns(len(tiles)))
    height, width = tiles[0].shape[:2]
    atlas_name = f"{asset.id}.atlas.png"
    # Tiled counts the tiles of an image tileset from the image itself: declare every cell, blank ones included.
    cells = columns * (atlas.shape[0] // height)
    common = dict(
        name=asset.id, image_path=atlas_name, image_size=(atlas.shape[1], atlas.shape[0]), tile_size=(width, height),
        tilecount=cells, columns=columns, wangsets=wangsets, tile_names=tile_names + ["empty"] * (cells - len(tiles)),
    )
    result = PackResult({
        atlas_name: encode_png(atlas),
        f"{asset.id}.tsx": tileset_tsx(**common).encode("utf-8"),
        f"{asset.id}.tsj": _json_bytes(tileset_tsj(**common)),
        f"{asset.id}.sample.tmx": tiled_map_tmx(tileset_source=f"{asset.id}.tsx", tile_size=(width, height), grid=sample_grid).encode("utf-8"),
        f"{asset.id}.tileset.tres": godot_tileset_tres(
            texture_path=atlas_name, tile_size=(width, height), tilecount=len(tiles),
            columns=columns, wangset=wangsets[0] if wangsets else None,
        ).encode("utf-8"),
    })
    if asset.seamless:
        seams = {}
        for name in names:
            result.files[f"{name}.tiled3x3.png"] = encode_png(tiled_preview(images[name], repeat=3))
            seams[name] = seam_metrics(images[name])
        result.report["seam"] = seams
    return result


def _terrain_sample(wang: list, first: int) -> list[list[int]]:
    """A 6×5 map: an island of the second terrain in the base, painted with the transition tiles.

    Terrain is given per tile corner (vertex); an edge is the second terrain when
    both its corners are, and a blob set's corner only when both its edges are.
    """
    by_wangid = {tuple(tile.wangid): first + index for index, tile in enumerate(wang)}
    vertex = [[1 if 2 <= y <= 4 and 2 <= x <= 5 else 0 for x in range(7)] for y in range(6)]
    blob = any(tile.edges is not None for tile in wang)
    grid = []
    for y in range(5):
        row = []
        for x in range(6):
            tl, tr, br, bl = vertex[y][x], vertex[y][x + 1], vertex[y + 1][x + 1], vertex[y + 1][x]
            if blob:
                top, right, bottom, left = tl & tr, tr & br, br & bl, bl & tl
                tr, br, bl, tl = top & right, right & bottom, bottom & left, left & top
                wangid = (top + 1, tr + 1, right + 1, br + 1, bottom + 1, bl + 1, left + 1, tl + 1)
            else:
                wangid = (0, tr + 1, 0, br + 1, 0, bl + 1, 0, tl + 1)
            row.append(by_wangid.get(wangid, first))
        grid.append(row)
    return grid


def _pack_ui(asset: Asset, images: Mapping[str, np.ndarray], manifest_name: str) -> PackResult:
    from pixelgen.formats.aseprite import FrameInfo, aseprite_json_hash, nine_slice
    from pixelgen.formats.ninepatch import (
        Border,
        godot_ninepatch_tres,
        unity_sprite_border,
    )

    names = [image.name for image in asset.images]
    sheet, rects = _sheet(asset, [images[name] for name in names])
    borders = {image.name: Border(*image.border) for image in asset.images if image.border}
    infos = [FrameInfo(rect=rect, name=name, borders=borders.get(name)) for name, rect in zip(names, rects)]
    slices = [nine_slice(name, size=(rect.w, rect.h), border=borders[name], frame=index)
              for index, (name, rect) in enumerate(zip(names, rects)) if name in borders]
    sheet_name = f"{asset.id}.sheet.png"
    document = aseprite_json_hash(image_name=sheet_name, sheet_size=(sheet.shape[1], sheet.shape[0]), frames=infos, slices=slices, frame_keys="name")
    unity = {name: {"rect": {"x": rect.x, "y": sheet.shape[0] - rect.y - rect.h, "width": rect.w, "height": rect.h},
                    **(unity_sprite_border(borders[name]) if name in borders else {})}
             for name, rect in zip(names, rects)}
    result = PackResult({
        sheet_name: encode_png(sheet),
        f"{asset.id}.json": _json_bytes(document),
        f"{asset.id}.unity.json": _json_bytes({"sheet": sheet_name, "pixelsPerUnit": 1, "sprites": unity}),
    })
    for name, rect in zip(names, rects):
        if name in borders:
            # Relative to the .tres beside it, so it resolves wherever the asset folder is deployed.
            result.files[f"{name}.tres"] = godot_ninepatch_tres(texture_path=sheet_name, region=rect, border=borders[name]).encode("utf-8")
    return result
