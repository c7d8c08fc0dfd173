"""Aseprite json-hash documents, checked by PixiJS's own Spritesheet parser (Node).

Set-up for the PixiJS oracle: ``cd tests/js && npm ci``. Without ``node`` or
``tests/js/node_modules`` the oracle test is skipped with a message.
"""

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelgen.formats.aseprite import (
    FrameInfo,
    FrameTag,
    Slice,
    aseprite_json_hash,
    expand_tag,
    nine_slice,
)
from pixelgen.formats.ninepatch import Border
from pixelgen.formats.sheet import Rect, pack_frames

JS_DIR = Path(__file__).resolve().parents[3] / "tests" / "js"


def _sprite_frames():
    rng = np.random.default_rng(7)
    sizes = [(16, 16), (16, 16), (16, 16), (24, 12), (12, 20)]
    return [rng.integers(0, 256, (h, w, 4), dtype=np.uint8) for w, h in sizes]


def _document(frames, rects, sheet, frame_keys="index"):
    infos = [FrameInfo(rect=rect, duration_ms=100 + 10 * i, name=f"hero_{i}") for i, rect in enumerate(rects)]
    # Frame 4 is a 9-slice UI panel.
    infos[4] = FrameInfo(rect=rects[4], duration_ms=100, name="panel", borders=Border(3, 4, 2, 5))
    return aseprite_json_hash(
        image_name="hero.png",
        sheet_size=(sheet.shape[1], sheet.shape[0]),
        frames=infos,
        tags=[
            FrameTag("walk", 0, 2),
            FrameTag("back", 0, 2, direction="reverse"),
            FrameTag("bounce", 0, 3, direction="pingpong"),
        ],
        slices=[nine_slice("panel", size=(12, 20), border=Border(3, 4, 2, 5), frame=4)],
        frame_keys=frame_keys,
    )


