"""Aseprite-compatible sprite-sheet JSON ("json-hash" flavour), readable by PixiJS too.

The document matches what Aseprite's *Export Sprite Sheet* writes with
"JSON Data: Hash": ``frames`` is an object keyed by frame name, each entry has
``frame``/``rotated``/``trimmed``/``spriteSourceSize``/``sourceSize``/``duration``;
``meta`` has ``app``, ``version``, ``image``, ``format``, ``size``, ``scale``,
``frameTags``, ``layers`` and ``slices``. Loaders built for Aseprite output
(Phaser, Godot/Unity/Bevy Aseprite-JSON importers, PixiJS) read it.

Two additions that Aseprite itself does not write but other loaders read, and
Aseprite-JSON loaders ignore:

* per-frame ``borders`` ``{left, top, right, bottom}`` for 9-slice frames —
  PixiJS's ``Spritesheet`` turns it into ``Texture.defaultBorders`` (used by
  ``NineSliceSprite``);
* top-level ``animations`` ``{tag: [frame keys…]}`` — PixiJS reads animations
  from there, not from ``meta.frameTags``; tag directions are expanded
  (``reverse`` backwards, ``pingpong`` forth then back without repeating the
  end frames). Pass ``pixi_animations=False`` to leave it out.

Slice ``bounds``/``center`` are in the frame's own (source) coordinates, as in
Aseprite; ``center`` is the stretchable 9-slice centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from pixelgen.formats.ninepatch import Border
from pixelgen.formats.sheet import Rect

Direction = Literal["forward", "reverse", "pingpong"]
_DIRECTIONS = ("forward", "reverse", "pingpong")


@dataclass(frozen=True)
class FrameInfo:
    """One frame of the sheet.

    ``rect`` is where the (possibly trimmed) pixels are in the sheet.
    ``source_size`` is the untrimmed ``(w, h)`` and ``offset`` the position of
    ``rect``'s pixels inside it; leave both default for untrimmed frames.
    ``borders`` marks a 9-slice frame (written as PixiJS ``borders``).
    """

    rect: Rect
    duration_ms: int = 100
    name: str | None = None
    borders: Border | None = None
    source_size: tuple[int, int] | None = None
    offset: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class FrameTag:
    """An animation: frames ``start``..``end`` inclusive (0-based frame indices)."""

    name: str
    start: int
    end: int
    direction: Direction = "forward"
    color: str = "#000000ff"


@dataclass(frozen=True)
class Slice:
    """An Aseprite slice on one frame; ``center`` makes it a 9-slice."""

    name: str
    bounds: Rect
    center: Rect | None = None
    frame: int = 0
    color: str = "#0000ffff"


def nine_slice(name: str, *, size: tuple[int, int], border: Border, frame: int = 0) -> Slice:
    """An Aseprite 9-slice covering a whole ``(w, h)`` frame, its centre set by ``border``."""
    width, height = size
    return Slice(name=name, bounds=Rect(0, 0, width, height), center=border.center(size), frame=frame)


def aseprite_json_hash(
    *,
    image_name: str,
    sheet_size: tuple[int, int],
    frames: Sequence[FrameInfo],
    tags: Sequence[FrameTag] = (),
    slices: Sequence[Slice] = (),
    frame_keys: Literal["index", "name"] = "index",
    layer_name: str = "Layer 1",
    app: str = "pixelgen",
    app_version: str = "1",
    pixi_animations: bool = True,
) -> dict[str, Any]:
    """Build the json-hash document (a ``dict``; serialise with ``json.dumps``).

    ``frame_keys="index"`` keys frames ``"0"``, ``"1"``, …; ``"name"`` uses each
    :attr:`FrameInfo.name` (required, unique). Frame order is kept (JSON object
    order), which is what Aseprite loaders use for tag indices.
    """
    sheet_w, sheet_h = sheet_size
    if not frames:
        raise ValueError("frames is empty; a sprite sheet needs at least one frame")
    keys = _frame_keys(frames, frame_keys)
    frames_doc: dict[str, Any] = {}
    for index, (key, info) in enumerate(zip(keys, frames)):
        frames_doc[key] = _frame_entry(index, info, sheet_w, sheet_h)

    tags_doc = []
    for tag in tags:
        if tag.direction not in _DIRECTIONS:
            raise ValueError(f"tag {tag.name!r}: direction must be one of {_DIRECTIONS}, got {tag.direction!r}")
        if not 0 <= tag.start <= tag.end < len(frames):
            raise ValueError(f"tag {tag.name!r}: frames {tag.start}..{tag.end} are outside 0..{len(frames) - 1}")
        tags_doc.append(
            {"name": tag.name, "from": tag.start, "to": tag.end, "direction": tag.direction, "color": tag.color}
        )
    if len({tag.name for tag in tags}) != len(tags):
        raise ValueError(f"tag names must be unique, got {[tag.name for tag in tags]}")

    document: dict[str, Any] = {
        "frames": frames_doc,
        "meta": {
            "app": app,
            "version": app_version,
            "image": image_name,
            "format": "RGBA8888",
            "size": {"w": sheet_w, "h": sheet_h},
            "scale": "1",
            "frameTags": tags_doc,
            "layers": [{"name": layer_name, "opacity": 255, "blendMode": "normal"}],
            "slices": [_slice_entry(item, frames) for item in slices],
        },
    }
    if pixi_animations and tags:
        document["animations"] = {tag.name: [keys[i] for i in expand_tag(tag)] for tag in tags}
    return document


def expand_tag(tag: FrameTag) -> list[int]:
    """Frame indices of one loop of ``tag`` in playback order."""
    forward = list(range(tag.start, tag.end + 1))
    if tag.direction == "forward":
        return forward
    if tag.direction == "reverse":
        return forward[::-1]
    # Ping-pong: there and back, not repeating the turning frames (Aseprite's playback).
    return forward + forward[-2:0:-1]


def _frame_keys(frames: Sequence[FrameInfo], mode: str) -> list[str]:
    if mode == "index":
        return [str(index) for index in range(len(frames))]
    if mode != "name":
        raise ValueError(f"frame_keys must be 'index' or 'name', got {mode!r}")
    names = [info.name for info in frames]
    missing = [index for index, name in enumerate(names) if not name]
    if missing:
        raise ValueError(f"frame_keys='name' needs a name on every frame; frames {missing} have none")
    duplicates = sorted({name for name in names if names.count(name) > 1})  # type: ignore[misc]
    if duplicates:
        raise ValueError(f"frame names must be unique, repeated: {duplicates}")
    return names  # type: ignore[return-value]


def _frame_entry(index: int, info: FrameInfo, sheet_w: int, sheet_h: int) -> dict[str, Any]:
    rect = info.rect
    if rect.w <= 0 or rect.h <= 0 or rect.x < 0 or rect.y < 0 or rect.x + rect.w > sheet_w or rect.y + rect.h > sheet_h:
        raise ValueError(f"frame {index}: rect {rect} is not inside the {sheet_w}×{sheet_h} sheet")
    if isinstance(info.duration_ms, bool) or not isinstance(info.duration_ms, int) or info.duration_ms <= 0:
        raise ValueError(f"frame {index}: duration_ms must be a positive integer, got {info.duration_ms!r}")
    source_w, source_h = info.source_size if info.source_size is not None else (rect.w, rect.h)
    offset_x, offset_y = info.offset
    if offset_x < 0 or offset_y < 0 or offset_x + rect.w > source_w or offset_y + rect.h > source_h:
        raise ValueError(
            f"frame {index}: trimmed rect {rect.w}×{rect.h} at offset {info.offset} does not fit "
            f"source size {source_w}×{source_h}"
        )
    entry: dict[str, Any] = {
        "frame": rect.as_dict(),
        "rotated": False,
        "trimmed": (source_w, source_h) != (rect.w, rect.h),
        "spriteSourceSize": {"x": offset_x, "y": offset_y, "w": rect.w, "h": rect.h},
        "sourceSize": {"w": source_w, "h": source_h},
        "duration": info.duration_ms,
    }
    if info.borders is not None:
        # Validates that the 9-slice fits the frame before any engine sees it.
        info.borders.center((source_w, source_h))
        entry["borders"] = {
            "left": info.borders.left,
            "top": info.borders.top,
            "right": info.borders.right,
            "bottom": info.borders.bottom,
        }
    return entry


def _slice_entry(item: Slice, frames: Sequence[FrameInfo]) -> dict[str, Any]:
    if not 0 <= item.frame < len(frames):
        raise ValueError(f"slice {item.name!r}: frame {item.frame} is outside 0..{len(frames) - 1}")
    bounds = item.bounds
    key: dict[str, Any] = {"frame": item.frame, "bounds": bounds.as_dict()}
    if item.center is not None:
        center = item.center
        if (
            center.x < 0
            or center.y < 0
            or center.w <= 0
            or center.h <= 0
            or center.x + center.w > bounds.w
            or center.y + center.h > bounds.h
        ):
            raise ValueError(
                f"slice {item.name!r}: center {center} must lie inside the {bounds.w}×{bounds.h} bounds "
                "(centre coordinates are relative to the slice bounds)"
            )
        key["center"] = center.as_dict()
    return {"name": item.name, "color": item.color, "keys": [key]}
