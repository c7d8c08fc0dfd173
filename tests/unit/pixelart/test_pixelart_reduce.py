import numpy as np
import pytest

from pixelgen.pixelart.grid import declared_grid, detect_grid
from pixelgen.pixelart.reduce import fit_to_size, reduce_cells


@pytest.mark.parametrize("method", ["kcentroid", "median", "mode"])
def test_clean_upscale_reduces_to_the_original(sprite_factory, upscaler, method):
    sprite, _ = sprite_factory(1, 30, 20)
    image = upscaler(sprite, cell=7.5)
    grid = detect_grid(image)
    np.testing.assert_array_equal(reduce_cells(image, grid, method=method), sprite)


def test_kcentroid_ignores_a_minority_sliver():
    # One 10x10 cell: 70% red, 30% (a misaligned neighbour) blue, no border band.
    cell = np.zeros((10, 10, 3), dtype=np.uint8)
    cell[:, :7] = (200, 0, 0)
    cell[:, 7:] = (0, 0, 200)
    grid = declared_grid(10, 10, cells_x=1, cells_y=1)
    out = reduce_cells(cell, grid, border=0.0)
    np.testing.assert_array_equal(out[0, 0], (200, 0, 0))
    # The plain median per channel would be red too, but the mean would not.
    assert cell.reshape(-1, 3).mean(axis=0)[2] > 50


def test_border_band_skips_anti_aliased_edges(sprite_factory, upscaler, degrader):
    sprite, _ = sprite_factory(2, 24, 24)
    image = degrader(upscaler(sprite, cell=10), seed=3, blur=1.2, noise=0.0)
    grid = declared_grid(240, 240, cells_x=24, cells_y=24)
    out = reduce_cells(image, grid)
    assert np.abs(out.astype(int) - sprite.astype(int)).max() <= 12


def test_rgba_alpha_is_reduced_too(sprite_factory, upscaler):
    sprite, _ = sprite_factory(4, 16, 16)
    alpha = (
        np.where(np.arange(16)[None, :] < 8, 255, 0).astype(np.uint8).repeat(16, axis=0)
    )
    rgba = np.concatenate([sprite, alpha[..., None]], axis=2)
    image = upscaler(rgba, cell=6)
    out = reduce_cells(image, declared_grid(96, 96, cells_x=16, cells_y=16))
    np.testing.assert_array_equal(out[..., 3], alpha)


def test_wrap_grid_rolls_before_reducing(sprite_factory, upscaler):
    sprite, _ = sprite_factory(6, 12, 12)
    rolled = np.roll(upscaler(sprite, cell=8), (3, 5), axis=(0, 1))
    grid = detect_grid(rolled, wrap=True)
    np.testing.assert_array_equal(reduce_cells(rolled, grid), sprite)


def test_reduce_validation():
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    grid = declared_grid(8, 8, cells_x=2, cells_y=2)
    with pytest.raises(ValueError, match="kcentroid"):
        reduce_cells(image, grid, method="average")
    with pytest.raises(ValueError):
        reduce_cells(np.zeros((9, 8, 3), dtype=np.uint8), grid)
    with pytest.raises(TypeError):
        reduce_cells(image.astype(np.float32), grid)
    with pytest.raises(ValueError):
        reduce_cells(image, grid, border=0.6)


