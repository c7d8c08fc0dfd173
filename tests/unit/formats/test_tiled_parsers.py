"""Tiled tilesets and maps, read back by parsers this project did not write.

Oracles: ``pytiled-parser`` (TSX, TSJ, TMX with an external tileset, Wang sets)
and ``PyTMX`` with ``pygame-ce`` (slices the atlas into tile images as games do).
"""

import json

import numpy as np
import pytest
from PIL import Image

from pixelgen.formats.autotile import corner_wang_tiles, corner_wangset, wang_tile_label
from pixelgen.formats.tiled import (
    WangColor,
    WangSet,
    tiled_map_tmx,
    tileset_atlas,
    tileset_tsj,
    tileset_tsx,
)

TILE = 8


def _terrain(rgb, accent, seed):
    rng = np.random.default_rng(seed)
    tile = np.zeros((TILE, TILE, 4), dtype=np.uint8)
    tile[...] = (*rgb, 255)
    tile[rng.random((TILE, TILE)) < 0.25] = (*accent, 255)
    return tile


@pytest.fixture(params=[(0, 0), (2, 1)], ids=["no-margin", "margin2-spacing1"])
def tileset_files(request, tmp_path):
    margin, spacing = request.param
    tiles = corner_wang_tiles([_terrain((40, 160, 60), (30, 120, 50), 1), _terrain((150, 110, 60), (120, 90, 40), 2)])
    atlas, columns = tileset_atlas([t.image for t in tiles], columns=5, margin=margin, spacing=spacing)
    Image.fromarray(atlas, mode="RGBA").save(tmp_path / "ground.png")
    wangset = corner_wangset("ground", tiles, terrain_names=["grass", "dirt"])
    options = dict(
        name="ground",
        image_path="ground.png",
        image_size=(atlas.shape[1], atlas.shape[0]),
        tile_size=(TILE, TILE),
        tilecount=len(tiles),
        columns=columns,
        margin=margin,
        spacing=spacing,
        wangsets=[wangset],
        tile_names=[f"ground_{i:02d}" for i in range(len(tiles))],
    )
    (tmp_path / "ground.tsx").write_text(tileset_tsx(**options), encoding="utf-8")
    (tmp_path / "ground.tsj").write_text(json.dumps(tileset_tsj(**options)), encoding="utf-8")
    grid = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, -1, 15, -1, 0]]
    (tmp_path / "map.tmx").write_text(
        tiled_map_tmx(tileset_source="ground.tsx", tile_size=(TILE, TILE), grid=grid), encoding="utf-8"
    )
    return tmp_path, tiles, grid, margin, spacing


@pytest.mark.parametrize("suffix", ["tsx", "tsj"])
def test_pytiled_parser_reads_tileset_and_wangset(tileset_files, suffix):
    pytiled_parser = pytest.importorskip("pytiled_parser", reason="install the formats-test extra")
    folder, tiles, _, margin, spacing = tileset_files
    tileset = pytiled_parser.parse_tileset(folder / f"ground.{suffix}")
    assert (tileset.name, tileset.tile_width, tileset.tile_height) == ("ground", TILE, TILE)
    assert (tileset.tile_count, tileset.columns, tileset.margin, tileset.spacing) == (16, 5, margin, spacing)
    assert str(tileset.image).endswith("ground.png")
    assert tileset.tiles[7].properties == {"name": "ground_07"}
    (wangset,) = tileset.wang_sets
    assert wangset.wang_type == "corner"
    assert [color.name for color in wangset.wang_colors] == ["grass", "dirt"]
    assert {tile_id: list(wt.wang_id) for tile_id, wt in wangset.wang_tiles.items()} == {
        index: list(tile.wangid) for index, tile in enumerate(tiles)
    }
    # Tile 1 has only its top-right corner on dirt (colour 2), in Tiled's wangid order.
    assert list(wangset.wang_tiles[1].wang_id) == [0, 2, 0, 1, 0, 1, 0, 1]


def test_pytiled_parser_reads_map_with_external_tileset(tileset_files):
    pytiled_parser = pytest.importorskip("pytiled_parser", reason="install the formats-test extra")
    folder, _, grid, _, _ = tileset_files
    tiled_map = pytiled_parser.parse_map(folder / "map.tmx")
    assert list(tiled_map.tilesets) == [1]
    assert tiled_map.tilesets[1].name == "ground"
    (layer,) = tiled_map.layers
    assert layer.data == [[0 if cell < 0 else cell + 1 for cell in row] for row in grid]


