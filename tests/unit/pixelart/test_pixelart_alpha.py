import numpy as np
import pytest

from pixelgen.pixelart.alpha import (
    add_outline,
    binarize_alpha,
    label_components,
    remove_background,
    remove_specks,
    to_rgba,
    trim_and_place,
)


def _ring_sprite(size=40, background=(240, 240, 240)):
    """Flat background, a dark 1-px-thick ring with an inside the colour of the background."""
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = background
    image[10:30, 10:30] = (20, 20, 60)  # outline ring
    image[11:29, 11:29] = background  # interior same colour as the background
    image[15:20, 15:20] = (200, 50, 50)
    return image


def test_flood_fill_stops_at_the_outline():
    out = remove_background(_ring_sprite(), tolerance=0.08)
    assert out.shape == (40, 40, 4)
    assert out[0:10, :, 3].max() == 0 and out[:, 30:, 3].max() == 0
    # The ring and everything inside it stay, even the background-coloured interior.
    assert out[10:30, 10:30, 3].min() == 255


def test_flood_fill_handles_faint_gradient_and_noise():
    rng = np.random.default_rng(0)
    image = _ring_sprite().astype(np.int16)
    image += np.linspace(-10, 10, 40).astype(np.int16)[None, :, None]
    image += rng.integers(-3, 4, size=image.shape).astype(np.int16)
    out = remove_background(np.clip(image, 0, 255).astype(np.uint8), tolerance=0.08)
    assert out[0:10, :, 3].max() == 0
    assert out[10:30, 10:30, 3].min() == 255


def test_flood_fill_does_not_leak_through_a_diagonal_gap():
    image = np.full((9, 9, 3), 255, dtype=np.uint8)
    # A diamond outline: neighbours only diagonally, background colour inside.
    for y, x in [
        (1, 4),
        (2, 3),
        (2, 5),
        (3, 2),
        (3, 6),
        (4, 1),
        (4, 7),
        (5, 2),
        (5, 6),
        (6, 3),
        (6, 5),
        (7, 4),
    ]:
        image[y, x] = 0
    out = remove_background(image, tolerance=0.05)
    assert out[4, 4, 3] == 255  # the centre is enclosed (4-connectivity fill)
    assert out[0, 0, 3] == 0


def test_remove_background_keeps_existing_transparency():
    image = np.zeros((6, 6, 4), dtype=np.uint8)
    image[2:4, 2:4] = (255, 0, 0, 255)
    out = remove_background(image, tolerance=0.05)
    np.testing.assert_array_equal(out[..., 3] > 0, image[..., 3] > 0)


def test_binarize_alpha():
    image = np.array(
        [[[10, 20, 30, 127], [10, 20, 30, 128], [1, 2, 3, 255]]], dtype=np.uint8
    )
    out = binarize_alpha(image)
    np.testing.assert_array_equal(
        out[0], [[0, 0, 0, 0], [10, 20, 30, 255], [1, 2, 3, 255]]
    )
    with pytest.raises(ValueError, match="RGBA"):
        binarize_alpha(image[..., :3])


def test_remove_specks():
    image = np.zeros((10, 10, 4), dtype=np.uint8)
    image[1:5, 1:5] = (9, 9, 9, 255)  # 16 px: stays
    image[8, 1] = (9, 9, 9, 255)  # 1 px: goes
    image[6, 6] = image[7, 7] = (
        9,
        9,
        9,
        255,
    )  # diagonal pair (8-connected, 2 px): goes at 3
    out = remove_specks(image, min_size=3)
    assert out[1:5, 1:5, 3].min() == 255
    assert out[8, 1, 3] == 0 and out[6, 6, 3] == 0 and out[7, 7, 3] == 0
    np.testing.assert_array_equal(out[8, 1], 0)


def test_remove_specks_wrap_joins_across_the_seam():
    image = np.zeros((8, 8, 4), dtype=np.uint8)
    image[3, 0] = image[3, 7] = (
        1,
        1,
        1,
        255,
    )  # one 2-px region across the vertical seam
    assert remove_specks(image, min_size=2, wrap=False)[3, 0, 3] == 0
    assert remove_specks(image, min_size=2, wrap=True)[3, 0, 3] == 255


