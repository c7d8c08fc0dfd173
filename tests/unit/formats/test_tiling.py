import numpy as np
import pytest

from pixelgen.formats.tiling import seam_error, tiled_preview


def _periodic_tile(size=32, seed=0):
    """A smooth tile that wraps exactly: integer-frequency sinusoids."""
    rng = np.random.default_rng(seed)
    coords = np.arange(size) / size
    field = np.zeros((size, size))
    for fx, fy in ((1, 0), (0, 1), (1, 1), (2, 1)):
        field += np.sin(2 * np.pi * (fx * coords[None, :] + fy * coords[:, None]) + rng.uniform(0, 6.28))
    grey = ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)
    return np.stack([grey, grey // 2, 255 - grey], axis=-1)


def test_hand_computed_values():
    tile = np.zeros((2, 3, 3), dtype=np.uint8)
    tile[:, :, 0] = [[0, 10, 40], [0, 10, 40]]
    # seam: columns |40-0| on R (0 on G,B) for 2 rows -> 6 values sum 80; rows identical -> 9 zeros. 80/15.
    # interior: horizontal diffs 10,30 per row on R -> 12 values sum 80; vertical 0s -> 9 values. 80/21.
    result = seam_error(tile)
    assert result["seam"] == pytest.approx(80 / 15)
    assert result["interior"] == pytest.approx(80 / 21)
    assert result["ratio"] == pytest.approx(21 / 15)


def test_seamless_tile_scores_about_one_and_a_cut_tile_much_higher():
    seamless = _periodic_tile()
    assert seam_error(seamless)["ratio"] < 1.5
    cut = seamless[:, :21]  # cropping a periodic tile mid-period puts a jump at the wrap edge
    assert seam_error(cut)["ratio"] > 3 * seam_error(seamless)["ratio"]


def test_flat_tile_and_alpha_handling():
    flat = np.full((4, 4, 4), 77, dtype=np.uint8)
    assert seam_error(flat) == {"seam": 0.0, "interior": 0.0, "ratio": 0.0}
    flat[..., 3] = np.arange(4)[None, :] * 80  # alpha is ignored
    assert seam_error(flat)["ratio"] == 0.0
    stripe = np.zeros((4, 4, 3), dtype=np.uint8)
    stripe[:, 0] = 255  # only the wrap edge and the first interior pair differ
    stripe[:, 1] = 255
    assert seam_error(stripe)["ratio"] > 1


def test_tiled_preview_repeats_and_validates():
    tile = _periodic_tile(size=8)
    preview = tiled_preview(tile)
    assert preview.shape == (24, 24, 3) and preview.dtype == np.uint8
    np.testing.assert_array_equal(preview[8:16, 16:24], tile)
    assert tiled_preview(tile, repeat=1).shape == tile.shape
    with pytest.raises(ValueError, match="repeat"):
        tiled_preview(tile, repeat=0)
    with pytest.raises(TypeError):
        seam_error(tile.astype(np.float32))
    with pytest.raises(ValueError):
        seam_error(tile[:1])
