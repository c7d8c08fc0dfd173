"""Sprite-sheet packing: place frames in one image and say where each one went.

Two layouts:

* ``grid`` — every cell is the size of the largest frame, ``columns`` per row
  (default: a near-square grid). Engines that slice sheets by a fixed cell size
  (Godot's ``hframes``/``vframes``, Unity's grid slicer) need this one, so frames
  sit at the top-left of their cell.
* ``tight`` — a shelf packer: frames sorted by height (tallest first, ties by
  input order), placed left to right on shelves no wider than a near-square
  target. Deterministic: same frames, same sheet.

``padding`` is transparent space between cells. ``extrude`` repeats each frame's
edge pixels outward by that many pixels so that linear filtering or mip-mapping
samples the frame's own edge instead of the neighbour's (texture bleeding);
the returned rectangles exclude the extrusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from pixelgen.formats._image import check_non_negative_int, check_rgba_list


@dataclass(frozen=True)
class Rect:
    """A frame's rectangle inside a sheet, in pixels (x right, y down)."""

    x: int
    y: int
    w: int
    h: int

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}

    def slice_of(self, image: np.ndarray) -> np.ndarray:
        """The part of ``image`` this rectangle covers."""
        return image[self.y : self.y + self.h, self.x : self.x + self.w]


def pack_frames(
    frames: Sequence[np.ndarray],
    *,
    layout: Literal["grid", "tight"] = "grid",
    columns: int | None = None,
    padding: int = 1,
    extrude: int = 0,
) -> tuple[np.ndarray, list[Rect]]:
    """Pack RGBA ``frames`` into one RGBA sheet; return it and each frame's :class:`Rect`.

    ``columns`` applies to the grid layout only (default ``ceil(sqrt(n))``).
    """
    images = check_rgba_list(frames)
    padding = check_non_negative_int(padding, name="padding")
    extrude = check_non_negative_int(extrude, name="extrude")
    if layout == "grid":
        origins, sheet_w, sheet_h = _grid_origins(images, columns=columns, padding=padding, extrude=extrude)
    elif layout == "tight":
        if columns is not None:
            raise ValueError("columns only applies to layout='grid'; drop it or use the grid layout")
        origins, sheet_w, sheet_h = _shelf_origins(images, padding=padding, extrude=extrude)
    else:
        raise ValueError(f"layout must be 'grid' or 'tight', got {layout!r}")

    sheet = np.zeros((sheet_h, sheet_w, 4), dtype=np.uint8)
    rects: list[Rect] = []
    for image, (slot_x, slot_y) in zip(images, origins):
        height, width = image.shape[:2]
        if extrude:
            sheet[slot_y : slot_y + height + 2 * extrude, slot_x : slot_x + width + 2 * extrude] = np.pad(
                image, ((extrude, extrude), (extrude, extrude), (0, 0)), mode="edge"
            )
        else:
            sheet[slot_y : slot_y + height, slot_x : slot_x + width] = image
        rects.append(Rect(slot_x + extrude, slot_y + extrude, width, height))
    return sheet, rects


def _grid_origins(
    images: list[np.ndarray], *, columns: int | None, padding: int, extrude: int
) -> tuple[list[tuple[int, int]], int, int]:
    count = len(images)
    if columns is None:
        columns = math.ceil(math.sqrt(count))
    elif isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    cell_w = max(image.shape[1] for image in images) + 2 * extrude
    cell_h = max(image.shape[0] for image in images) + 2 * extrude
    origins = [
        ((index % columns) * (cell_w + padding), (index // columns) * (cell_h + padding)) for index in range(count)
    ]
    return origins, columns * cell_w + (columns - 1) * padding, rows * cell_h + (rows - 1) * padding


def _shelf_origins(images: list[np.ndarray], *, padding: int, extrude: int) -> tuple[list[tuple[int, int]], int, int]:
    slots = [(image.shape[1] + 2 * extrude, image.shape[0] + 2 * extrude) for image in images]
    area = sum((w + padding) * (h + padding) for w, h in slots)
    # Near-square target keeps both sheet dimensions small (GPU size limits apply per axis).
    target_w = max(max(w for w, _ in slots), math.ceil(math.sqrt(area)))
    order = sorted(range(len(images)), key=lambda index: (-slots[index][1], index))
    origins: list[tuple[int, int]] = [(0, 0)] * len(images)
    cursor_x = shelf_y = shelf_h = sheet_w = 0
    for index in order:
        slot_w, slot_h = slots[index]
        if cursor_x > 0 and cursor_x + slot_w > target_w:
            shelf_y += shelf_h + padding
            cursor_x = shelf_h = 0
        origins[index] = (cursor_x, shelf_y)
        sheet_w = max(sheet_w, cursor_x + slot_w)
        shelf_h = max(shelf_h, slot_h)
        cursor_x += slot_w + padding
    return origins, sheet_w, shelf_y + shelf_h