def test_add_outline():
    image = np.zeros((5, 5, 4), dtype=np.uint8)
    image[2, 2] = (200, 0, 0, 255)
    out = add_outline(image, color=(0, 0, 0))
    expected = np.zeros((5, 5), dtype=bool)
    expected[2, 2] = expected[1, 2] = expected[3, 2] = expected[2, 1] = expected[
        2, 3
    ] = True
    np.testing.assert_array_equal(out[..., 3] > 0, expected)
    assert tuple(out[1, 2]) == (0, 0, 0, 255) and tuple(out[2, 2]) == (200, 0, 0, 255)


def test_add_outline_wrap_crosses_the_edge():
    image = np.zeros((6, 6, 4), dtype=np.uint8)
    image[0:2, 0] = (200, 0, 0, 255)  # shape touching the left and top edges
    plain = add_outline(image, color=(0, 0, 255))
    tiled = add_outline(image, color=(0, 0, 255), wrap=True)
    assert plain[0, 5, 3] == 0 and plain[5, 0, 3] == 0
    assert tuple(tiled[0, 5]) == (0, 0, 255, 255)  # left neighbour across the seam
    assert tuple(tiled[5, 0]) == (0, 0, 255, 255)  # top neighbour across the seam
    with pytest.raises(ValueError):
        add_outline(image, color=(0, 0, 300))


@pytest.mark.parametrize(
    "anchor, origin",
    [
        ("bottom-center", (1, 3)),
        ("top-left", (0, 0)),
        ("center", (1, 1)),
        ("bottom-right", (3, 3)),
        ("center-right", (3, 1)),
    ],
)
def test_trim_and_place(anchor, origin):
    image = np.zeros((10, 10, 4), dtype=np.uint8)
    image[4:7, 5:8] = (1, 2, 3, 255)  # 3x3 content
    out = trim_and_place(image, size=(6, 6), anchor=anchor)
    ys, xs = np.nonzero(out[..., 3])
    assert (xs.min(), ys.min()) == origin and out[..., 3].sum() == 9 * 255


def test_trim_and_place_too_large():
    image = np.zeros((10, 10, 4), dtype=np.uint8)
    image[:, :] = (1, 1, 1, 255)
    with pytest.raises(ValueError, match="larger"):
        trim_and_place(image, size=(4, 4), anchor="center")


def test_label_components_wrap_corners():
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 0] = mask[3, 3] = True  # diagonal neighbours across both seams
    assert label_components(mask, connectivity=8, wrap=True)[1] == 1
    assert label_components(mask, connectivity=8, wrap=False)[1] == 2
    assert label_components(mask, connectivity=4, wrap=True)[1] == 2


def test_to_rgba_and_dtype_errors():
    assert to_rgba(np.zeros((2, 2, 3), np.uint8))[..., 3].min() == 255
    with pytest.raises(TypeError):
        remove_background(np.zeros((4, 4, 3), np.float32), tolerance=0.1)


def _sprite_on_backdrop() -> np.ndarray:
    cells = np.full((24, 24, 3), 232, np.uint8)
    cells[4:20, 6:18] = (30, 24, 40)  # outline
    cells[5:19, 7:17] = (200, 70, 50)
    cells[9:13, 10:14] = (232, 232, 232)  # an enclosed region of the backdrop's colour
    return cells


def test_a_sprite_backdrop_is_removed_but_not_its_enclosed_regions():
    from pixelgen.pixelart import find_background

    cells = _sprite_on_backdrop()
    decision = find_background(cells, tolerance=0.08)
    assert decision.kind == "removed" and decision.note is None
    expected = np.ones((24, 24), bool)
    expected[4:20, 6:18] = False
    np.testing.assert_array_equal(decision.mask, expected)
    # Run again on the result: the backdrop is already gone, nothing more goes.
    again = find_background(remove_background(cells, tolerance=0.08), tolerance=0.08)
    assert again.kind == "already-transparent" and not again.mask.any()


