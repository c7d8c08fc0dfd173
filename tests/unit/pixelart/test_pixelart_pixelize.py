import json

import numpy as np
import pytest

from pixelgen.pixelart import (
    NATIVE_MAX_COLOURS,
    NATIVE_MIN_ONE_PIXEL_SHARE,
    PIXELIZE_ALGORITHM_VERSION,
    GridDetectionError,
    builtin_palette,
    pixelize,
)
from pixelgen.pixelart.grid import one_pixel_feature_share
from pixelgen.pixelart.options import PixelArtOptions


def _opaque(sprite):
    return np.concatenate(
        [sprite, np.full(sprite.shape[:2] + (1,), 255, np.uint8)], axis=2
    )


def test_clean_render_is_recovered_exactly(sprite_factory, upscaler):
    sprite, palette = sprite_factory(21, 48, 40)
    result = pixelize(
        upscaler(sprite, cell=8, phase=(3.0, 2.0)), size=(48, 40), palette=palette
    )
    np.testing.assert_array_equal(result.image, _opaque(sprite))
    report = result.report
    assert report["cells"] == [48, 40] and report["size"] == [48, 40]
    assert report["fallback"] is None and report["notes"] == []
    assert report["colors"] == len({tuple(c) for c in sprite.reshape(-1, 3)})


@pytest.mark.parametrize("cell", [6.0, 7.5, 10.3])
def test_degraded_render_is_recovered_exactly(sprite_factory, upscaler, degrader, cell):
    sprite, palette = sprite_factory(int(cell * 3), 64, 48)
    render = degrader(
        upscaler(sprite, cell=cell, phase=(1.0, 2.0)), seed=7, blur=0.7, noise=4.0
    )
    result = pixelize(render, size=(64, 48), palette=palette)
    assert result.report["fallback"] is None
    np.testing.assert_array_equal(result.image, _opaque(sprite))


@pytest.mark.parametrize("colors", ["auto", "keep"])
def test_without_palette_distinct_colours_stay_as_reduced(sprite_factory, upscaler, colors):
    sprite, _ = sprite_factory(22, 32, 32)
    result = pixelize(upscaler(sprite, cell=9), size=None, palette=None, options=PixelArtOptions(colors=colors))
    np.testing.assert_array_equal(result.image[..., :3], sprite)
    assert result.report["palette"] == colors


def test_auto_colours_merge_render_noise_keep_merges_nothing(sprite_factory, upscaler, degrader):
    sprite, palette = sprite_factory(31, 40, 40, colours=4)
    render = degrader(upscaler(sprite, cell=8.4, phase=(1.0, 3.0)), seed=3, blur=0.8, noise=5.0)
    auto = pixelize(render, size=None, palette=None)
    kept = pixelize(render, size=None, palette=None, options=PixelArtOptions(colors="keep"))
    assert auto.report["colors"] == 4
    assert kept.report["colors"] > 4
    # Each merged colour is one of the render's own cell colours, near its truth.
    assert auto.report["cells"] == [40, 40]


def test_low_confidence_is_a_warning_unless_a_minimum_is_asked(upscaler, degrader):
    # Two blocks on a flat backdrop, blurred: few edges, so a weak lattice.
    cells = np.full((20, 20, 3), 200, np.uint8)
    cells[5:9, 6:14] = (40, 60, 150)
    cells[12:15, 3:8] = (150, 40, 40)
    render = degrader(upscaler(cells, cell=7.0), seed=3, blur=1.0, noise=6.0)
    result = pixelize(render, size=None, palette=None)
    confidence = result.report["confidence"]
    assert 0 < confidence < 0.5
    assert len(result.report["warnings"]) == 1 and "low grid confidence" in result.report["warnings"][0]
    with pytest.raises(GridDetectionError, match=f"grid confidence {confidence:.2f} < 0.5"):
        pixelize(render, size=None, palette=None, options=PixelArtOptions(min_confidence=0.5, on_grid_failure="error"))
    # With a declared size to fall back on, the render is cut evenly instead.
    fallback = pixelize(render, size=(20, 20), palette=None, options=PixelArtOptions(min_confidence=0.99))
    assert fallback.report["fallback"].startswith("use_declared: grid confidence")
    assert fallback.image.shape == (20, 20, 4)
    # A confident grid gives no warning.
    clean = pixelize(upscaler(cells, cell=7.0), size=None, palette=None)
    assert clean.report["warnings"] == [] and clean.report["confidence"] >= 0.5


