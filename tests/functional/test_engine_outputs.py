"""Engine files from a real build, each read back by a parser this project did not write:
PixiJS (Node) for the sprite sheets, pytiled-parser and PyTMX for the Tiled files,
godot-parser for the Godot resources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pixelgen.formats.png import decode_png

pytestmark = pytest.mark.slow
JS_DIR = Path(__file__).resolve().parents[1] / "js"
ENGINE_MANIFEST = """\
version: 1
name: engine
models:
  tiny: {builtin: tiny-sdxl}
palettes:
  shared: {auto: 6, shared: true}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2}
  palette: shared
assets:
  - id: knight
    kind: sprite
    prompt: "a knight {pose}"
    background: transparent
    directions: 4
    animations:
      - {name: walk, frames: 2, poses: [left, right], duration_ms: 120, direction: pingpong}
  - id: ground
    kind: tileset
    prompt: "{name} texture"
    seamless: true
    terrain: {types: [grass, dirt], name: grass-dirt}
    tiles: [{name: grass}, {name: dirt}]
  - id: hud
    kind: ui
    prompt: "a wooden {name}"
    elements:
      - {name: button, size: [16, 8], border: [3, 2, 3, 2]}
      - {name: gem, size: [8, 8]}
"""


@pytest.fixture
def built(project: Path) -> Path:
    (project / "manifests" / "engine.yaml").write_text(ENGINE_MANIFEST)
    from cli_helpers import run_cli

    result = run_cli(project, "build", "manifests/engine.yaml")
    assert result.code == 0, result.err
    return project / "assets_out" / "engine"


def test_animation_sheet_with_pixijs(built, tmp_path):
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "pixi.js").is_dir():
        pytest.skip("PixiJS oracle needs node and `cd tests/js && npm ci` (bash scripts/setup.sh --test)")
    document = json.loads((built / "knight" / "knight.json").read_text())
    assert [tag["name"] for tag in document["meta"]["frameTags"]] == ["walk-n", "walk-e", "walk-s", "walk-w"]
    completed = subprocess.run([node, str(JS_DIR / "parse_spritesheet.mjs"), str(built / "knight" / "knight.json")],
                               cwd=JS_DIR, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    parsed = json.loads(completed.stdout)
    sheet = decode_png((built / "knight" / document["meta"]["image"]).read_bytes())
    frames = [name for clip in ("walk-n", "walk-e", "walk-s", "walk-w") for name in (f"{clip}-0", f"{clip}-1")]
    for index, name in enumerate(frames):
        rect = parsed["frames"][str(index)]["frame"]
        region = sheet[rect["y"] : rect["y"] + rect["h"], rect["x"] : rect["x"] + rect["w"]]
        assert np.array_equal(region, decode_png((built / "knight" / f"{name}.png").read_bytes()))
    assert (built / "knight" / "walk-e.gif").read_bytes()[:6] == b"GIF89a"


def test_tileset_with_pytiled_parser(built):
    pytiled_parser = pytest.importorskip("pytiled_parser")
    for name in ("ground.tsx", "ground.tsj"):
        tileset = pytiled_parser.parse_tileset(built / "ground" / name)
        assert tileset.tile_count == 2 + 16 and (tileset.tile_width, tileset.tile_height) == (16, 16)
        wangset = tileset.wang_sets[0]
        assert wangset.name == "grass-dirt" and len(wangset.wang_tiles) == 16
        for tile_id, tile in wangset.wang_tiles.items():
            assert list(tile.wang_id)[0::2] == [0, 0, 0, 0]  # corner set: edges unused
    tiled_map = pytiled_parser.parse_map(built / "ground" / "ground.sample.tmx")
    assert tiled_map.map_size.width == 6


def test_tileset_with_pytmx_slices_match_the_atlas(built):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pytmx = pytest.importorskip("pytmx")
    pygame = pytest.importorskip("pygame")
    pygame.display.init()
    pygame.display.set_mode((1, 1))
    try:
        tiled_map = pytmx.load_pygame(str(built / "ground" / "ground.sample.tmx"))
        grass = decode_png((built / "ground" / "grass.png").read_bytes())
        surface = tiled_map.get_tile_image_by_gid(tiled_map.tilesets[0].firstgid)  # local id 0 = grass
        pixels = np.transpose(pygame.surfarray.pixels3d(surface), (1, 0, 2)).copy()
        assert np.array_equal(pixels, grass[..., :3])
        used = {gid for layer in tiled_map.visible_layers for _, _, gid in layer if gid}
        assert len(used) > 2  # the sample island uses transition tiles
    finally:
        pygame.display.quit()


def test_ui_kit_nine_slice_metadata(built):
    document = json.loads((built / "hud" / "hud.json").read_text())
    assert document["frames"]["button"]["borders"] == {"left": 3, "top": 2, "right": 3, "bottom": 2}
    assert "borders" not in document["frames"]["gem"]
    assert document["meta"]["slices"][0]["keys"][0]["center"] == {"x": 3, "y": 2, "w": 10, "h": 4}
    unity = json.loads((built / "hud" / "hud.unity.json").read_text())
    assert unity["sprites"]["button"]["spriteBorder"] == {"x": 3, "y": 2, "z": 3, "w": 2}
    godot_parser = pytest.importorskip("godot_parser")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # godot-parser uses an old pyparsing API
        resource = godot_parser.parse((built / "hud" / "button.tres").read_text())
    properties = resource.find_section("resource")
    assert properties["texture_margin_left"] == 3.0 and properties["texture_margin_top"] == 2.0


def test_godot_tileset_resource(built):
    godot_parser = pytest.importorskip("godot_parser")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resource = godot_parser.parse((built / "ground" / "ground.tileset.tres").read_text())
    main = resource.find_section("resource")
    assert main["terrain_set_0/mode"] == 1  # match corners, from Tiled's corner Wang set
    assert [main["terrain_set_0/terrain_0/name"], main["terrain_set_0/terrain_1/name"]] == ["grass", "dirt"]
    atlas = resource.find_sub_resource(type="TileSetAtlasSource")
    tsx = (built / "ground" / "ground.tsx").read_text()
    tile_count = int(tsx.split('tilecount="')[1].split('"')[0])
    columns = int(tsx.split('columns="')[1].split('"')[0])
    for tile_id in range(tile_count):
        assert atlas[f"{tile_id % columns}:{tile_id // columns}/0"] == 0
    # The all-dirt transition tile (the last of the corner set): every corner is terrain 1 (dirt).
    last = tile_count - 1
    coords = f"{last % columns}:{last // columns}/0"
    for corner in ("top_right_corner", "bottom_right_corner", "bottom_left_corner", "top_left_corner"):
        assert atlas[f"{coords}/terrains_peering_bit/{corner}"] == 1
    assert f"{coords}/terrains_peering_bit/top_side" not in atlas.properties


TILED = shutil.which("tiled")


def _tiled_export(*args: str, cwd: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run([TILED, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.skipif(TILED is None, reason="Tiled not installed (Debian: apt-get install tiled; bash scripts/setup.sh --test)")
def test_tiled_itself_reads_the_tileset_and_the_sample_map(built, tmp_path):
    """Real Tiled, headless: the tileset and sample map round-trip with their tiles and Wang set."""
    ground = built / "ground"
    _tiled_export("--export-tileset", "json", str(ground / "ground.tsx"), str(tmp_path / "ground.json"), cwd=ground)
    tileset = json.loads((tmp_path / "ground.json").read_text())
    ours = json.loads((ground / "ground.tsj").read_text())
    assert (tileset["tilecount"], tileset["columns"], tileset["tilewidth"], tileset["tileheight"]) == (
        ours["tilecount"], ours["columns"], ours["tilewidth"], ours["tileheight"])
    assert tileset["tilecount"] == 2 + 16
    assert Path(tileset["image"]).name == "ground.atlas.png"
    [wangset] = tileset["wangsets"]
    assert wangset["name"] == "grass-dirt" and wangset["type"] == "corner"
    assert [colour["name"] for colour in wangset["colors"]] == ["grass", "dirt"]
    kept = {tile["tileid"]: tile["wangid"] for tile in wangset["wangtiles"]}
    assert kept == {tile["tileid"]: tile["wangid"] for tile in ours["wangsets"][0]["wangtiles"]}

    _tiled_export("--export-map", "json", str(ground / "ground.sample.tmx"), str(tmp_path / "sample.json"), cwd=ground)
    sample = json.loads((tmp_path / "sample.json").read_text())
    [layer] = [layer for layer in sample["layers"] if layer["type"] == "tilelayer"]
    assert len(layer["data"]) == sample["width"] * sample["height"]
    used = {gid for gid in layer["data"] if gid}
    first = sample["tilesets"][0]["firstgid"]
    assert len(used) > 2 and all(first <= gid < first + tileset["tilecount"] for gid in used)


def test_unity_importer_script_reads_keys_the_ui_kit_json_has(built):
    """docs/engines/PixelgenUnityImporter.cs and <id>.unity.json stay in step (Unity itself is not run here)."""
    import re

    script = (Path(__file__).resolve().parents[2] / "docs" / "engines" / "PixelgenUnityImporter.cs").read_text()
    unity = json.loads((built / "hud" / "hud.unity.json").read_text())
    for key in re.findall(r'document\["(\w+)"\]', script):
        assert key in unity, key
    button = unity["sprites"]["button"]
    for key in re.findall(r'rect\["(\w+)"\]', script):
        assert key in button["rect"], key
    for key in re.findall(r'border\["(\w+)"\]', script):
        assert key in button["spriteBorder"], key
    assert unity["sheet"] == "hud.sheet.png"