def test_a_scene_keeps_its_background_and_says_so():
    from pixelgen.pixelart import find_background

    rng = np.random.default_rng(3)
    # Sky on top, varied ground below, a lake: the border is not one colour.
    scene = np.empty((30, 40, 3), np.uint8)
    scene[:12] = (120, 180, 235)
    scene[12:] = rng.choice(np.array([[60, 120, 50], [90, 70, 40], [70, 140, 60]], np.uint8), size=(18, 40))
    scene[20:26, 5:30] = (110, 170, 230)
    decision = find_background(scene, tolerance=0.08)
    assert decision.kind == "scene" and not decision.mask.any()
    assert "scene" in decision.note and decision.uniform_share < 0.75
    assert find_background(scene, tolerance=0.08, wrap=True).kind == "tile"


def test_pixelize_keeps_a_scene_whole_and_is_stable():
    from pixelgen.pixelart import pixelize

    rng = np.random.default_rng(4)
    scene = rng.choice(np.array([[60, 120, 50], [90, 70, 40], [70, 140, 60], [120, 180, 235]], np.uint8), size=(30, 40))
    render = np.repeat(np.repeat(scene, 8, axis=0), 8, axis=1)
    result = pixelize(render, size=None, palette=None, background="transparent")
    assert (result.image[..., 3] == 255).all()
    assert result.report["background"]["decision"] == "scene"
    assert any("looks like a scene" in note for note in result.report["notes"])


def _sky_over(land_rows: slice, land_cols: slice, *, size: tuple[int, int] = (40, 48),
              shape: np.ndarray | None = None) -> np.ndarray:
    """Cells of a flat sky with varied land in ``land_rows`` x ``land_cols`` (only where ``shape`` is true)."""
    rng = np.random.default_rng(5)
    cells = np.full((*size, 3), (120, 180, 235), np.uint8)
    land = rng.choice(np.array([[60, 120, 50], [90, 70, 40], [70, 140, 60], [30, 24, 40]], np.uint8), size=size)
    where = np.zeros(size, bool)
    where[land_rows, land_cols] = True if shape is None else shape
    cells[where] = land[where]
    return cells


def _half_disc(height: int, width: int) -> np.ndarray:
    """The top half of an ellipse, as wide as ``width`` and ``height`` tall: a figure standing on its base."""
    y, x = np.mgrid[:height, :width]
    return ((x + 0.5 - width / 2) / (width / 2)) ** 2 + ((y + 0.5 - height) / height) ** 2 <= 1


def test_land_running_off_both_sides_makes_a_scene_even_under_a_uniform_sky():
    from pixelgen.pixelart import find_background

    # A strip of land across the whole width between sky and sea of one colour: 85 % of the
    # border is that colour, so border uniformity alone calls it a backdrop.
    scene = _sky_over(slice(16, 22), slice(None))
    decision = find_background(scene, tolerance=0.08)
    assert decision.uniform_share >= 0.8
    assert decision.kind == "scene" and not decision.mask.any()
    assert decision.runs_off == "left and right" and "runs off its left and right edges" in decision.note
    # The same standing up: a tower from top to bottom.
    tower = _sky_over(slice(None), slice(20, 26))
    assert find_background(tower, tolerance=0.08).runs_off == "top and bottom"


def test_a_sprite_that_touches_one_edge_or_grazes_two_keeps_losing_its_backdrop():
    from pixelgen.pixelart import find_background

    # Feet on the bottom edge: a sprite cropped at one side is still a sprite.
    standing = _sky_over(slice(10, None), slice(18, 30), shape=_half_disc(30, 12))
    assert find_background(standing, tolerance=0.08).kind == "removed"
    # A long weapon whose tips touch both sides over less than a tenth of each.
    blade = np.ones((3, 48), bool)
    blade[[0, 2], :2] = blade[[0, 2], -2:] = False  # tapering to the tips
    weapon = _sky_over(slice(18, 21), slice(None), shape=blade)
    decision = find_background(weapon, tolerance=0.08)
    assert decision.kind == "removed" and decision.mask[0].all() and not decision.mask[19].any()