def test_transparent_background_from_flat_render():
    cells = np.full((24, 24, 3), 230, dtype=np.uint8)
    cells[6:18, 8:16] = (30, 30, 60)  # outline
    cells[7:17, 9:15] = (200, 60, 40)
    render = np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)
    palette = np.array([[30, 30, 60], [200, 60, 40]], dtype=np.uint8)
    result = pixelize(render, size=(24, 24), palette=palette, background="transparent")
    alpha = result.image[..., 3]
    np.testing.assert_array_equal(alpha > 0, np.any(cells != 230, axis=2))
    assert result.report["colors"] == 2


def test_rgba_render_with_soft_alpha(sprite_factory, upscaler):
    from scipy.ndimage import gaussian_filter

    sprite, palette = sprite_factory(23, 32, 32)
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[4:28, 6:26] = 255
    render = upscaler(np.concatenate([sprite, mask[..., None]], axis=2), cell=8)
    render[..., 3] = np.clip(
        gaussian_filter(render[..., 3].astype(np.float32), 1.5), 0, 255
    ).astype(np.uint8)
    result = pixelize(render, size=(32, 32), palette=palette)
    np.testing.assert_array_equal(result.image[..., 3], mask)
    visible = mask > 0
    np.testing.assert_array_equal(result.image[..., :3][visible], sprite[visible])


def test_noise_raises_in_error_mode():
    noise = np.random.default_rng(1).integers(
        0, 256, size=(256, 256, 3), dtype=np.uint8
    )
    with pytest.raises(GridDetectionError, match="no periodic pixel grid.*--cell N") as info:
        pixelize(noise, size=(32, 32), palette=None, options=PixelArtOptions(on_grid_failure="error"))
    assert info.value.confidence < 0.2
    assert isinstance(info.value, ValueError)


def test_pixel_art_on_an_irregular_grid_gets_an_output_not_a_refusal(
    sprite_factory, irregular_upscaler, degrader, monkeypatch
):
    from pixelgen.pixelart import engine
    from pixelgen.pixelart.grid import detect_grid

    sprite, _ = sprite_factory(0, 48, 48)
    render = degrader(irregular_upscaler(sprite, seed=0), seed=0, blur=0.7, noise=3.0)
    assert not detect_grid(render).periodic  # no lattice repeats: the refusal's condition until now
    result = pixelize(render, size=None, palette=None)
    assert result.image.shape[2] == 4 and result.report["fallback"] is None
    assert any("axis-aligned steps" in note for note in result.report["notes"])
    assert result.report["confidence"] == 0.0
    assert any("low grid confidence 0.00" in warning for warning in result.report["warnings"])
    # Confidence is still 0: a build with a declared size cuts it evenly, and error mode stops.
    fallback = pixelize(render, size=(48, 48), palette=None)
    assert fallback.report["fallback"] == "use_declared: grid confidence 0.00 < 0.5"
    with pytest.raises(GridDetectionError, match="grid confidence 0.00 < 0.5"):
        pixelize(render, size=(48, 48), palette=None, options=PixelArtOptions(on_grid_failure="error"))
    # Without the axis-aligned witness this render was refused as having no grid.
    monkeypatch.setattr(engine, "PIXEL_ART_EDGE_SHARE", 1.01)
    with pytest.raises(GridDetectionError, match="no periodic pixel grid"):
        pixelize(render, size=None, palette=None)


