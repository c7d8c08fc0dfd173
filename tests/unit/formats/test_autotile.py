import itertools

import numpy as np
import pytest

from pixelgen.formats.autotile import (
    WangTile,
    corner_wang_tiles,
    corner_wangset,
    wang_tile_label,
)

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
        corner_wang_tiles(terrains, mode="blob48")
    with pytest.raises(TypeError):
        corner_wang_tiles([t.astype(np.int32) for t in terrains])
    with pytest.raises(ValueError, match="terrain names"):
        corner_wangset("g", corner_wang_tiles(terrains), terrain_names=["grass"])


def test_corner16_labels_and_wangset_type_are_unchanged():
    tiles = corner_wang_tiles(_terrains())
    assert [wang_tile_label(t) for t in tiles] == ["-".join(str(c) for c in t.corners) for t in tiles]
    assert wang_tile_label(tiles[1]) == "1-0-0-0"
    assert all(t.edges is None for t in tiles)
    assert corner_wangset("g", tiles, terrain_names=["grass", "dirt"]).type == "corner"


def _blob_reduce(neighbours):
    """Independent statement of the blob rule on (t, tr, r, br, b, bl, l, tl): a corner needs both its edges."""
    t, tr, r, br, b, bl, l, tl = neighbours
    return (t, tr & t & r, r, br & r & b, b, bl & b & l, l, tl & l & t)


def test_blob47_has_the_47_reduced_neighbourhoods_as_full_wangids():
    tiles = corner_wang_tiles(_terrains(), mode="blob47")
    expected = {tuple(v + 1 for v in _blob_reduce(n)) for n in itertools.product((0, 1), repeat=8)}
    assert len(expected) == 47
    assert len(tiles) == 47
    assert len({t.wangid for t in tiles}) == 47
    assert {t.wangid for t in tiles} == expected
    assert all(0 not in t.wangid for t in tiles)  # all 8 positions used
    labels = [wang_tile_label(t) for t in tiles]
    assert len(set(labels)) == 47
    assert labels[0] == "b000" and labels[-1] == "b255" and labels[1] == "b001"  # top only = bit 0
    for tile in tiles:
        t, tr, r, br, b, bl, l, tl = (v - 1 for v in tile.wangid)
        assert tile.edges == (t, r, b, l)
        assert tile.corners == (tr, br, bl, tl)


def test_blob47_pixels_come_from_the_inputs_and_follow_the_wangid():
    terrains = _terrains()
    tiles = corner_wang_tiles(terrains, mode="blob47", seed=2)
    np.testing.assert_array_equal(tiles[0].image, terrains[0])
    np.testing.assert_array_equal(tiles[-1].image, terrains[1])
    mid, last = SIZE // 2, SIZE - 1
    # Pixel at each wangid position: t, tr, r, br, b, bl, l, tl.
    probes = ((0, mid), (0, last), (mid, last), (last, last), (last, mid), (last, 0), (mid, 0), (0, 0))
    for tile in tiles:
        source = _source_index(tile.image, terrains)
        assert (source >= 0).all()  # no blended or new colours
        for (y, x), color in zip(probes, tile.wangid):
            assert source[y, x] == color - 1, (wang_tile_label(tile), (y, x))
        assert source[mid, mid] == (1 if any(tile.edges) else 0)


def test_blob47_neighbouring_tiles_continue_the_same_boundary():
    terrains = _terrains()
    tiles = corner_wang_tiles(terrains, mode="blob47", seed=1)
    masks = [_source_index(t.image, terrains) for t in tiles]
    checked = 0
    for (i, left), (j, right) in itertools.product(enumerate(tiles), repeat=2):
        # Shared edge values: left's tr, r, br == right's tl, l, bl; top's bl, b, br == bottom's tl, t, tr.
        if left.wangid[1:4] == (right.wangid[7], right.wangid[6], right.wangid[5]):
            assert (masks[i][:, -1] != masks[j][:, 0]).sum() <= 2
            checked += 1
        if (left.wangid[5], left.wangid[4], left.wangid[3]) == (right.wangid[7], right.wangid[0], right.wangid[1]):
            assert (masks[i][-1, :] != masks[j][0, :]).sum() <= 2
            checked += 1
    # Counted by hand: a side's (corner, edge, corner) is one of 5 patterns, held by 13 (0,0,0), 13 (0,1,0),
    # 8 (1,1,0), 8 (0,1,1) and 5 (1,1,1) of the 47 tiles; 13²+13²+8²+8²+5² = 491 pairs per direction.
    assert checked == 2 * 491


def test_blob47_is_deterministic_and_seeded():
    terrains = _terrains()
    first = corner_wang_tiles(terrains, mode="blob47", seed=3)
    again = corner_wang_tiles(terrains, mode="blob47", seed=3)
    other = corner_wang_tiles(terrains, mode="blob47", seed=4)
    assert [t.wangid for t in first] == [t.wangid for t in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again))
    assert any(not np.array_equal(a.image, b.image) for a, b in zip(first, other))


def test_blob47_wangset_is_mixed_and_rejects_bad_input():
    terrains = _terrains()
    blob = corner_wang_tiles(terrains, mode="blob47")
    wangset = corner_wangset("path", blob, terrain_names=["grass", "dirt"], first_tile_id=16)
    assert wangset.type == "mixed"
    assert wangset.tiles[0] == (16, (1,) * 8) and wangset.tiles[-1] == (62, (2,) * 8)
    with pytest.raises(ValueError, match="exactly two"):
        corner_wang_tiles(_terrains(count=3), mode="blob47")
    with pytest.raises(ValueError, match="own Wang set"):
        corner_wangset("both", corner_wang_tiles(terrains) + blob, terrain_names=["grass", "dirt"])
    with pytest.raises(ValueError, match="terrain names"):
        corner_wangset("path", blob, terrain_names=["grass"])
    # A hand-made blob tile naming terrain 2 only on an edge is caught too.
    odd = WangTile(blob[0].image, (0, 0, 0, 0), (3, 1, 1, 1, 1, 1, 1, 1), (2, 0, 0, 0))
    with pytest.raises(ValueError, match="terrain 2"):
        corner_wangset("path", [odd], terrain_names=["grass", "dirt"])
