import numpy as np
import pytest

from pixelgen.pixelart.grid import axis_aligned_edge_share, declared_grid, detect_grid, one_pixel_feature_share


@pytest.mark.parametrize("cell", [4, 6, 8, 11, 16])
def test_integer_cells_are_recovered_exactly(sprite_factory, upscaler, cell):
    sprite, _ = sprite_factory(cell, 48, 40)
    grid = detect_grid(upscaler(sprite, cell=cell))
    assert grid.cell == pytest.approx((cell, cell), abs=0.02)
    assert grid.cells == (48, 40)
    assert grid.cuts_x == tuple(k * cell for k in range(49))
    assert grid.confidence > 0.9


@pytest.mark.parametrize("cell", [5.5, 7.5, 9.3, 12.7])
def test_non_integer_cells(sprite_factory, upscaler, cell):
    sprite, _ = sprite_factory(int(cell * 10), 60, 50)
    image = upscaler(sprite, cell=cell)
    grid = detect_grid(image)
    assert grid.cell == pytest.approx((cell, cell), abs=0.02)
    assert grid.cells == (60, 50)
    expected = tuple(int(np.floor(k * cell + 0.5)) for k in range(61))
    assert grid.cuts_x == expected


@pytest.mark.parametrize("seed", [0, 1])
def test_cells_just_under_three_pixels_survive_jpeg(seed):
    # Gemini renders 1376x768 px with about 480 cells across: 2.87-px cells, saved as JPEG. Their
    # lattice must be proposed at all; otherwise a 3.3-px period wins.
    import io

    from PIL import Image

    rng = np.random.default_rng(seed)
    width, height, cell = 240, 134, 2.87
    palette = rng.integers(0, 256, size=(10, 3), dtype=np.uint8)
    index = rng.integers(0, len(palette), size=(height, width))
    runs = rng.random((height, width)) < 0.7  # runs of equal cells along rows and columns, as in art
    for x in range(1, width):
        index[:, x] = np.where(runs[:, x], index[:, x - 1], index[:, x])
    runs = rng.random((height, width)) < 0.5
    for y in range(1, height):
        index[y] = np.where(runs[y], index[y - 1], index[y])
    xs = np.minimum((np.arange(int(width * cell)) / cell).astype(int), width - 1)
    ys = np.minimum((np.arange(int(height * cell)) / cell).astype(int), height - 1)
    buffer = io.BytesIO()
    Image.fromarray(palette[index[ys[:, None], xs[None, :]]]).save(buffer, "JPEG", quality=85)
    grid = detect_grid(np.asarray(Image.open(buffer).convert("RGB")))
    assert grid.cells == (width, height)
    assert grid.cell == pytest.approx((cell, cell), abs=0.02)


def test_autocorrelation_proposes_no_lag_under_the_smallest_cell():
    # Edges on every other column (dithering, a 2-px texture) repeat most strongly at lag 2, but
    # no cell is that small outside exact upscales: the floor holds for every estimator.
    from pixelgen.pixelart.grid import _SMALLEST_CELL, _axis_candidates, _make_axis

    profile = np.random.default_rng(0).random(512) * 10
    profile[::2] += 30
    candidates = _axis_candidates(_make_axis(profile, False, dejpeg=False), _SMALLEST_CELL, 64.0)
    assert candidates and min(candidates) >= _SMALLEST_CELL


def test_cells_alternating_7_and_8_give_7_5(sprite_factory):
    sprite, _ = sprite_factory(3, 40, 40)
    widths = np.tile([7, 8], 20)
    cols = np.repeat(np.arange(40), widths)
    image = sprite[cols[:, None], cols[None, :]]
    grid = detect_grid(image)
    assert grid.cell == pytest.approx((7.5, 7.5), abs=0.02)
    assert grid.cuts_x == tuple(
        int(v) for v in np.concatenate([[0], np.cumsum(widths)])
    )


@pytest.mark.parametrize("phase", [(2.0, 3.0), (1.0, 0.0), (3.0, 1.0)])
def test_phase_is_found(sprite_factory, upscaler, phase):
    sprite, _ = sprite_factory(11, 40, 30)
    image = upscaler(sprite, cell=8, phase=phase)
    grid = detect_grid(image)
    assert grid.offset == (int(phase[0]), int(phase[1]))
    # A sliver narrower than half a cell at the left/top merges into the first cell.
    assert grid.cells == (40, 30)
    assert grid.cuts_x[1] == int(phase[0]) + 8


def test_blurred_noisy_render(sprite_factory, upscaler, degrader):
    sprite, _ = sprite_factory(5, 64, 64)
    image = degrader(
        upscaler(sprite, cell=9.4, phase=(2.0, 4.0)), seed=1, blur=0.8, noise=4.0
    )
    grid = detect_grid(image)
    assert grid.cell == pytest.approx((9.4, 9.4), abs=0.05)
    assert grid.cells == (64, 64)
    assert grid.confidence >= 0.5


