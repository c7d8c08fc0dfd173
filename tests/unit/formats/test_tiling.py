import numpy as np
import pytest

from pixelgen.formats.tiling import tiled_preview


def _periodic_tile(size=32, seed=0):
    """A smooth tile that wraps exactly: integer-frequency sinusoids."""
    rng = np.random.default_rng(seed)
    coords = np.arange(size) / size
    field = np.zeros((size, size))
    for fx, fy in ((1, 0), (0, 1), (1, 1), (2, 1)):
        field += np.sin(2 * np.pi * (fx * coords[None, :] + fy * coords[:, None]) + rng.uniform(0, 6.28))
    grey = ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)
    return np.stack([grey, grey // 2, 255 - grey], axis=-1)


def test_tiled_preview_repeats_and_validates():
    tile = _periodic_tile(size=8)
    preview = tiled_preview(tile)
    assert preview.shape == (24, 24, 3) and preview.dtype == np.uint8
    np.testing.assert_array_equal(preview[8:16, 16:24], tile)
    assert tiled_preview(tile, repeat=1).shape == tile.shape
    with pytest.raises(ValueError, match="repeat"):
        tiled_preview(tile, repeat=0)
    with pytest.raises(TypeError):
        tiled_preview(tile.astype(np.float32))