def test_pixel_art_at_one_pixel_per_cell_is_kept_as_it_is(sprite_factory, upscaler, degrader):
    # A game's own sprite, or pixelize's output run through it again.
    sprite, _ = sprite_factory(5, 64, 48)
    native = _opaque(sprite)
    result = pixelize(native, size=None, palette=None, options=PixelArtOptions(colors="keep"))
    np.testing.assert_array_equal(result.image, native)
    assert result.report["cells"] == [64, 48] and result.report["warnings"] == []
    assert any("already pixel art at one pixel per cell" in note for note in result.report["notes"])
    # The same with its own size declared; another declared size is searched for as before.
    assert pixelize(native, size=(64, 48), palette=None).report["cells"] == [64, 48]
    # The output of a render, pixelized again, is itself.
    first = pixelize(degrader(upscaler(sprite, cell=7.3, phase=(2.0, 1.0)), seed=1), size=None, palette=None)
    np.testing.assert_array_equal(pixelize(first.image, size=None, palette=None).image, first.image)
    # Render noise gives thousands of colours: a render is never taken for native art.
    render = degrader(upscaler(sprite, cell=7.3), seed=2)
    assert not any("already pixel art" in note for note in pixelize(render, size=None, palette=None).report["notes"])
    # Nor is a nearly clean upscale with few colours: it has no feature one pixel wide.
    faint = upscaler(sprite, cell=6.3).astype(np.int16) + np.random.default_rng(3).integers(-1, 2, (302, 403, 3))
    faint = np.clip(faint, 0, 255).astype(np.uint8)
    assert len(np.unique(faint.reshape(-1, 3), axis=0)) <= 1024
    assert pixelize(faint, size=None, palette=None).report["cells"] == [64, 48]


def test_noise_falls_back_to_declared_grid():
    noise = np.random.default_rng(2).integers(
        0, 256, size=(256, 256, 3), dtype=np.uint8
    )
    result = pixelize(noise, size=(32, 32), palette=builtin_palette("pico-8"))
    assert result.report["fallback"].startswith("use_declared: no periodic pixel grid")
    assert result.image.shape == (32, 32, 4)
    with pytest.raises(GridDetectionError, match="size"):
        pixelize(noise, size=None, palette=None)


def test_an_outline_drawn_over_a_thin_removed_backdrop_is_not_taken_for_a_new_backdrop():
    # A backdrop one cell wide around art that fills the render: once removed, the outline
    # covers nearly all of it, so the border of the result is mostly outline colour. A second
    # run must not fit a new backdrop to that and flood the near-black art beside it.
    rng = np.random.default_rng(0)
    palette = np.array([[200, 60, 50], [60, 140, 70], [50, 80, 190], [230, 190, 60]], np.uint8)
    art = palette[rng.integers(0, len(palette), size=(30, 40))]
    art[1:8, 1:12] = (1, 1, 1)
    art[0, :] = art[-1, :] = (200, 200, 205)
    art[:, 0] = art[:, -1] = (200, 200, 205)
    # Three cut corners: a sprite's outline, not a picture's rectangle on a mat (kept whole).
    corner = np.add.outer(np.arange(6), np.arange(6)) < 6
    art[1:7, -7:-1][corner[:, ::-1]] = art[-7:-1, 1:7][corner[::-1]] = (200, 200, 205)
    art[-7:-1, -7:-1][corner[::-1, ::-1]] = (200, 200, 205)
    options = PixelArtOptions(outline="#000000")
    first = pixelize(np.repeat(np.repeat(art, 8, 0), 8, 1), size=None, palette=None, background="transparent",
                     options=options)
    assert first.report["background"]["decision"] == "removed"
    again = pixelize(np.repeat(np.repeat(first.image, 2, 0), 2, 1), size=None, palette=None,
                     background="transparent", options=options)
    assert again.report["background"]["decision"] == "already-transparent"
    np.testing.assert_array_equal(again.image, first.image)


def test_given_cell_is_used(sprite_factory, upscaler):
    sprite, palette = sprite_factory(24, 30, 30)
    render = upscaler(sprite, cell=8, phase=(2.0, 2.0))
    result = pixelize(render, size=(30, 30), palette=palette, options=PixelArtOptions(cell=8))
    assert result.report["cell"] == [8.0, 8.0]
    np.testing.assert_array_equal(result.image[..., :3], sprite)


def test_size_mismatch_is_fitted_with_a_note(sprite_factory, upscaler):
    sprite, palette = sprite_factory(25, 30, 30)
    result = pixelize(upscaler(sprite, cell=8), size=(32, 32), palette=palette)
    assert result.image.shape == (32, 32, 4)
    assert result.report["cells"] == [30, 30]
    assert any("asset size is 32x32" in note for note in result.report["notes"])


def test_options_outline_and_specks():
    cells = np.zeros((16, 16, 4), dtype=np.uint8)
    cells[4:12, 4:12] = (200, 40, 40, 255)
    cells[1, 14] = (200, 40, 40, 255)  # a speck
    render = np.repeat(np.repeat(cells, 6, axis=0), 6, axis=1)
    result = pixelize(render, size=(16, 16), palette=None, options=PixelArtOptions(min_speck=2, outline='#000000'))
    out = result.image
    assert out[1, 14, 3] == 0
    assert tuple(out[3, 6]) == (0, 0, 0, 255) and tuple(out[6, 6]) == (200, 40, 40, 255)


