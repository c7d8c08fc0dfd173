"""9-slice writers. Godot's .tres is read back with the third-party ``godot-parser``."""

import pytest

from pixelgen.formats.ninepatch import (
    Border,
    godot_ninepatch_tres,
    unity_sprite_border,
    validate_border,
)
from pixelgen.formats.sheet import Rect


# godot-parser 0.1.7 calls pyparsing with a keyword pyparsing 3.3 deprecates; not our code.
@pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")
def test_godot_stylebox_parses_with_godot_parser():
    godot_parser = pytest.importorskip("godot_parser", reason="install the formats-test extra")
    text = godot_ninepatch_tres(
        texture_path="res://ui/sheet.png", region=Rect(16, 8, 24, 20), border=Border(4, 5, 6, 7)
    )
    resource = godot_parser.parse(text)
    header, ext, body = resource.get_sections()
    assert header.header.name == "gd_resource"
    assert header.header["type"] == "StyleBoxTexture" and header.header["format"] == 3
    assert ext.header.name == "ext_resource"
    assert (ext.header["type"], ext.header["path"]) == ("Texture2D", "res://ui/sheet.png")
    assert body.header.name == "resource"
    assert body["texture"].name == "ExtResource" and body["texture"].args == [ext.header["id"]]
    margins = [body[f"texture_margin_{side}"] for side in ("left", "top", "right", "bottom")]
    assert margins == [4.0, 5.0, 6.0, 7.0]
    assert body["region_rect"].name == "Rect2" and body["region_rect"].args == [16, 8, 24, 20]


def test_unity_border_order_is_left_bottom_right_top():
    assert unity_sprite_border(Border(left=1, top=2, right=3, bottom=4)) == {
        "spriteBorder": {"x": 1, "y": 4, "z": 3, "w": 2}
    }


def test_validate_border_and_centre():
    validate_border(Border(3, 3, 3, 3), (7, 7))
    assert Border(1, 2, 3, 4).center((10, 12)) == Rect(1, 2, 6, 6)
    with pytest.raises(ValueError, match="does not fit"):
        validate_border(Border(4, 0, 4, 0), (8, 8))
    with pytest.raises(ValueError, match="does not fit"):
        validate_border(Border(0, 5, 0, 3), (8, 8))
    with pytest.raises(ValueError, match="non-negative"):
        Border(-1, 0, 0, 0)
    with pytest.raises(ValueError, match="res://"):
        godot_ninepatch_tres(texture_path="../ui/sheet.png", region=Rect(0, 0, 8, 8), border=Border(1, 1, 1, 1))
    with pytest.raises(ValueError, match="does not fit"):
        godot_ninepatch_tres(texture_path="res://a.png", region=Rect(0, 0, 8, 8), border=Border(4, 1, 4, 1))
