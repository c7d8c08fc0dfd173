"""pixelize(nearest_upscale(pixelize(x), k)) == pixelize(x), for every mode and k in 1..8.

k = 1 is pixelize run on its own output, recognised as pixel art at one pixel
per cell when it has at most NATIVE_MAX_COLOURS colours (every output but
some of ``--palette keep``'s, which keeps each cell's own colour) and
features one pixel wide (at least NATIVE_MIN_ONE_PIXEL_SHARE of its colour
steps, as every output here has). An output without them is an upscale
itself, which pixelize reduces again before it returns
(test_pixelart_pixelize.py, test_an_output_that_is_itself_an_upscale_...).

The renders are generated (hypothesis): random sprites of a few colours,
upscaled by a non-integer cell with a random phase, blurred and noised like
a generated render, full-bleed, on a flat backdrop or a painted
"transparency" checkerboard, on a flat mat, or as a strip across the whole
width under a flat sky.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pixelgen.pixelart import (
    NATIVE_MAX_COLOURS,
    NATIVE_MIN_ONE_PIXEL_SHARE,
    GridDetectionError,
    builtin_palette,
    pixelize,
    srgb_to_oklab,
)
from pixelgen.pixelart.grid import one_pixel_feature_share
from pixelgen.pixelart.options import PixelArtOptions

MODES = {
    "auto": {},
    "keep": {"colors": "keep"},
    "palette": {"palette": "pico-8"},
    "transparent": {"background": "transparent"},
    "remove": {"background": "remove"},
    "outline": {"background": "transparent", "outline": "#140c1c"},
    "specks": {"background": "transparent", "min_speck": 3},
}


def _run(image: np.ndarray, mode: str) -> np.ndarray:
    options = dict(MODES[mode])
    palette = builtin_palette(options.pop("palette")) if "palette" in options else None
    background = options.pop("background", "keep")
    return pixelize(image, size=None, palette=palette, background=background, options=PixelArtOptions(**options)).image


def _distinct_colours(rng: np.random.Generator, count: int) -> np.ndarray:
    """Colours at least 0.12 apart in OKLab: distinct colours of the art, not shades of one."""
    chosen: list[np.ndarray] = []
    while len(chosen) < count:
        colour = rng.integers(0, 256, size=(1, 3), dtype=np.uint8)
        lab = srgb_to_oklab(colour)[0]
        if all(np.linalg.norm(lab - srgb_to_oklab(other)[0]) >= 0.12 for other in chosen):
            chosen.append(colour)
    return np.concatenate(chosen)


@st.composite
def renders(draw: st.DrawFn) -> np.ndarray:
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    width, height = draw(st.integers(12, 36)), draw(st.integers(12, 36))
    colours = _distinct_colours(rng, draw(st.integers(2, 7)))
    index = rng.integers(0, len(colours), size=(height, width))
    runs = rng.random((height, width)) < 0.5  # runs of equal cells, as in art
    for x in range(1, width):
        index[:, x] = np.where(runs[:, x], index[:, x - 1], index[:, x])
    cells = colours[index]
    layout = draw(st.sampled_from(("full", "sprite", "band", "framed", "night", "checker")))
    if layout == "night":
        # A room lit in the middle, darkening into a near-black surround (a scene kept whole).
        y, x = np.mgrid[:height, :width]
        reach = np.hypot((x + 0.5 - width / 2) / (0.45 * width), (y + 0.5 - height / 2) / (0.45 * height))
        surround = rng.integers(0, 30, size=3)
        cells = np.maximum(np.floor(cells * np.clip(1.0 - reach, 0.0, 1.0)[..., None]), surround).astype(np.uint8)
    elif layout != "full":
        # A sprite (an ellipse) on a flat backdrop, a picture on a flat mat, or
        # a strip of land across the whole width under a flat sky (the last
        # two are scenes, kept whole unless one colour fills the picture).
        backdrop = np.array([rng.integers(180, 256)] * 3, dtype=np.uint8)
        mask = np.zeros((height, width), dtype=bool)
        if layout == "checker":
            # A painted "transparency" checkerboard: two greys in squares of 1-3 cells.
            y, x = np.mgrid[:height, :width]
            square = draw(st.integers(1, 3))
            greys = np.array([[rng.integers(180, 256)] * 3, [rng.integers(60, 150)] * 3], dtype=np.uint8)
            backdrop = greys[(x // square + y // square) % 2]
        if layout in ("sprite", "checker"):
            y, x = np.mgrid[:height, :width]
            mask = ((x + 0.5 - width / 2) / (0.3 * width)) ** 2 + ((y + 0.5 - height / 2) / (0.3 * height)) ** 2 <= 1
        elif layout == "framed":
            mask[height // 5 : height - height // 5, width // 5 : width - width // 5] = True
        else:
            mask[height * 2 // 5 : height * 2 // 5 + max(2, height // 4), :] = True
        cells = np.where(mask[..., None], cells, backdrop)
    cell = draw(st.floats(5.0, 11.0))
    phase = draw(st.floats(0.0, 0.99))
    xs = np.floor((np.arange(int(width * cell)) + phase * cell) / cell).astype(int).clip(0, width - 1)
    ys = np.floor((np.arange(int(height * cell)) + phase * cell) / cell).astype(int).clip(0, height - 1)
    render = cells[ys[:, None], xs[None, :]].astype(np.float32)
    if draw(st.booleans()):
        from scipy.ndimage import gaussian_filter

        render = gaussian_filter(render, (0.6, 0.6, 0))
    render += rng.normal(0, draw(st.floats(0.0, 4.0)), render.shape)
    return np.clip(np.floor(render + 0.5), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode", sorted(MODES))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(render=renders())
def test_pixelize_of_its_own_upscale_is_itself(mode: str, render: np.ndarray) -> None:
    try:
        first = _run(render, mode)
    except GridDetectionError:
        # The property is about outputs; refusing a render is tested elsewhere.
        assume(False)
    # An output with fewer than two colour changes along an axis has no
    # determinable pixel size there: the property cannot hold for it. (An
    # output is never itself an upscale of smaller art: pixelize reduces that.)
    for axis in (1, 0):
        changes = np.flatnonzero(np.any(np.diff(first.astype(np.int16), axis=axis) != 0, axis=(2, 1 - axis)))
        assume(changes.size >= 2)
    native = (np.unique(first.reshape(-1, 4), axis=0).shape[0] <= NATIVE_MAX_COLOURS
              and one_pixel_feature_share(first) >= NATIVE_MIN_ONE_PIXEL_SHARE)
    for k in range(1, 9):
        if k == 1 and not native:
            continue
        upscaled = np.repeat(np.repeat(first, k, axis=0), k, axis=1)
        again = _run(upscaled, mode)
        assert again.shape == first.shape, f"x{k}: {again.shape[1]}x{again.shape[0]} != {first.shape[1]}x{first.shape[0]}"
        np.testing.assert_array_equal(again, first, err_msg=f"mode {mode}, x{k}")