def _matted(picture: np.ndarray, *, mat: int = 4, colour: tuple[int, int, int] = (205, 200, 190)) -> np.ndarray:
    """``picture`` in the middle of a flat mat ``mat`` cells wide."""
    height, width = picture.shape[:2]
    cells = np.full((height + 2 * mat, width + 2 * mat, 3), colour, np.uint8)
    cells[mat:-mat, mat:-mat] = picture
    return cells


def test_a_scene_on_a_mat_or_in_a_frame_is_kept_whole():
    from pixelgen.pixelart import find_background

    # A landscape on a plain mat: the border is one colour all round and nothing runs off an
    # edge, but what the mat surrounds fills a rectangle and spreads over many colours.
    landscape = _sky_over(slice(12, None), slice(None), size=(24, 32))
    decision = find_background(_matted(landscape), tolerance=0.08)
    assert decision.uniform_share == 1.0 and decision.runs_off is None
    assert decision.kind == "scene" and decision.framed and not decision.mask.any()
    assert "framed or matted scene" in decision.note and 'background "remove"' in decision.note
    # A dark frame line between mat and picture is part of the rectangle.
    framed = _matted(landscape, mat=1, colour=(90, 30, 30))
    assert find_background(_matted(framed), tolerance=0.08).framed


def test_a_ui_panel_or_a_sprite_with_straight_sides_still_loses_its_backdrop():
    from pixelgen.pixelart import find_background

    # A panel: a frame line round a flat face with a few lines of text. It fills its
    # rectangle too, but one colour covers most of it.
    panel = np.full((16, 28, 3), (60, 70, 120), np.uint8)
    panel[[0, -1], :] = panel[:, [0, -1]] = (240, 220, 160)
    panel[4:6, 3:20] = panel[9:11, 3:24] = (250, 250, 250)
    decision = find_background(_matted(panel), tolerance=0.08)
    assert decision.kind == "removed" and not decision.framed
    expected = np.ones((24, 36), bool)
    expected[4:-4, 4:-4] = False
    np.testing.assert_array_equal(decision.mask, expected)
    # Rounded corners, as a character's outline has everywhere: not a rectangle.
    rounded = _sky_over(slice(4, 36), slice(8, 40), shape=np.vstack([_half_disc(16, 32), np.ones((16, 32), bool)]))
    assert find_background(rounded, tolerance=0.08).kind == "removed"


def test_remove_takes_the_border_colour_away_where_transparent_would_keep_a_scene():
    from pixelgen.pixelart import find_background

    # A sprite cut by two edges, or a border that is not one colour: "transparent" keeps it
    # and says how to remove it anyway; force removes the border colour's connected region.
    scene = _sky_over(slice(16, 22), slice(None))
    kept = find_background(scene, tolerance=0.08)
    assert kept.kind == "scene" and 'background "remove"' in kept.note
    forced = find_background(scene, tolerance=0.08, force=True)
    expected = np.ones((40, 48), bool)
    expected[16:22] = False
    assert forced.kind == "removed"
    np.testing.assert_array_equal(forced.mask, expected)
    mixed = _sky_over(slice(30, None), slice(None))  # ground along the whole bottom: 71 % uniform
    assert find_background(mixed, tolerance=0.08).uniform_share < 0.8
    assert find_background(mixed, tolerance=0.08, force=True).mask[:30].all()
    # Once anything on the border is transparent, forcing again takes nothing more: the
    # next border colour (the land) is not a backdrop.
    again = find_background(remove_background(scene, tolerance=0.08, force=True), tolerance=0.08, force=True)
    assert again.kind == "already-transparent" and not again.mask.any()


