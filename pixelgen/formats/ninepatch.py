"""UI 9-slice (nine-patch) descriptions for engines.

A :class:`Border` gives the fixed-size margins of a UI frame: the four corners
keep their size, the edges stretch along one axis and the centre along both.

Writers:

* Godot 4 — :func:`godot_ninepatch_tres` writes a ``StyleBoxTexture`` resource.
  StyleBoxTexture is what Godot 4 themes and ``Control`` nodes (Button, Panel…)
  use for 9-slice skins; its ``texture_margin_*`` are the patch margins and
  ``region_rect`` picks the frame out of a sprite sheet. (A ``NinePatchRect``
  node can use the same texture with ``patch_margin_*``, but that is a scene
  node, not a reusable resource.)
* Unity — :func:`unity_sprite_border` gives the ``spriteBorder`` of a sprite's
  import settings.
* Aseprite / PixiJS — :func:`pixelgen.formats.aseprite.nine_slice` (slice with
  ``center``) and :class:`pixelgen.formats.aseprite.FrameInfo` ``borders``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixelgen.formats._image import check_non_negative_int
from pixelgen.formats.sheet import Rect


@dataclass(frozen=True)
class Border:
    """9-slice margins in pixels, measured inward from each edge of the frame."""

    left: int
    top: int
    right: int
    bottom: int

    def __post_init__(self) -> None:
        for side in ("left", "top", "right", "bottom"):
            check_non_negative_int(getattr(self, side), name=f"Border.{side}")

    def center(self, size: tuple[int, int]) -> Rect:
        """The stretchable centre rectangle of a ``(width, height)`` frame."""
        validate_border(self, size)
        width, height = size
        return Rect(self.left, self.top, width - self.left - self.right, height - self.top - self.bottom)


def validate_border(border: Border, size: tuple[int, int]) -> None:
    """Raise ``ValueError`` unless ``border`` leaves a centre of at least 1×1 px in a ``(w, h)`` frame."""
    width, height = size
    if border.left + border.right >= width or border.top + border.bottom >= height:
        raise ValueError(
            f"9-slice border (left={border.left}, top={border.top}, right={border.right}, "
            f"bottom={border.bottom}) does not fit a {width}×{height} frame: left+right must be "
            f"< {width} and top+bottom < {height} so a stretchable centre remains; use smaller margins"
        )


def godot_ninepatch_tres(*, texture_path: str, region: Rect, border: Border) -> str:
    """Godot 4 ``StyleBoxTexture`` resource text (``.tres``) for a 9-slice frame.

    ``texture_path`` is the sheet's ``res://`` path, or its path relative to the ``.tres`` file;
    ``region`` is the frame's rectangle in that sheet.
    """
    from pixelgen.formats.godot import check_texture_path

    check_texture_path(texture_path)
    validate_border(border, (region.w, region.h))
    # format=3 is Godot 4's text resource format; integer-like floats are written as Godot does (4.0).
    return (
        '[gd_resource type="StyleBoxTexture" load_steps=2 format=3]\n'
        "\n"
        f'[ext_resource type="Texture2D" path="{texture_path}" id="1_sheet"]\n'
        "\n"
        "[resource]\n"
        'texture = ExtResource("1_sheet")\n'
        f"texture_margin_left = {float(border.left)}\n"
        f"texture_margin_top = {float(border.top)}\n"
        f"texture_margin_right = {float(border.right)}\n"
        f"texture_margin_bottom = {float(border.bottom)}\n"
        f"region_rect = Rect2({region.x}, {region.y}, {region.w}, {region.h})\n"
    )


def unity_sprite_border(border: Border) -> dict[str, dict[str, int]]:
    """Unity's ``spriteBorder`` (a Vector4) for the sprite import settings.

    Unity orders it ``x = left, y = bottom, z = right, w = top`` (Unity's y axis
    points up, so "bottom" comes before "top").
    """
    return {"spriteBorder": {"x": border.left, "y": border.bottom, "z": border.right, "w": border.top}}
