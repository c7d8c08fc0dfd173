"""Golden outputs of pixelize: any change of its output bytes must bump PIXELIZE_ALGORITHM_VERSION.

The version goes into every post-processing cache key; an output change
without a bump would leave stale assets in every cache. The inputs are made
here from integers only (art, nearest upscale at non-integer cells, integer
noise), so they are the same on every machine; the digests were recorded by
running this file with PIXELGEN_UPDATE_GOLDEN=1 on x86-64.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pixelgen.files.hashing import sha256_bytes
from pixelgen.pixelart import PIXELIZE_ALGORITHM_VERSION, builtin_palette, pixelize
from pixelgen.pixelart.options import PixelArtOptions

GOLDEN = Path(__file__).with_name("pixelize_golden.json")
UPDATE = "PIXELGEN_UPDATE_GOLDEN"


def _render(seed: int, cell: float | None, cells: tuple[int, int], *, backdrop: bool, noise: bool = True,
            band: bool = False, mat: tuple[int, int, int] = (210, 210, 214), specks: float = 0.0,
            night: bool = False, checker: bool = False, checker_dark: int = 196) -> np.ndarray:
    """Art upscaled at ``cell``, or with ``cell`` None on an irregular grid (every cell 4-14 px wide and tall).

    ``backdrop``: the art sits in the middle of a flat backdrop of colour ``mat``; ``band``: it is a
    strip across the whole width with the flat colour above and below (land between sky and sea: a
    scene). ``specks``: this share of the render's pixels take the next palette colour, as a palette
    PNG's dithering draws them. ``night``: the art darkens from the middle outwards into a surround
    of colour ``mat`` (a lit room in the dark). ``checker``: the backdrop is a grey checkerboard of
    squares two cells wide (a fake "transparency" pattern drawn into the pixels), light grey 236 and
    ``checker_dark``.
    """
    rng = np.random.default_rng(seed)
    palette = np.array([[20, 16, 28], [235, 230, 220], [200, 60, 50], [60, 140, 70], [50, 80, 190], [230, 190, 60]], np.uint8)
    width, height = cells
    art = palette[rng.integers(0, len(palette), size=(height, width))]
    if backdrop or band:
        mask = np.zeros((height, width), bool)
        if band:
            mask[height * 2 // 5 : height * 2 // 5 + height // 4, :] = True
        else:
            mask[height // 4 : -height // 4, width // 4 : -width // 4] = True
        backdrop = np.broadcast_to(np.array(mat, np.uint8), art.shape)
        if checker:
            y, x = np.mgrid[:height, :width]
            backdrop = np.where(((x // 2 + y // 2) % 2 == 0)[..., None], np.array([236, 236, 236], np.uint8),
                                np.array([checker_dark] * 3, np.uint8))
        art = np.where(mask[..., None], art, backdrop)
    if night:
        # Light falls from 16/16 in the middle to 0 at 45 % of the size out, in integers.
        y, x = np.mgrid[:height, :width]
        spread = (2 * x + 1 - width) ** 2 * height**2 + (2 * y + 1 - height) ** 2 * width**2
        reach = (9 * width * height) ** 2 // 100
        light = np.clip(16 - (16 * spread) // reach, 0, 16)
        art = np.maximum(art.astype(np.int32) * light[..., None] // 16, np.array(mat)).astype(np.uint8)
    if cell is None:
        xs = np.repeat(np.arange(width), rng.integers(4, 15, width))
        ys = np.repeat(np.arange(height), rng.integers(4, 15, height))
    else:
        xs = np.minimum((np.arange(int(width * cell)) / cell).astype(int), width - 1)
        ys = np.minimum((np.arange(int(height * cell)) / cell).astype(int), height - 1)
    render = art[ys[:, None], xs[None, :]]
    if specks:
        nearest = np.argmin(np.abs(render[..., None, :].astype(np.int16) - palette.astype(np.int16)).sum(-1), axis=-1)
        speck = rng.random(nearest.shape) < specks
        render = np.where(speck[..., None], palette[(nearest + 1) % len(palette)], render)
    render = render.astype(np.int16)
    if noise:
        render += rng.integers(-6, 7, size=render.shape, dtype=np.int16)
    return np.clip(render, 0, 255).astype(np.uint8)


CASES = {
    "auto": (dict(seed=1, cell=7.3, cells=(40, 32), backdrop=False), {}),
    "keep": (dict(seed=2, cell=9.0, cells=(30, 30), backdrop=False), {"colors": "keep"}),
    "palette-dither": (dict(seed=3, cell=6.5, cells=(48, 40), backdrop=False), {"palette": "pico-8", "dither": "bayer4"}),
    "transparent-outline": (dict(seed=4, cell=8.2, cells=(36, 36), backdrop=True), {"background": "transparent", "outline": "#14101c"}),
    "size-prior": (dict(seed=5, cell=11.7, cells=(24, 20), backdrop=True), {"size": (26, 22), "anchor": "bottom-center", "min_confidence": 0.0}),
    "irregular-grid": (dict(seed=6, cell=None, cells=(40, 40), backdrop=False), {}),
    "native-transparent": (dict(seed=7, cell=1.0, cells=(48, 40), backdrop=True, noise=False), {"background": "transparent"}),
    "scene-band-transparent": (dict(seed=8, cell=6.4, cells=(40, 40), backdrop=False, band=True), {"background": "transparent"}),
    "scene-band-remove": (dict(seed=8, cell=6.4, cells=(40, 40), backdrop=False, band=True), {"background": "remove"}),
    "palette-png-specks": (dict(seed=10, cell=5.73, cells=(40, 32), backdrop=False, noise=False, specks=0.03), {}),
    "scene-matted-transparent": (dict(seed=9, cell=7.7, cells=(36, 44), backdrop=True, mat=(110, 70, 40)),
                                 {"background": "transparent"}),
    "scene-night-transparent": (dict(seed=11, cell=6.9, cells=(44, 36), backdrop=False, night=True, mat=(8, 6, 14)),
                                {"background": "transparent"}),
    "checkerboard-backdrop": (dict(seed=12, cell=12.8, cells=(40, 40), backdrop=True, checker=True), {}),
    "fine-cell": (dict(seed=13, cell=2.56, cells=(120, 120), backdrop=False), {}),
    "checkerboard-transparent": (dict(seed=12, cell=12.8, cells=(40, 40), backdrop=True, checker=True, checker_dark=150),
                                 {"background": "transparent"}),
}


def _digests() -> dict[str, str]:
    out = {}
    for name, (render_args, options) in CASES.items():
        options = dict(options)
        palette = builtin_palette(options.pop("palette")) if "palette" in options else None
        size = options.pop("size", None)
        background = options.pop("background", "keep")
        image = pixelize(_render(**render_args), size=size, palette=palette, background=background,
                         options=PixelArtOptions(**options)).image
        out[name] = sha256_bytes(repr(image.shape).encode() + image.tobytes())
    return out


def test_output_changes_come_with_a_version_bump() -> None:
    digests = _digests()
    if os.environ.get(UPDATE):
        GOLDEN.write_text(json.dumps({"algorithm_version": PIXELIZE_ALGORITHM_VERSION, "digests": digests}, indent=2) + "\n")
    golden = json.loads(GOLDEN.read_text())
    if golden["algorithm_version"] != PIXELIZE_ALGORITHM_VERSION:
        raise AssertionError(
            f"PIXELIZE_ALGORITHM_VERSION is {PIXELIZE_ALGORITHM_VERSION}, the golden outputs are of version "
            f"{golden['algorithm_version']}: regenerate them with {UPDATE}=1 pytest {Path(__file__).name}"
        )
    changed = sorted(name for name in digests if digests[name] != golden["digests"].get(name))
    assert not changed, (
        f"pixelize's output changed for {', '.join(changed)}: bump PIXELIZE_ALGORITHM_VERSION "
        f"(pixelgen/pixelart/options.py; it is part of every cache key), then regenerate the golden outputs "
        f"with {UPDATE}=1 pytest {Path(__file__).name}"
    )