def test_pixelize_remove_is_stable_on_its_own_upscale():
    from pixelgen.pixelart import pixelize

    render = np.repeat(np.repeat(_sky_over(slice(16, 24), slice(None)), 7, axis=0), 7, axis=1)
    first = pixelize(render, size=None, palette=None, background="remove")
    assert first.report["background"]["decision"] == "removed"
    assert (first.image[:16, :, 3] == 0).all() and (first.image[16:24, :, 3] == 255).all()
    for k in (1, 2, 3):
        again = pixelize(np.repeat(np.repeat(first.image, k, axis=0), k, axis=1), size=None, palette=None,
                         background="remove")
        np.testing.assert_array_equal(again.image, first.image)


def test_pixelize_keeps_land_between_sky_and_sea_whole_and_stable():
    from pixelgen.pixelart import pixelize

    render = np.repeat(np.repeat(_sky_over(slice(16, 24), slice(None)), 7, axis=0), 7, axis=1)
    first = pixelize(render, size=None, palette=None, background="transparent")
    assert first.image.shape[:2] == (40, 48) and (first.image[..., 3] == 255).all()
    assert first.report["background"]["decision"] == "scene"
    for k in (1, 2, 3):
        again = pixelize(np.repeat(np.repeat(first.image, k, axis=0), k, axis=1), size=None, palette=None,
                         background="transparent")
        np.testing.assert_array_equal(again.image, first.image)


def _assert_kept_whole_and_stable(cells: np.ndarray, scale: int, why: str) -> np.ndarray:
    """pixelize keeps the ``scale`` x upscale of ``cells`` whole with ``background="transparent"``, saying
    ``why``, and so again on its output's upscales; returns the render."""
    from pixelgen.pixelart import pixelize

    render = np.repeat(np.repeat(cells, scale, axis=0), scale, axis=1)
    first = pixelize(render, size=None, palette=None, background="transparent")
    assert first.image.shape[:2] == cells.shape[:2] and (first.image[..., 3] == 255).all()
    assert first.report["background"]["decision"] == "scene"
    assert any(why in note for note in first.report["notes"])
    for k in (1, 2, 3):
        again = pixelize(np.repeat(np.repeat(first.image, k, axis=0), k, axis=1), size=None, palette=None,
                         background="transparent")
        np.testing.assert_array_equal(again.image, first.image)
    return render


def test_pixelize_keeps_a_matted_picture_whole_and_stable():
    from pixelgen.pixelart import pixelize

    cells = _matted(_sky_over(slice(12, None), slice(None), size=(24, 32)))
    render = _assert_kept_whole_and_stable(cells, 7, "framed or matted scene")
    removed = pixelize(render, size=None, palette=None, background="remove")
    assert (removed.image[:4, :, 3] == 0).all() and (removed.image[4:-4, 4:-4, 3] == 255).all()


def test_when_the_cells_colours_give_no_backdrop_the_final_colours_do():
    from pixelgen.pixelart import find_background

    # After the palette the border is one colour; before it, two colours far apart alternated
    # along it, whose fitted colour is a blend no pixel is near. Flooding nothing would leave
    # the backdrop to a second run, which sees the final colours alone.
    final = np.full((20, 24, 3), (200, 200, 200), np.uint8)
    final[6:14, 8:16] = (40, 60, 160)
    cells = final.copy()
    ring = np.zeros((20, 24), bool)
    ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = True
    stripes = ring & (np.add.outer(np.arange(20), np.arange(24)) % 2 == 0)
    cells[ring] = (250, 120, 120)
    cells[stripes] = (150, 250, 250)
    expected = np.ones((20, 24), bool)
    expected[6:14, 8:16] = False
    for force in (False, True):
        decision = find_background(final, tolerance=0.08, colours_of=cells, force=force)
        assert decision.kind == "removed"
        np.testing.assert_array_equal(decision.mask, expected)