def test_rgba_edges_count_through_alpha(sprite_factory, upscaler):
    sprite, _ = sprite_factory(8, 32, 32)
    alpha = np.where(np.random.default_rng(2).random((32, 32)) < 0.5, 255, 0).astype(
        np.uint8
    )
    rgba = np.concatenate([sprite, alpha[..., None]], axis=2)
    grid = detect_grid(upscaler(rgba, cell=10))
    assert grid.cells == (32, 32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_has_low_confidence(seed):
    noise = np.random.default_rng(seed).integers(
        0, 256, size=(512, 512, 3), dtype=np.uint8
    )
    assert detect_grid(noise).confidence < 0.2


def test_smooth_image_has_low_confidence():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(4)
    smooth = gaussian_filter(rng.normal(128, 60, (512, 512, 3)), (9, 9, 0))
    image = np.clip(smooth, 0, 255).astype(np.uint8)
    assert detect_grid(image).confidence < 0.3


def _discs(seed: int, size: int = 512) -> np.ndarray:
    """Overlapping anti-aliased discs: sharp edges in every direction, like a smooth illustration's."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.full((size, size, 3), 128.0)
    for _ in range(40):
        cx, cy = rng.uniform(0, size, 2)
        inside = np.clip(rng.uniform(15, 80) - np.hypot(xx - cx, yy - cy), 0, 1.5)[..., None] / 1.5
        image = image * (1 - inside) + rng.uniform(0, 255, 3) * inside
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def test_axis_aligned_edge_share_tells_pixel_steps_from_edges_in_every_direction(
    sprite_factory, irregular_upscaler, degrader
):
    sprite, _ = sprite_factory(0, 48, 48)
    # Pixel art on a grid that never repeats (cells 4-14 px), soft like a render: its steps run along the axes.
    irregular = degrader(irregular_upscaler(sprite, seed=0), seed=0, blur=0.7, noise=3.0)
    assert not detect_grid(irregular).periodic
    assert axis_aligned_edge_share(irregular) > 0.8
    # Edges in every direction put about 20 of 90 degrees' share within 10 degrees of an axis.
    assert 0.15 < axis_aligned_edge_share(_discs(0)) < 0.3
    noise = np.random.default_rng(1).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    assert 0.15 < axis_aligned_edge_share(noise) < 0.3
    # Too few strong edges to say anything.
    flat = np.full((64, 64, 3), 90, np.uint8)
    flat[20:30, 20:30] = 200
    assert axis_aligned_edge_share(flat) == 0.0
    # Transparency's edges count like colour's: a square on a transparent canvas is all axis-aligned steps.
    square = np.zeros((128, 128, 4), np.uint8)
    square[20:100, 30:110] = (40, 40, 40, 255)
    assert axis_aligned_edge_share(square) > 0.9


def test_one_pixel_features_are_in_pixel_art_at_its_own_size_never_in_an_upscale(sprite_factory, upscaler, degrader):
    sprite, _ = sprite_factory(2, 40, 30)
    assert one_pixel_feature_share(sprite) > 0.1
    for cell in (2, 3, 5.5):
        assert one_pixel_feature_share(upscaler(sprite, cell=cell)) == 0.0
    # A blur's ramps run between the ends of a step; noise stays under the margin.
    assert one_pixel_feature_share(degrader(upscaler(sprite, cell=6.0), seed=1, blur=0.8, noise=3.0)) < 0.01
    # A 1-px outline of a shape on a transparent canvas is all 1-px features across it.
    ring = np.zeros((20, 20, 4), np.uint8)
    ring[5:15, 5:15] = (250, 250, 250, 255)
    ring[6:14, 6:14] = (0, 0, 0, 0)
    assert one_pixel_feature_share(ring) > 0.4
    assert one_pixel_feature_share(np.full((8, 8, 3), 7, np.uint8)) == 0.0


def test_flat_image_has_zero_confidence():
    grid = detect_grid(np.full((64, 80, 3), 7, dtype=np.uint8))
    assert grid.confidence == 0.0
    assert grid.cuts_x == (0, 80) and grid.cuts_y == (0, 64)


def test_fixed_period_detects_phase_only(sprite_factory, upscaler):
    sprite, _ = sprite_factory(9, 40, 40)
    image = upscaler(sprite, cell=8, phase=(3.0, 2.0))
    grid = detect_grid(image, min_cell=8, max_cell=8)
    assert grid.cell == (8.0, 8.0)
    assert grid.offset == (3, 2)


def test_wrap_finds_grid_of_rolled_tile(sprite_factory, upscaler):
    sprite, _ = sprite_factory(12, 24, 24)
    tile = upscaler(sprite, cell=8)
    rolled = np.roll(tile, (5, 3), axis=(0, 1))
    grid = detect_grid(rolled, wrap=True)
    assert grid.cell == pytest.approx((8.0, 8.0))
    assert grid.offset == (3, 5)
    assert grid.cuts_x == tuple(range(0, 193, 8))
    # Rolling back by the offset restores cell alignment.
    realigned = np.roll(rolled, (-grid.offset[1], -grid.offset[0]), axis=(0, 1))
    np.testing.assert_array_equal(realigned, tile)


def test_declared_grid_rounds_even_cuts():
    grid = declared_grid(10, 7, cells_x=4, cells_y=2)
    # 10/4 = 2.5 -> cuts 0, 2.5, 5, 7.5, 10 rounded half up.
    assert grid.cuts_x == (0, 3, 5, 8, 10)
    assert grid.cuts_y == (0, 4, 7)
    assert grid.cell == (2.5, 3.5)
    assert grid.method == "declared"
    with pytest.raises(ValueError):
        declared_grid(4, 4, cells_x=5, cells_y=1)
    with pytest.raises(ValueError):
        declared_grid(4, 4, cells_x=0, cells_y=1)


def test_input_validation():
    with pytest.raises(TypeError):
        detect_grid(np.zeros((16, 16, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        detect_grid(np.zeros((16, 16), dtype=np.uint8))
    with pytest.raises(ValueError):
        detect_grid(np.zeros((16, 16, 3), dtype=np.uint8), min_cell=1)
    with pytest.raises(ValueError):
        detect_grid(np.zeros((16, 16, 3), dtype=np.uint8), min_cell=8, max_cell=4)


def test_shrink_leaves_an_image_alone_when_only_one_axis_is_on_a_lattice():
    from pixelgen.pixelart.grid import shrink_exact_upscale

    # Columns change every third pixel; rows change at 2, 3 and 4. Cutting both axes by 3 would
    # drop the row of 19s (an output found so by the idempotence property lost it when run again).
    values = np.array([[219] * 6, [219] * 6, [119, 119, 19, 19, 19, 119], [19] * 6, [219] * 6, [219] * 6], np.uint8)
    image = np.repeat(values[..., None], 3, axis=2)
    shrunk, factor = shrink_exact_upscale(image)
    assert factor == 1 and np.array_equal(shrunk, image)
    # Both axes on the lattice: an upscale, reduced.
    upscaled = np.repeat(np.repeat(image, 3, axis=0), 3, axis=1)
    shrunk, factor = shrink_exact_upscale(upscaled)
    assert factor == 3 and np.array_equal(shrunk, image)


def test_cell_residuals_match_a_direct_sum_and_merges_read_from_the_crossings():
    from pixelgen.pixelart.grid import _Cells, _CellModel

    rng = np.random.default_rng(3)
    planes = rng.integers(0, 256, (3, 61, 83)).astype(np.uint8)
    model = _CellModel(planes)
    cuts_x = (0, 4, 9, 13, 18, 22, 27, 31, 36, 40, 45, 49, 54, 58, 63, 67, 72, 76, 81)
    cuts_y = (2, 7, 12, 18, 23, 28, 34, 39, 44, 50, 55, 60)
    direct = 0.0
    for y0, y1 in zip(cuts_y, cuts_y[1:]):
        for x0, x1 in zip(cuts_x, cuts_x[1:]):
            cell = planes[:, y0:y1, x0:x1].astype(np.float64)
            direct += float(((cell - cell.mean(axis=(1, 2), keepdims=True)) ** 2).sum())
    assert model.residual(cuts_x, cuts_y) == pytest.approx(direct, rel=1e-9)
    # A merged grid keeps every k-th cut: read from the base grid's crossings it
    # must give the very bits a residual of those cuts gives (the output depends on them).
    cells = _Cells(model, cuts_x, cuts_y)
    for k, phase in ((2, 0), (2, 1), (3, 2)):
        keep_x = [0, *range(1 + phase, len(cuts_x) - 1, k), len(cuts_x) - 1]
        keep_y = [0, *range(1 + phase, len(cuts_y) - 1, k), len(cuts_y) - 1]
        merged = model.residual(tuple(cuts_x[i] for i in keep_x), tuple(cuts_y[i] for i in keep_y))
        assert cells.residual(keep_x, keep_y) == merged


def test_an_exact_fit_has_a_residual_of_exactly_zero():
    # Cells of one colour each: their squared sums over the area are whole
    # numbers, so the residual is 0 to the bit at the true cuts and at a
    # divisor's, whatever the cell size. (Multiplying by a rounded 1 / area,
    # as engines up to 26 did, left 7.6e-6 on the 33rd of these random sheets.)
    from pixelgen.pixelart.grid import _CellModel

    rng = np.random.default_rng(1)
    for _ in range(33):
        cell, width, height = (int(v) for v in (rng.integers(3, 40), rng.integers(5, 40), rng.integers(5, 40)))
        art = rng.integers(0, 256, (3, height, width)).astype(np.uint8)
        model = _CellModel(np.repeat(np.repeat(art, cell, axis=1), cell, axis=2))
        cuts_x, cuts_y = tuple(range(0, width * cell + 1, cell)), tuple(range(0, height * cell + 1, cell))
        assert model.residual(cuts_x, cuts_y) == 0.0
        assert model.residual(cuts_x[::2] + (width * cell,) * (width % 2), cuts_y) > 0.0


def test_the_coarsest_exact_lattice_comes_first_unless_a_whole_pixel_factor_is_known():
    # heldout22's panel of nearest-enlarged sprites, whose phase shifts from tile to tile: the
    # knee ranked 9.42-px cells first and 18.40-px cells second, both exact (every cell flat).
    # The finer lattice only splits flat cells, so the coarser is the grid.
    from pixelgen.pixelart.grid import _AxisGrid, _coarsest_exact_first, _Fit, _Hypothesis

    def hypothesis(cell: float, residual: float, cost: float, *, factor: bool = False) -> _Hypothesis:
        axis = _AxisGrid(axis=None, fit=_Fit(period=cell, phase=0.0, score=0.5, z=5.0), offset=0,
                         cuts=(0, 100), exact=factor)
        return _Hypothesis(axis, axis, cost, residual)

    half, cell, third = hypothesis(9.42, 0.0, -5.82), hypothesis(18.40, 0.0, -5.81), hypothesis(6.23, 0.0, -5.63)
    assert _coarsest_exact_first([half, cell, third]) == [cell, half, third]
    # A coarser lattice that is not exact, or not coarser on both axes by half again, changes nothing.
    blurred = hypothesis(18.40, 250.0, -5.81)
    assert _coarsest_exact_first([half, blurred, third]) == [half, blurred, third]
    assert _coarsest_exact_first([cell, third]) == [cell, third]
    # Nor when the best is not exact, or is a nearest-neighbour upscale's whole-pixel factor.
    soft = hypothesis(9.42, 80.0, -5.82)
    assert _coarsest_exact_first([soft, cell]) == [soft, cell]
    factor = hypothesis(9.0, 0.0, -5.82, factor=True)
    assert _coarsest_exact_first([factor, cell]) == [factor, cell]


def test_a_set_shares_the_coarsest_exact_lattice_as_one_image_does():
    # detect_grid_joint on heldout22's panel alone (or with its mirror image) shared the 9.30-px
    # cells, both lattices exact in each image; detect_grid gives 18.40 px. The set's rule is the same.
    from pixelgen.pixelart.grid import _AxisGrid, _coarsest_exact_shared, _Fit, _Hypothesis

    def hypothesis(cell: float, residual: float, cost: float, *, factor: bool = False) -> _Hypothesis:
        axis = _AxisGrid(axis=None, fit=_Fit(period=cell, phase=0.0, score=0.5, z=5.0), offset=0,
                         cuts=(0, 100), exact=factor)
        return _Hypothesis(axis, axis, cost, residual)

    half, cell = (9.30, 9.30), (18.40, 18.40)
    candidates = {half, cell}
    both_exact = [hypothesis(9.30, 0.0, -5.8), hypothesis(18.40, 0.0, -5.7)]
    assert _coarsest_exact_shared([both_exact, both_exact], half, candidates) == cell
    # One frame where the coarser lattice leaves colour inside a cell: the finer shared cell stands.
    blurred = [hypothesis(9.30, 0.0, -5.8), hypothesis(18.40, 40.0, -5.7)]
    assert _coarsest_exact_shared([both_exact, blurred], half, candidates) == half
    # A whole-pixel factor in any frame is already the coarsest lattice holding every change.
    factor = [hypothesis(9.30, 0.0, -5.8, factor=True), hypothesis(18.40, 0.0, -5.7)]
    assert _coarsest_exact_shared([both_exact, factor], half, candidates) == half
    # Not half again as coarse, or a soft shared cell: unchanged.
    near = both_exact[:1] + [hypothesis(12.0, 0.0, -5.7)]
    assert _coarsest_exact_shared([near], half, {half, (12.0, 12.0)}) == half
    soft = [hypothesis(9.30, 80.0, -5.8), hypothesis(18.40, 0.0, -5.7)]
    assert _coarsest_exact_shared([soft], half, candidates) == half
    assert _coarsest_exact_shared([both_exact], None, candidates) is None