def _rgba_with_content(width, height, box):
    image = np.zeros((height, width, 4), dtype=np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = (10, 20, 30, 255)
    return image


def test_fit_same_size_is_a_no_op():
    image = np.zeros((4, 5, 4), dtype=np.uint8)
    out, note = fit_to_size(image, size=(5, 4), anchor="center")
    assert note is None and out is image


def test_fit_crops_empty_border_without_losing_content():
    image = _rgba_with_content(34, 33, (5, 3, 25, 30))
    out, note = fit_to_size(image, size=(32, 32), anchor="bottom-center")
    assert out.shape == (32, 32, 4)
    assert (out[..., 3] > 0).sum() == (image[..., 3] > 0).sum()
    assert "cropped" in note


def test_fit_pads_transparent_at_anchor():
    image = _rgba_with_content(30, 30, (0, 0, 30, 30))
    out, note = fit_to_size(image, size=(32, 32), anchor="bottom-center")
    assert out.shape == (32, 32, 4)
    # bottom-center: the two extra rows are on top, one extra column each side.
    assert out[:2, :, 3].max() == 0 and out[2:, 1:31, 3].min() == 255
    assert out[:, 0, 3].max() == 0 and out[:, 31, 3].max() == 0
    assert "padded" in note


def test_fit_resamples_nearest_when_far_off():
    # 2x2 blocks of a checkerboard: content everywhere, so no border to trim.
    checker = (np.indices((4, 4)).sum(axis=0) % 2 * 255).astype(np.uint8)
    image = np.repeat(np.repeat(checker, 2, axis=0), 2, axis=1)[..., None].repeat(
        3, axis=2
    )
    out, note = fit_to_size(image, size=(4, 4), anchor="center")
    np.testing.assert_array_equal(out[..., 0], checker)
    assert "nearest" in note


def test_fit_trims_flat_rgb_background_first():
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[2:6, 4:8] = 255
    out, note = fit_to_size(image, size=(4, 8), anchor="center")
    assert out.shape == (8, 4, 3) and (out == 255).all(axis=2).sum() == 16
    assert "background column" in note


def test_fit_validation():
    with pytest.raises(ValueError, match="bottom-center"):
        fit_to_size(np.zeros((2, 2, 3), np.uint8), size=(3, 3), anchor="middle")


def test_nine_slice_fit_keeps_corners_and_stretches_the_centre():
    from pixelgen.pixelart import nine_slice_fit

    rng = np.random.default_rng(3)
    panel = rng.integers(0, 255, (10, 12, 4), dtype=np.uint8)
    border = (2, 3, 2, 1)  # left, top, right, bottom
    for size in ((20, 16), (7, 6)):
        fitted = nine_slice_fit(panel, size=size, border=border)
        assert fitted.shape == (size[1], size[0], 4)
        w, h = size
        # The four corners are copied pixel for pixel.
        assert np.array_equal(fitted[:3, :2], panel[:3, :2])
        assert np.array_equal(fitted[:3, w - 2 :], panel[:3, -2:])
        assert np.array_equal(fitted[h - 1 :, :2], panel[-1:, :2])
        assert np.array_equal(fitted[h - 1 :, w - 2 :], panel[-1:, -2:])
        # Every pixel comes from the input: no new colours.
        assert {tuple(p) for p in fitted.reshape(-1, 4)} <= {tuple(p) for p in panel.reshape(-1, 4)}
    with pytest.raises(ValueError):
        nine_slice_fit(panel, size=(4, 4), border=(2, 2, 2, 2))


def _two_means_one_cell(samples: np.ndarray) -> np.ndarray:
    """The k-centroid of one cell's (n, C) float32 samples, written plainly: four passes, no shortcut."""
    n, channels = samples.shape
    weights = np.array([1.0, 1.0, 1.0, 2.0][:channels], dtype=np.float32)
    luma = samples[:, 0] + samples[:, 1] + samples[:, 2]
    if channels == 4:
        luma = luma + samples[:, 3] * np.float32(4.0)
    c0, c1 = samples[np.argmin(luma)].copy(), samples[np.argmax(luma)].copy()
    for _ in range(4):
        d0 = np.zeros(n, dtype=np.float32)
        d1 = np.zeros(n, dtype=np.float32)
        for channel in range(channels):
            d0 += weights[channel] * (samples[:, channel] - c0[channel]) ** 2
            d1 += weights[channel] * (samples[:, channel] - c1[channel]) ** 2
        in1 = d1 < d0
        n1, n0 = np.float32(in1.sum()), np.float32(n - in1.sum())
        if n0 > 0:
            c0 = samples[~in1].sum(axis=0) / n0
        if n1 > 0:
            c1 = samples[in1].sum(axis=0) / n1
    return c1 if n1 > n0 or (n1 == n0 and in1[n // 2]) else c0


@pytest.mark.parametrize("channels", [3, 4])
def test_kcentroid_matches_a_plain_two_means_per_cell_bit_for_bit(channels):
    # Busy cells of two to four colours with noise: some settle after one
    # pass, some take all four, and the vectorised loop lets the settled
    # ones leave early. Its sums are of whole numbers, so every cell must
    # come out exactly as a cell-by-cell 2-means gives it.
    rng = np.random.default_rng(5)
    cells, side = 300, 5
    tiles = np.empty((cells, side, side, channels), dtype=np.uint8)
    for index in range(cells):
        colours = rng.integers(0, 256, (rng.integers(2, 5), channels))
        labels = rng.integers(0, colours.shape[0], (side, side))
        noisy = colours[labels] + rng.integers(-20, 21, (side, side, channels))
        tiles[index] = np.clip(noisy, 0, 255)
    image = tiles.reshape(15, 20, side, side, channels).transpose(0, 2, 1, 3, 4).reshape(15 * side, 20 * side, channels)
    grid = declared_grid(20 * side, 15 * side, cells_x=20, cells_y=15)
    out = reduce_cells(image, grid, border=0.0)
    expected = np.stack([_two_means_one_cell(tile.reshape(-1, channels).astype(np.float32)) for tile in tiles])
    expected = np.clip(np.floor(expected + 0.5), 0, 255).astype(np.uint8).reshape(15, 20, channels)
    # Flat cells take the plain mean; these have spreads far above any flat limit.
    np.testing.assert_array_equal(out, expected)