def _lit_room(*, fade: bool, size: tuple[int, int] = (40, 48)) -> np.ndarray:
    """Cells of a room lit in the middle on a near-black surround: fading into it (a night scene) or cut out of it."""
    rng = np.random.default_rng(8)
    height, width = size
    colours = rng.choice(np.array([[200, 120, 60], [150, 90, 70], [220, 180, 90], [120, 100, 140]], np.float64),
                         size=size)
    y, x = np.mgrid[:height, :width]
    distance = np.hypot((x + 0.5 - width / 2) / (0.4 * width), (y + 0.5 - height / 2) / (0.4 * height))
    light = np.clip(1.0 - distance, 0.0, 1.0) if fade else (distance <= 1.0).astype(np.float64)
    cells = np.floor(colours * light[..., None] + 0.5)
    return np.maximum(cells, (6, 4, 16)).astype(np.uint8)  # the surround: one near-black


def test_a_night_scene_fading_into_its_dark_surround_is_kept_whole():
    from pixelgen.pixelart import find_background

    # Pixel for pixel a picture on a uniform near-black backdrop that nothing runs off; but the
    # picture darkens into the surround, with no edge where the flood would stop.
    decision = find_background(_lit_room(fade=True), tolerance=0.08)
    assert decision.uniform_share == 1.0 and decision.runs_off is None and not decision.framed
    assert decision.kind == "scene" and decision.fades and not decision.mask.any()
    assert "night or vignetted scene" in decision.note and 'background "remove"' in decision.note
    # The same room cut out at full light is a sprite on black: its edge stands out.
    assert find_background(_lit_room(fade=False), tolerance=0.08).kind == "removed"


def test_pixelize_keeps_a_night_scene_whole_and_stable():
    from pixelgen.pixelart import pixelize

    render = _assert_kept_whole_and_stable(_lit_room(fade=True), 6, "night or vignetted scene")
    assert (pixelize(render, size=None, palette=None, background="remove").image[0, :, 3] == 0).all()