def _run_pixi(tmp_path, document):
    node = shutil.which("node")
    if node is None:
        pytest.skip("PixiJS oracle needs `node` on PATH")
    if not (JS_DIR / "node_modules" / "pixi.js").is_dir():
        pytest.skip("PixiJS oracle needs its packages: run `cd tests/js && npm ci`")
    path = tmp_path / "sheet.json"
    path.write_text(json.dumps(document))
    completed = subprocess.run(
        [node, str(JS_DIR / "parse_spritesheet.mjs"), str(path)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@pytest.mark.parametrize("layout,extrude,frame_keys", [("grid", 0, "index"), ("tight", 1, "name")])
def test_pixijs_reads_frames_animations_and_borders(tmp_path, layout, extrude, frame_keys):
    frames = _sprite_frames()
    sheet, rects = pack_frames(frames, layout=layout, padding=1, extrude=extrude)
    document = _document(frames, rects, sheet, frame_keys=frame_keys)
    parsed = _run_pixi(tmp_path, document)

    keys = list(document["frames"])
    assert list(parsed["frames"]) == keys
    assert parsed["resolution"] == 1
    # Slice the PNG as written to disk with PixiJS's rectangles: each must be the input frame.
    png = io.BytesIO()
    Image.fromarray(sheet, mode="RGBA").save(png, format="PNG")
    decoded = np.asarray(Image.open(io.BytesIO(png.getvalue())).convert("RGBA"))
    for key, frame in zip(keys, frames):
        pixi_frame = parsed["frames"][key]["frame"]
        rect = Rect(pixi_frame["x"], pixi_frame["y"], pixi_frame["w"], pixi_frame["h"])
        np.testing.assert_array_equal(rect.slice_of(decoded), frame)
        assert parsed["frames"][key]["orig"] == {"x": 0, "y": 0, "w": frame.shape[1], "h": frame.shape[0]}
        assert parsed["frames"][key]["trim"] is None
    assert parsed["frames"][keys[4]]["borders"] == {"left": 3, "top": 4, "right": 2, "bottom": 5}
    assert parsed["frames"][keys[0]]["borders"] is None
    assert parsed["animations"] == {
        "walk": [keys[0], keys[1], keys[2]],
        "back": [keys[2], keys[1], keys[0]],
        "bounce": [keys[0], keys[1], keys[2], keys[3], keys[2], keys[1]],
    }


def test_pixijs_applies_trim_offsets(tmp_path):
    frame = np.full((6, 5, 4), 255, dtype=np.uint8)
    sheet, (rect,) = pack_frames([frame], padding=0)
    document = aseprite_json_hash(
        image_name="t.png",
        sheet_size=(sheet.shape[1], sheet.shape[0]),
        frames=[FrameInfo(rect=rect, source_size=(16, 16), offset=(3, 7))],
    )
    assert document["frames"]["0"]["trimmed"] is True
    parsed = _run_pixi(tmp_path, document)
    assert parsed["frames"]["0"]["orig"] == {"x": 0, "y": 0, "w": 16, "h": 16}
    assert parsed["frames"]["0"]["trim"] == {"x": 3, "y": 7, "w": 5, "h": 6}


def test_document_has_aseprite_json_hash_shape():
    frames = _sprite_frames()
    sheet, rects = pack_frames(frames)
    document = _document(frames, rects, sheet)
    assert list(document["frames"]) == ["0", "1", "2", "3", "4"]
    first = document["frames"]["0"]
    assert first == {
        "frame": rects[0].as_dict(),
        "rotated": False,
        "trimmed": False,
        "spriteSourceSize": {"x": 0, "y": 0, "w": 16, "h": 16},
        "sourceSize": {"w": 16, "h": 16},
        "duration": 100,
    }
    meta = document["meta"]
    assert meta["format"] == "RGBA8888" and meta["scale"] == "1" and meta["image"] == "hero.png"
    assert meta["size"] == {"w": sheet.shape[1], "h": sheet.shape[0]}
    assert meta["frameTags"][2] == {"name": "bounce", "from": 0, "to": 3, "direction": "pingpong", "color": "#000000ff"}
    assert meta["layers"] == [{"name": "Layer 1", "opacity": 255, "blendMode": "normal"}]
    # Aseprite's 9-slice: centre relative to the slice bounds.
    assert meta["slices"] == [
        {
            "name": "panel",
            "color": "#0000ffff",
            "keys": [
                {"frame": 4, "bounds": {"x": 0, "y": 0, "w": 12, "h": 20}, "center": {"x": 3, "y": 4, "w": 7, "h": 11}}
            ],
        }
    ]
    json.dumps(document)  # serialisable as-is


def test_expand_tag_directions():
    assert expand_tag(FrameTag("a", 2, 5)) == [2, 3, 4, 5]
    assert expand_tag(FrameTag("a", 2, 5, "reverse")) == [5, 4, 3, 2]
    assert expand_tag(FrameTag("a", 2, 5, "pingpong")) == [2, 3, 4, 5, 4, 3]
    assert expand_tag(FrameTag("a", 1, 1, "pingpong")) == [1]


def test_rejects_bad_documents():
    rect = Rect(0, 0, 4, 4)
    base = dict(image_name="x.png", sheet_size=(4, 4))
    with pytest.raises(ValueError, match="not inside"):
        aseprite_json_hash(**base, frames=[FrameInfo(Rect(2, 0, 4, 4))])
    with pytest.raises(ValueError, match="outside"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect)], tags=[FrameTag("t", 0, 1)])
    with pytest.raises(ValueError, match="direction"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect)], tags=[FrameTag("t", 0, 0, "sideways")])
    with pytest.raises(ValueError, match="unique"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect, name="a"), FrameInfo(rect, name="a")], frame_keys="name")
    with pytest.raises(ValueError, match="does not fit"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect, borders=Border(2, 0, 2, 0))])
    with pytest.raises(ValueError, match="center"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect)], slices=[Slice("s", rect, center=Rect(1, 1, 4, 1))])
    with pytest.raises(ValueError, match="duration"):
        aseprite_json_hash(**base, frames=[FrameInfo(rect, duration_ms=0)])