def test_wrap_tile(sprite_factory, upscaler):
    sprite, palette = sprite_factory(26, 16, 16)
    tile = np.roll(upscaler(sprite, cell=8), (4, 3), axis=(0, 1))
    result = pixelize(tile, size=(16, 16), palette=palette, wrap=True)
    np.testing.assert_array_equal(result.image[..., :3], sprite)


def test_deterministic_bytes_and_json_report(sprite_factory, upscaler, degrader):
    sprite, palette = sprite_factory(27, 40, 40)
    render = degrader(upscaler(sprite, cell=7.3, phase=(2.0, 1.0)), seed=5)
    first = pixelize(render, size=(40, 40), palette=palette, options=PixelArtOptions(dither="bayer4"))
    second = pixelize(render.copy(), size=(40, 40), palette=palette, options=PixelArtOptions(dither="bayer4"))
    assert first.image.tobytes() == second.image.tobytes()
    report = json.loads(json.dumps(first.report))
    assert set(report) >= {
        "cell",
        "offset",
        "confidence",
        "size",
        "colors",
        "fallback",
        "notes",
        "timings",
    }
    assert set(report["timings"]) >= {
        "total_ms",
        "grid_ms",
        "reduce_ms",
        "palette_ms",
        "alpha_ms",
    }
    assert isinstance(PIXELIZE_ALGORITHM_VERSION, int)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"reduce": "average"}, "kcentroid"),
        ({"dither": "atkinson"}, "floyd-steinberg"),
        ({"on_grid_failure": "retry"}, "use_declared"),
        ({"anchor": "middle"}, "bottom-center"),
        ({"cell": 1}, "cell"),
        ({"outline": "red"}, "outline"),
        ({"min_confidence": 2.0}, "min_confidence"),
        ({"min_speck": 1.5}, "min_speck"),
    ],
)
def test_option_validation(options, match):
    with pytest.raises(ValueError, match=match):
        PixelArtOptions(**options)


@pytest.mark.parametrize(
    "call, match",
    [
        ({"background": "erase"}, "transparent"),
        ({"size": (0, 4)}, "size"),
        ({"wrap": "yes"}, "wrap"),
        ({"options": {"cell": 8}}, "PixelArtOptions"),
    ],
)
def test_call_validation(call, match):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        pixelize(image, **{"size": (4, 4), "palette": None, **call})


def test_image_type_errors():
    with pytest.raises(TypeError):
        pixelize(np.zeros((32, 32, 3), np.float32), size=(4, 4), palette=None)
    with pytest.raises(ValueError):
        pixelize(np.zeros((32, 32), np.uint8), size=(4, 4), palette=None)


def test_a_palette_png_upscale_with_dithered_specks_is_reduced_not_taken_for_native_art():
    # A render saved as a 12-colour palette PNG: few colours, and its dithering draws specks one
    # pixel wide, as native pixel art has; but a lattice repeats across all of it (confidence 1),
    # so it is an upscale.
    rng = np.random.default_rng(11)
    palette = rng.integers(0, 256, size=(12, 3), dtype=np.uint8)
    index = rng.integers(0, len(palette), size=(32, 40))
    runs = rng.random((32, 40)) < 0.6
    for x in range(1, 40):
        index[:, x] = np.where(runs[:, x], index[:, x - 1], index[:, x])
    cell = 5.73
    xs = np.minimum((np.arange(int(40 * cell)) / cell).astype(int), 39)
    ys = np.minimum((np.arange(int(32 * cell)) / cell).astype(int), 31)
    upscaled = index[ys[:, None], xs[None, :]]
    specks = rng.random(upscaled.shape) < 0.03
    render = palette[np.where(specks, (upscaled + 1) % len(palette), upscaled)]
    assert len(np.unique(render.reshape(-1, 3), axis=0)) <= NATIVE_MAX_COLOURS
    assert one_pixel_feature_share(render) >= NATIVE_MIN_ONE_PIXEL_SHARE
    result = pixelize(render, size=None, palette=None)
    assert result.report["cells"] == [40, 32]
    assert not any("already pixel art" in note for note in result.report["notes"])
    # Its output, run again as it is, is native art again (k = 1 of the idempotence property).
    again = pixelize(result.image, size=None, palette=None)
    np.testing.assert_array_equal(again.image, result.image)


