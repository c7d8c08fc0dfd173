"""pack_outputs promises the file names pack_asset produces: status relies on it."""

import textwrap

import numpy as np
import pytest

from pixelgen.core.pack import pack_asset, pack_outputs
from pixelgen.manifest import load_manifest

MANIFEST = """\
version: 1
name: p
models: {tiny: {builtin: tiny-sdxl}}
defaults: {size: [8, 8], render: {width: 64, height: 64}}
assets:
  - id: hero
    kind: sprite
    prompt: "hero, frame {frame}"
    directions: 4
    animations: [{name: idle, frames: 2, direction: reverse}]
  - id: still
    kind: sprite
    prompt: still
  - id: ground
    kind: tileset
    prompt: "{name}"
    seamless: true
    terrain: {types: [grass, dirt]}
    tiles: [{name: grass}, {name: dirt}, {name: rock}]
  - id: hud
    kind: ui
    prompt: "{name}"
    elements: [{name: button, size: [8, 6], border: [2, 2, 2, 2]}, {name: icon}]
"""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "p.yaml"
    path.write_text(textwrap.dedent(MANIFEST))
    return load_manifest(path)


@pytest.mark.parametrize("asset_id", ["hero", "still", "ground", "hud"])
def test_pack_outputs_match_pack_asset(manifest, asset_id):
    asset = manifest.asset(asset_id)
    rng = np.random.default_rng(0)
    images = {}
    for image in asset.images:
        pixels = rng.integers(0, 4, (image.size[1], image.size[0], 4), dtype=np.uint8) * 60
        pixels[..., 3] = 255
        images[image.name] = pixels
    packed = pack_asset(asset, images, manifest_name="p")
    assert sorted(packed.files) == sorted(pack_outputs(asset))
    if asset_id == "ground":
        assert set(packed.report["seam"]) == {"grass", "dirt", "rock"}
    # Pure and deterministic: the same images give the same bytes.
    assert pack_asset(asset, images, manifest_name="p").files == packed.files


@pytest.mark.parametrize("mode, count", [("corner16", 16), ("blob47", 47)])
def test_terrain_sets_parse_in_tiled_and_the_sample_map_uses_transitions(tmp_path, mode, count):
    pytiled_parser = pytest.importorskip("pytiled_parser")
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        name: t
        models: {{tiny: {{builtin: tiny-sdxl}}}}
        defaults: {{size: [8, 8], render: {{width: 64, height: 64}}}}
        assets:
          - id: ground
            kind: tileset
            prompt: "{{name}}"
            terrain: {{types: [grass, dirt], mode: {mode}}}
            tiles: [{{name: grass}}, {{name: dirt}}]
        """))
    asset = load_manifest(path).asset("ground")
    images = {"grass": np.full((8, 8, 4), (40, 160, 60, 255), np.uint8), "dirt": np.full((8, 8, 4), (120, 80, 40, 255), np.uint8)}
    packed = pack_asset(asset, images, manifest_name="t")
    for name, data in packed.files.items():
        (tmp_path / name).write_bytes(data)
    tileset = pytiled_parser.parse_tileset(tmp_path / "ground.tsx")
    assert tileset.tile_count == 2 + count and len(tileset.wang_sets[0].wang_tiles) == count
    tiled_map = pytiled_parser.parse_map(tmp_path / "ground.sample.tmx")
    used = {gid for row in tiled_map.layers[0].data for gid in row}
    assert len(used) >= 6  # the island needs the base, the full tile and four edge transitions at least