def _water(*, stroke: tuple[int, int, int], size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Cells of a water texture: a mid-blue ground with short strokes scattered over it, none touching the border."""
    rng = np.random.default_rng(5)
    height, width = size
    cells = np.empty((height, width, 3), np.uint8)
    cells[:] = (30, 130, 215)
    for _ in range(14):
        y, x = rng.integers(2, height - 2), rng.integers(2, width - 7)
        cells[y, x : x + rng.integers(2, 6)] = stroke
    return cells


def test_a_texture_of_the_backdrops_own_shades_is_kept_whole():
    from pixelgen.pixelart import find_background

    # Pixel for pixel strokes on a uniform ground that nothing runs off; but no stroke stands
    # out from the ground by more than a lighter shade of it (0.09 in OKLab): a tile, not a sprite.
    decision = find_background(_water(stroke=(75, 170, 235)), tolerance=0.08)
    assert decision.uniform_share == 1.0 and decision.runs_off is None and not decision.framed and not decision.fades
    assert decision.kind == "scene" and decision.pattern and not decision.mask.any()
    assert "texture or a tile" in decision.note and 'background "remove"' in decision.note
    # Strokes that stand out (dark ones) are sprites on the ground: it goes.
    assert find_background(_water(stroke=(20, 25, 60)), tolerance=0.08).kind == "removed"


def test_pixelize_keeps_a_texture_whole_and_stable():
    from pixelgen.pixelart import pixelize

    render = _assert_kept_whole_and_stable(_water(stroke=(75, 170, 235)), 8, "texture or a tile")
    assert (pixelize(render, size=None, palette=None, background="remove").image[0, :, 3] == 0).all()


def _on_checkerboard(square: float, *, light=(238, 238, 238), dark=(170, 170, 170),
                     size: tuple[int, int] = (30, 36)) -> tuple[np.ndarray, np.ndarray]:
    """Cells of a sprite on a painted "transparency" checkerboard of ``square``-cell squares, and the
    expected backdrop mask. The sprite holds a region of each checker colour, enclosed by its outline."""
    height, width = size
    y, x = np.mgrid[:height, :width]
    on_light = (np.floor(x / square) + np.floor(y / square)) % 2 == 0
    cells = np.where(on_light[..., None], np.array(light, np.uint8), np.array(dark, np.uint8))
    # The outline stands out from the checker: dark on a light one, light on a dark one.
    cells[8:22, 10:26] = (30, 24, 40) if light[0] > 128 else (240, 200, 90)
    cells[9:21, 11:25] = (200, 70, 50)
    cells[11:14, 13:16] = light
    cells[16:19, 19:22] = dark
    expected = np.ones((height, width), bool)
    expected[8:22, 10:26] = False
    return cells, expected


@pytest.mark.parametrize("square", [1, 2, 2.5, 4])
@pytest.mark.parametrize("light, dark", [((238, 238, 238), (170, 170, 170)), ((70, 70, 72), (20, 20, 20))])
def test_a_painted_checkerboard_backdrop_is_removed_but_not_its_colours_inside(square, light, dark):
    from pixelgen.pixelart import find_background

    # Two colours alternate round the border, so no one colour is "uniform" (share 0.5): a
    # flood from one colour would leave the other. Squares of 2.5 cells alternate runs of 2 and 3.
    cells, expected = _on_checkerboard(square, light=light, dark=dark)
    decision = find_background(cells, tolerance=0.08)
    assert decision.kind == "removed" and decision.uniform_share == 1.0
    np.testing.assert_array_equal(decision.mask, expected)
    again = find_background(remove_background(cells, tolerance=0.08), tolerance=0.08)
    assert again.kind == "already-transparent" and not again.mask.any()


def test_two_colours_along_a_border_that_are_not_a_checkerboard_keep_a_scene():
    from pixelgen.pixelart import find_background

    rng = np.random.default_rng(9)
    cells, _ = _on_checkerboard(2)
    # Clouds: the same two greys in runs of random length, not squares.
    y, x = np.mgrid[:30, :36]
    runs = np.repeat(np.arange(40) % 2, rng.integers(1, 7, size=40))
    clouds = cells.copy()
    clouds[runs[(x + y) % runs.size] == 0] = (238, 238, 238)
    clouds[runs[(x + y) % runs.size] == 1] = (170, 170, 170)
    clouds[8:22, 10:26] = cells[8:22, 10:26]
    assert find_background(clouds, tolerance=0.08).kind == "scene"
    # A coloured checkerboard (a chequered floor, a picnic cloth) is art, not a transparency mark.
    y, x = np.mgrid[:30, :36]
    cloth = np.where((((x // 2) + (y // 2)) % 2 == 0)[..., None], np.array([220, 40, 40], np.uint8),
                     np.array([240, 235, 230], np.uint8))
    cloth[8:22, 10:26] = cells[8:22, 10:26]
    assert find_background(cloth, tolerance=0.08).kind == "scene"
    # Squares on only part of the border (a tiled floor under a plain wall) are not a backdrop either.
    floor = cells.copy()
    floor[:15] = (120, 160, 200)
    floor[8:22, 10:26] = cells[8:22, 10:26]
    assert find_background(floor, tolerance=0.08).kind == "scene"


def test_pixelize_takes_a_painted_checkerboard_away_and_is_stable():
    from pixelgen.pixelart import pixelize

    cells, expected = _on_checkerboard(2.5)
    render = np.repeat(np.repeat(cells, 9, axis=0), 9, axis=1)
    first = pixelize(render, size=None, palette=None, background="transparent")
    assert first.report["background"]["decision"] == "removed"
    assert any("checkerboard painted into the pixels" in note for note in first.report["notes"])
    np.testing.assert_array_equal(first.image[..., 3] == 0, expected)
    for k in (1, 2, 3):
        again = pixelize(np.repeat(np.repeat(first.image, k, axis=0), k, axis=1), size=None, palette=None,
                         background="transparent")
        np.testing.assert_array_equal(again.image, first.image)


def test_a_removed_checkerboard_is_named_in_the_note():
    from pixelgen.pixelart import find_background

    decision = find_background(_on_checkerboard(2)[0], tolerance=0.08)
    assert decision.checkerboard and "checkerboard" in decision.note
    plain = find_background(_sprite_on_backdrop(), tolerance=0.08)
    assert not plain.checkerboard and plain.note is None