def _palette_png_mug(*, cell: float, holes: float, seed: int = 3) -> np.ndarray:
    """A smoothly lit round object upscaled at ``cell``, its shading dithered into shades 3 levels
    apart (a render saved as a palette PNG) and pin holes punched in its alpha (a backdrop keyed out)."""
    rng = np.random.default_rng(seed)
    width, height = 38, 36
    y, x = np.mgrid[:height, :width]
    body = np.hypot((x + 0.5 - width / 2) / (0.42 * width), (y + 0.5 - height / 2) / (0.42 * height)) <= 1
    rim = body & ~(np.hypot((x + 0.5 - width / 2) / (0.42 * width - 1), (y + 0.5 - height / 2) / (0.42 * height - 1)) <= 1)
    light = np.clip(1.0 - 0.6 * np.hypot((x - 0.35 * width) / width, (y - 0.3 * height) / height), 0, 1)
    cells = np.zeros((height, width, 4))
    cells[..., :3] = np.array([225.0, 225.0, 222.0]) * light[..., None]
    cells[..., 3] = 255
    cells[rim, :3] = (40, 36, 44)
    cells[~body] = 0
    xs = np.minimum((np.arange(int(width * cell)) / cell).astype(int), width - 1)
    ys = np.minimum((np.arange(int(height * cell)) / cell).astype(int), height - 1)
    render = cells[ys[:, None], xs[None, :]]
    dither = rng.choice([-3.0, 0.0, 3.0], p=[0.1, 0.8, 0.1], size=render.shape[:2])
    render[..., :3] = np.floor((render[..., :3] + dither[..., None] * (render[..., 3:] > 0)) / 3 + 0.5) * 3
    render[(rng.random(render.shape[:2]) < holes) & (render[..., 3] > 0)] = 0
    return np.clip(render, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("cell, holes", [(20.48, 0.005), (12.8, 0.02)])
def test_a_palette_png_of_smooth_shading_is_reduced_at_any_lattice_confidence(cell, holes):
    # Few colours and 1-px features (the pin holes), as pixel art at its own size has, and a
    # lattice found at low confidence only (0.30-0.50 here); but its colours come in shades a
    # step apart, which pixel art's do not.
    from pixelgen.pixelart import detect_grid

    render = _palette_png_mug(cell=cell, holes=holes)
    assert len(np.unique(render.reshape(-1, 4), axis=0)) <= NATIVE_MAX_COLOURS
    assert one_pixel_feature_share(render) >= NATIVE_MIN_ONE_PIXEL_SHARE
    assert detect_grid(render).confidence < 0.9
    result = pixelize(render, size=None, palette=None)
    assert result.report["cells"] == [38, 36]
    assert not any("already pixel art" in note for note in result.report["notes"])
    again = pixelize(result.image, size=None, palette=None)
    np.testing.assert_array_equal(again.image, result.image)


def test_a_palette_png_on_a_large_flat_canvas_is_still_reduced():
    # The same render flattened onto an opaque canvas three times its size (a sprite placed on a
    # larger canvas). The canvas is one colour with no shade beside it; counted with the rest, its
    # pixels diluted the share of near-identical shades below the rule's 0.5, and the whole canvas
    # was kept as native art at one pixel per cell.
    from pixelgen.pixelart.engine import near_twin_share

    render = _palette_png_mug(cell=12.8, holes=0.02)
    height, width = render.shape[:2]
    canvas = np.empty((3 * height, 3 * width, 3), dtype=np.uint8)
    canvas[:] = (20, 90, 160)
    top, left = height, width // 2
    alpha = render[..., 3:] > 0
    canvas[top : top + height, left : left + width] = np.where(alpha, render[..., :3], canvas[top : top + height, left : left + width])
    result = pixelize(canvas, size=None, palette=None)
    assert not any("already pixel art" in note for note in result.report["notes"])
    cells_x, cells_y = result.report["cells"]
    assert abs(cells_x - 3 * 38) <= 1 and abs(cells_y - 3 * 36) <= 1
    assert near_twin_share(canvas) >= 0.5


def test_a_keep_palette_output_with_near_identical_shades_stays_native():
    # keep_output_19x18.png: pixelize's output, with colors="keep", of a render the idempotence
    # property generated (found by a search of 1,500 such renders). Every colour has a shade a
    # step away (each cell keeps its own mean), and the lattice search finds a spurious 3x6-cell
    # lattice on it; taken for a palette-PNG upscale, it came back 6x3 when run again as it is.
    from pathlib import Path

    from pixelgen.formats.png import decode_png
    from pixelgen.pixelart import detect_grid
    from pixelgen.pixelart.engine import near_twin_share

    output = decode_png((Path(__file__).parent / "keep_output_19x18.png").read_bytes())
    assert near_twin_share(output) >= 0.5 and detect_grid(output).periodic
    again = pixelize(output, size=None, palette=None, options=PixelArtOptions(colors="keep"))
    np.testing.assert_array_equal(again.image, output)
    assert any("already pixel art" in note for note in again.report["notes"])


def test_art_on_a_baked_checkerboard_stays_native_though_the_squares_make_a_lattice():
    # pixelize's output of a sprite sheet drawn on a baked fake-transparency checkerboard (two
    # greys in squares of 4x4 cells, as image models paint "transparency"): the squares repeat
    # across the whole image, a 4-px lattice at high confidence, which once overrode the native-art
    # rule and shrank the output 4x when run again. A pattern drawn at one pixel per cell repeats
    # every whole number of pixels, and the art has no shades a step apart.
    from pixelgen.pixelart import detect_grid
    from pixelgen.pixelart.engine import near_twin_share

    rng = np.random.default_rng(21)
    height, width = 136, 240
    y, x = np.mgrid[:height, :width]
    art = np.where((((y // 4) + (x // 4)) % 2 == 0)[..., None], np.uint8(52), np.uint8(88)).repeat(3, axis=2)
    colours = np.array([[20, 20, 30], [230, 200, 160], [40, 80, 200], [240, 240, 240], [200, 40, 40]], np.uint8)
    for left in (20, 80, 140, 200):  # four frames of a figure: outlined, runs of colour, one-pixel details
        figure = rng.integers(1, len(colours), size=(44, 16))
        runs = rng.random((44, 16)) < 0.7
        for row in range(1, 44):
            figure[row] = np.where(runs[row], figure[row - 1], figure[row])
        figure[[0, -1], :] = 0
        figure[:, [0, -1]] = 0
        art[40:84, left : left + 16] = colours[figure]
    assert near_twin_share(art) == 0.0
    lattice = detect_grid(art)
    assert lattice.periodic and lattice.confidence >= 0.9 and lattice.cells == (60, 34)
    result = pixelize(art, size=None, palette=None)
    assert result.report["cells"] == [width, height]
    assert any("already pixel art" in note for note in result.report["notes"])
    np.testing.assert_array_equal(result.image[..., :3], art)


def test_near_twin_share_counts_colours_as_rows_of_three_bytes_would():
    from pixelgen.pixelart.color import srgb_to_oklab
    from pixelgen.pixelart.engine import near_twin_share

    rng = np.random.default_rng(8)
    base = rng.integers(0, 256, (40, 3))
    # Half the colours have a shade a step away, half stand alone.
    shades = np.concatenate([base, np.clip(base[:20] + rng.integers(-3, 4, (20, 3)), 0, 255)])
    image = np.empty((50, 60, 4), dtype=np.uint8)
    image[..., :3] = shades[rng.integers(0, 60, (50, 60))]
    image[..., 3] = np.where(rng.random((50, 60)) < 0.2, 0, 255)
    opaque = image[..., 3] >= 128
    colours, counts = np.unique(image[..., :3][opaque], axis=0, return_counts=True)
    lab = srgb_to_oklab(np.ascontiguousarray(colours[None]))[0].astype(np.float64)
    squared = ((lab[:, None] - lab[None]) ** 2).sum(axis=-1)
    np.fill_diagonal(squared, np.inf)
    counts[np.argmax(counts)] = 0
    expected = float(counts[squared.min(axis=1) < 0.02**2].sum()) / float(counts.sum())
    assert 0.0 < expected < 1.0
    assert near_twin_share(image) == expected


@pytest.mark.parametrize(
    "cell, cells, confidence, twin_share, upscale",
    [
        # heldout31's infographic, shrunk to 2.39-px cells and saved as a 256-colour palette PNG:
        # a fractional lattice over 480 x 268 cells at 0.72-0.75, shades on 0.30 of its pixels.
        ((2.39, 2.389), (480, 268), 0.72, 0.30, True),
        ((2.39, 2.389), (480, 268), 0.72, 0.0, True),
        # A whole-pixel pattern the art draws (a checkerboard's squares) stays native art ...
        ((4.0, 4.0), (60, 34), 0.72, 0.0, False),
        # ... even fitted a few hundredths of a pixel off (heldout38's office sprite: squares the
        # render's drifting cells left 3-5 rows tall came back as 4.0 x 4.036 px at 1.0) ...
        ((4.0, 4.036), (60, 32), 1.0, 0.0, False),
        # ... as do the spurious lattices found on pixelize's own outputs: a few cells each way
        # (up to 0.54 on the real renders' outputs), or many at low confidence (0.26 at most).
        ((52.97, 54.61), (1, 3), 0.54, 0.0, False),
        ((7.39, 7.43), (30, 28), 0.26, 0.0, False),
    ],
)
def test_a_fractional_lattice_over_many_cells_makes_few_coloured_art_an_upscale(cell, cells, confidence, twin_share, upscale):
    from dataclasses import replace

    from pixelgen.pixelart.engine import _lattice_over_native
    from pixelgen.pixelart.grid import declared_grid

    width, height = round(cell[0] * cells[0]), round(cell[1] * cells[1])
    grid = replace(declared_grid(width, height, cells_x=cells[0], cells_y=cells[1]), confidence=confidence, method="detected")
    assert grid.cells == cells and grid.cell == pytest.approx(cell, rel=0.01)
    assert _lattice_over_native(grid, twin_share) is upscale


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_output_that_is_itself_an_upscale_is_reduced_again(seed):
    # Art resampled by a non-integer factor (3.275 px per art pixel, in blocks of 3 and 4 px), then
    # enlarged x8: the 8-px lattice is exact and found first, and its output, 131 x 131, is the
    # resampled art with no feature one pixel wide, which a second run reduces to the art. Pixelize
    # carries that second grid back onto the render, so its output comes back from its own pixels
    # (heldout33's cat, at 7.7-px cells for 23-px blocks, did not until engine 30).
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    field = np.kron(rng.random((11, 11)), np.ones((4, 4)))[:40, :40] + 0.3 * rng.random((40, 40))
    art = colours[np.minimum((field / field.max() * 6).astype(int), 5)]
    picks = np.floor(np.arange(131) * 40 / 131).astype(int)  # nearest resample to 131 px
    render = np.repeat(np.repeat(art[np.ix_(picks, picks)], 8, 0), 8, 1)

    result = pixelize(render, size=None, palette=None)

    assert result.image.shape[:2] == (40, 40)
    assert np.array_equal(result.image[..., :3], art)
    assert any("was itself an upscale" in note for note in result.report["notes"])
    again = pixelize(result.image, size=None, palette=None).image
    assert np.array_equal(again, result.image)


def test_a_small_few_coloured_image_without_a_lattice_is_kept_as_it_is_not_refused():
    # A parchment panel pixelized to 10 x 19 (heldout36's gridless backdrop): a frame, a plain
    # face, shaded top and bottom rows. No feature is one pixel wide and no lattice repeats, so
    # pixelize refused its own output until engine 30 (not idempotent at x1). Six distinct
    # colours with no shades a step apart and no lattice: art at its own size, kept whole.
    colours = np.array([[114, 81, 44], [140, 113, 71], [154, 130, 88], [168, 146, 103], [204, 184, 141],
                        [223, 215, 190]], dtype=np.uint8)
    index = np.full((19, 10), 5)
    index[:, [0, -1]] = 4
    index[1, :] = 4
    index[1, 2:8] = 5
    index[17, :] = 4
    index[17, 2:7] = 5
    index[0] = [0, 1, 2, 3, 3, 3, 2, 1, 1, 0]
    index[18] = [0, 1, 2, 3, 2, 3, 2, 2, 1, 0]
    panel = colours[index]

    for background in ("keep", "transparent"):
        result = pixelize(panel, size=None, palette=None, background=background)
        assert result.image.shape[:2] == (19, 10)
        assert np.array_equal(result.image[..., :3], panel)
        assert any("already pixel art at one pixel per cell" in note for note in result.report["notes"])