def test_pytmx_pygame_slices_the_atlas_into_the_original_tiles(tileset_files, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame = pytest.importorskip("pygame", reason="install the formats-test extra (pygame-ce)")
    util_pygame = pytest.importorskip("pytmx.util_pygame", reason="install the formats-test extra (pytmx)")
    folder, tiles, grid, _, _ = tileset_files
    pygame.display.init()
    try:
        pygame.display.set_mode((1, 1))  # pytmx converts surfaces, which needs a display mode
        tiled_map = util_pygame.load_pygame(str(folder / "map.tmx"))
        assert (tiled_map.width, tiled_map.height) == (5, 4)
        for y, row in enumerate(grid):
            for x, local_id in enumerate(row):
                surface = tiled_map.get_tile_image(x, y, 0)
                if local_id < 0:
                    assert surface is None
                    continue
                pixels = np.frombuffer(pygame.image.tobytes(surface, "RGBA"), dtype=np.uint8).reshape(TILE, TILE, 4)
                np.testing.assert_array_equal(pixels, tiles[local_id].image, err_msg=f"cell {x},{y}")
                assert tiled_map.get_tile_properties(x, y, 0)["name"] == f"ground_{local_id:02d}"
    finally:
        pygame.display.quit()


def test_atlas_layout_follows_tiled_geometry():
    tiles = [np.full((4, 6, 4), i, dtype=np.uint8) for i in range(7)]
    atlas, columns = tileset_atlas(tiles, columns=3, margin=1, spacing=2)
    assert columns == 3
    assert atlas.shape[:2] == (1 * 2 + 3 * 4 + 2 * 2, 1 * 2 + 3 * 6 + 2 * 2)
    np.testing.assert_array_equal(atlas[1 + 2 * 6 : 1 + 2 * 6 + 4, 1 + 0 : 1 + 6], tiles[6])
    assert tileset_atlas(tiles)[1] == 3  # ceil(sqrt(7))


def test_writers_reject_inconsistent_geometry_and_wang_data():
    base = dict(name="t", image_path="t.png", tile_size=(8, 8), tilecount=4, columns=2)
    with pytest.raises(ValueError, match="columns"):
        tileset_tsx(**base, image_size=(24, 16))
    with pytest.raises(ValueError, match="exceeds"):
        tileset_tsj(**{**base, "tilecount": 5}, image_size=(16, 16))
    with pytest.raises(ValueError, match="8 entries"):
        WangSet("w", colors=(WangColor("a"),), tiles=((0, (0, 1, 0, 1)),))
    with pytest.raises(ValueError, match="edge values"):
        WangSet("w", colors=(WangColor("a"),), tiles=((0, (1, 1, 0, 1, 0, 1, 0, 1)),))
    outside = WangSet("w", colors=(WangColor("a"),), tiles=((9, (0, 1, 0, 1, 0, 1, 0, 1)),))
    with pytest.raises(ValueError, match="outside"):
        tileset_tsx(**base, image_size=(16, 16), wangsets=[outside])
    with pytest.raises(ValueError, match="rows must be equal"):
        tiled_map_tmx(tileset_source="t.tsx", tile_size=(8, 8), grid=[[0, 1], [0]])
    with pytest.raises(ValueError, match="tile id"):
        tiled_map_tmx(tileset_source="t.tsx", tile_size=(8, 8), grid=[[0, -2]])


def test_tsj_always_lists_wangsets_and_spacing():
    document = tileset_tsj(
        name="t", image_path="t.png", image_size=(16, 16), tile_size=(8, 8), tilecount=4, columns=2
    )
    assert document["wangsets"] == [] and document["margin"] == 0 and document["spacing"] == 0
    assert document["type"] == "tileset" and document["version"] == "1.10"


@pytest.mark.parametrize("suffix", ["tsx", "tsj"])
def test_pytiled_parser_reads_blob47_mixed_wangset(tmp_path, suffix):
    pytiled_parser = pytest.importorskip("pytiled_parser", reason="install the formats-test extra")
    tiles = corner_wang_tiles(
        [_terrain((40, 160, 60), (30, 120, 50), 1), _terrain((150, 110, 60), (120, 90, 40), 2)], mode="blob47"
    )
    atlas, columns = tileset_atlas([t.image for t in tiles], columns=8)
    Image.fromarray(atlas, mode="RGBA").save(tmp_path / "path.png")
    options = dict(
        name="path",
        image_path="path.png",
        image_size=(atlas.shape[1], atlas.shape[0]),
        tile_size=(TILE, TILE),
        tilecount=len(tiles),
        columns=columns,
        wangsets=[corner_wangset("path", tiles, terrain_names=["grass", "dirt"])],
        tile_names=[f"path-{wang_tile_label(t)}" for t in tiles],
    )
    (tmp_path / "path.tsx").write_text(tileset_tsx(**options), encoding="utf-8")
    (tmp_path / "path.tsj").write_text(json.dumps(tileset_tsj(**options)), encoding="utf-8")
    tileset = pytiled_parser.parse_tileset(tmp_path / f"path.{suffix}")
    assert (tileset.tile_count, tileset.columns) == (47, 8)
    assert tileset.tiles[46].properties == {"name": "path-b255"}
    (wangset,) = tileset.wang_sets
    assert wangset.wang_type == "mixed"
    read_back = {tile_id: tuple(wt.wang_id) for tile_id, wt in wangset.wang_tiles.items()}
    assert read_back == {index: tile.wangid for index, tile in enumerate(tiles)}
    # Tile 1 (blob mask 1) has only its top edge on dirt, in Tiled's wangid order.
    assert read_back[1] == (2, 1, 1, 1, 1, 1, 1, 1)
