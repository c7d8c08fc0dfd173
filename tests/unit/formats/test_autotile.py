import itertools

import numpy as np
import pytest

from pixelgen.formats.autotile import corner_wang_tiles, corner_wangset

SIZE = 16


def _terrains(count=2, seed=0):
    """Random tiles whose pixels never coincide between terrains (terrain k uses values ≡ k mod count)."""
    rng = np.random.default_rng(seed)
    terrains = []
    for k in range(count):
        tile = (rng.integers(0, 256 // count, (SIZE, SIZE, 4)) * count + k).astype(np.uint8)
        tile[..., 3] = 255
        terrains.append(tile)
    return terrains


def _source_index(image, terrains):
    """Per pixel, which terrain's same-position pixel it is (-1 if none)."""
    index = np.full(image.shape[:2], -1)
    for k, terrain in enumerate(terrains):
        index[np.all(image == terrain, axis=-1)] = k
    return index


def test_two_terrains_give_all_sixteen_corner_tiles():
    terrains = _terrains()
    tiles = corner_wang_tiles(terrains)
    assert len(tiles) == 16
    assert sorted(t.corners for t in tiles) == sorted(itertools.product((0, 1), repeat=4))
    for bits, tile in enumerate(tiles):
        tr, br, bl, tl = tile.corners
        assert (tr, br, bl, tl) == tuple((bits >> shift) & 1 for shift in range(4))
        assert tile.wangid == (0, tr + 1, 0, br + 1, 0, bl + 1, 0, tl + 1)
    np.testing.assert_array_equal(tiles[0].image, terrains[0])
    np.testing.assert_array_equal(tiles[15].image, terrains[1])


def test_every_pixel_comes_from_an_input_tile_and_corners_own_their_pixels():
    terrains = _terrains()
    for tile in corner_wang_tiles(terrains, seed=5):
        source = _source_index(tile.image, terrains)
        assert (source >= 0).all()  # no blended or new colours
        tr, br, bl, tl = tile.corners
        assert source[0, -1] == tr and source[-1, -1] == br and source[-1, 0] == bl and source[0, 0] == tl
        # A corner's terrain covers a real area, not a stray pixel.
        for (y, x), terrain in zip(((0, -1), (-1, -1), (-1, 0), (0, 0)), tile.corners):
            window = source[:3, :] if y == 0 else source[-3:, :]
            window = window[:, :3] if x == 0 else window[:, -3:]
            assert (window == terrain).sum() >= 6


def test_neighbouring_tiles_continue_the_same_boundary():
    terrains = _terrains()
    tiles = corner_wang_tiles(terrains, seed=1)
    masks = [_source_index(t.image, terrains) for t in tiles]
    checked = 0
    for (i, left), (j, right) in itertools.product(enumerate(tiles), repeat=2):
        if (left.corners[0], left.corners[1]) == (right.corners[3], right.corners[2]):  # tr,br == tl,bl
            # A boundary crossing the seam diagonally steps ~1 px per column anyway; more would be a visible break.
            assert (masks[i][:, -1] != masks[j][:, 0]).sum() <= 2
            checked += 1
        if (left.corners[2], left.corners[1]) == (right.corners[3], right.corners[0]):  # top tile's bl,br == tl,tr
            assert (masks[i][-1, :] != masks[j][0, :]).sum() <= 2
            checked += 1
    assert checked == 2 * 16 * 4


def test_seed_is_deterministic_and_changes_the_boundary():
    terrains = _terrains()
    first = corner_wang_tiles(terrains, seed=3)
    again = corner_wang_tiles(terrains, seed=3)
    other = corner_wang_tiles(terrains, seed=4)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again))
    assert any(not np.array_equal(a.image, b.image) for a, b in zip(first, other))


def test_more_terrains_share_the_first_as_base():
    terrains = _terrains(count=3)
    tiles = corner_wang_tiles(terrains)
    assert len(tiles) == 1 + 15 * 2
    assert tiles[0].corners == (0, 0, 0, 0)
    assert len({t.wangid for t in tiles}) == len(tiles)
    for tile in tiles[1:16]:
        assert set(tile.corners) <= {0, 1}
    for tile in tiles[16:]:
        assert set(tile.corners) <= {0, 2} and 2 in tile.corners
    np.testing.assert_array_equal(tiles[30].image, terrains[2])
    wangset = corner_wangset("ground", tiles, terrain_names=["grass", "dirt", "water"], first_tile_id=10)
    assert [c.name for c in wangset.colors] == ["grass", "dirt", "water"]
    assert wangset.tiles[0] == (10, (0, 1, 0, 1, 0, 1, 0, 1))
    assert wangset.tiles[-1] == (40, (0, 3, 0, 3, 0, 3, 0, 3))


def test_rejects_bad_input():
    terrains = _terrains()
    with pytest.raises(ValueError, match="at least two"):
        corner_wang_tiles(terrains[:1])
    with pytest.raises(ValueError, match="square"):
        corner_wang_tiles([t[:8] for t in terrains])
    with pytest.raises(ValueError, match="corner16"):
        corner_wang_tiles(terrains, mode="blob47")
    with pytest.raises(TypeError):
        corner_wang_tiles([t.astype(np.int32) for t in terrains])
    with pytest.raises(ValueError, match="terrain names"):
        corner_wangset("g", corner_wang_tiles(terrains), terrain_names=["grass"])
