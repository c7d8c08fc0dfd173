import numpy as np
import pytest

from pixelgen.pixelart.color import srgb_to_oklab
from pixelgen.pixelart.palette import (
    builtin_palette,
    clean_palette,
    builtin_palette_names,
    learn_palette,
    load_palette_file,
    parse_gpl,
    parse_hex,
    parse_jasc_pal,
    parse_png_swatch,
    quantize,
)

# Sizes of the bundled palettes as published (NES: the 55 distinct colours of
# the common 2C02 table, repeated blacks removed).
EXPECTED_SIZES = {
    "pico-8": 16,
    "sweetie-16": 16,
    "dawnbringer-16": 16,
    "dawnbringer-32": 32,
    "endesga-32": 32,
    "aap-64": 64,
    "gameboy": 4,
    "nes": 55,
}


def test_builtin_palettes_exist_with_published_sizes():
    assert set(EXPECTED_SIZES) <= set(builtin_palette_names())
    for name, size in EXPECTED_SIZES.items():
        palette = builtin_palette(name)
        assert palette.shape == (size, 3) and palette.dtype == np.uint8
        assert len({tuple(c) for c in palette}) == size


def test_builtin_spot_values():
    # Well-known published values (PICO-8 index 8 is red ff004d; DB32 starts black).
    assert tuple(builtin_palette("pico-8")[8]) == (0xFF, 0x00, 0x4D)
    assert tuple(builtin_palette("dawnbringer-32")[0]) == (0, 0, 0)
    assert tuple(builtin_palette("gameboy")[0]) == (0x0F, 0x38, 0x0F)


def test_builtin_palette_is_a_copy_and_unknown_raises():
    builtin_palette("pico-8")[0] = 1
    assert tuple(builtin_palette("pico-8")[0]) == (0, 0, 0)
    with pytest.raises(ValueError, match="pico-8"):
        builtin_palette("pico8")


def test_parse_hex_with_comments_and_blank_lines():
    data = b"; a comment\n# another comment\n\nff0000\n#00FF00 green\n0x0000ff\n  \n"
    np.testing.assert_array_equal(
        parse_hex(data), [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    )


def test_parse_hex_error_names_line():
    with pytest.raises(ValueError, match="line 2"):
        parse_hex(b"ff0000\nnot-a-colour\n", source="x.hex")


def test_parse_gpl():
    data = b"GIMP Palette\nName: test\nColumns: 4\n# comment\n255 0 0 Red\n  0 128 255\tBlue-ish\n"
    np.testing.assert_array_equal(parse_gpl(data), [[255, 0, 0], [0, 128, 255]])
    with pytest.raises(ValueError, match="GIMP Palette"):
        parse_gpl(b"255 0 0\n")
    with pytest.raises(ValueError, match="line 3"):
        parse_gpl(b"GIMP Palette\nName: x\n300 0 0\n")


def test_parse_jasc_pal():
    data = b"JASC-PAL\r\n0100\r\n2\r\n0 0 0\r\n255 255 255\r\n"
    np.testing.assert_array_equal(parse_jasc_pal(data), [[0, 0, 0], [255, 255, 255]])
    with pytest.raises(ValueError, match="says 3 colours"):
        parse_jasc_pal(b"JASC-PAL\n0100\n3\n0 0 0\n")


def test_parse_png_swatch_scan_order():
    from io import BytesIO

    from PIL import Image

    pixels = np.array(
        [[[9, 9, 9, 255], [1, 2, 3, 255]], [[9, 9, 9, 255], [0, 0, 0, 0]]],
        dtype=np.uint8,
    )
    buffer = BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    np.testing.assert_array_equal(
        parse_png_swatch(buffer.getvalue()), [[9, 9, 9], [1, 2, 3]]
    )
    with pytest.raises(ValueError):
        parse_png_swatch(b"not a png")


def test_load_palette_file_dispatches_and_names_file(tmp_path):
    good = tmp_path / "mine.gpl"
    good.write_bytes(b"GIMP Palette\n1 2 3\n")
    np.testing.assert_array_equal(load_palette_file(good), [[1, 2, 3]])
    bad = tmp_path / "broken.hex"
    bad.write_bytes(b"123456\nzzzzzz\n")
    with pytest.raises(ValueError, match=r"broken\.hex: line 2"):
        load_palette_file(bad)
    with pytest.raises(ValueError, match="unknown palette file type"):
        load_palette_file(tmp_path / "x.act")


def test_quantize_known_nearest_colours():
    palette = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0]], dtype=np.uint8)
    image = np.array(
        [[[20, 20, 20], [240, 250, 245], [200, 30, 40], [120, 0, 0]]], dtype=np.uint8
    )
    out = quantize(image, palette)
    np.testing.assert_array_equal(
        out[0], [[0, 0, 0], [255, 255, 255], [255, 0, 0], [255, 0, 0]]
    )


def test_quantize_passes_alpha_through():
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    image = np.array([[[10, 10, 10, 0], [250, 250, 250, 77]]], dtype=np.uint8)
    out = quantize(image, palette)
    np.testing.assert_array_equal(out[..., 3], [[0, 77]])


@pytest.mark.parametrize("dither", ["bayer2", "bayer4", "bayer8", "floyd-steinberg"])
def test_dithers_only_emit_palette_colours_and_mix(dither):
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    image = np.full((16, 16, 3), 128, dtype=np.uint8)
    out = quantize(image, palette, dither=dither)
    colours = {tuple(c) for c in out.reshape(-1, 3)}
    assert colours == {(0, 0, 0), (255, 255, 255)}  # mid-grey needs both


def test_quantize_validation():
    palette = np.array([[0, 0, 0]], dtype=np.uint8)
    with pytest.raises(ValueError, match="floyd-steinberg"):
        quantize(np.zeros((2, 2, 3), np.uint8), palette, dither="atkinson")
    with pytest.raises(TypeError):
        quantize(np.zeros((2, 2, 3), np.uint8), palette.astype(np.int32))


def test_learn_palette_shared_and_deterministic():
    rng = np.random.default_rng(0)
    centres = np.array(
        [[200, 30, 30], [30, 200, 30], [30, 30, 200], [240, 240, 240]], dtype=np.int16
    )
    frames = []
    for i in range(3):
        idx = rng.integers(0, 4, size=(20, 20))
        noisy = centres[idx] + rng.integers(-6, 7, size=(20, 20, 3))
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    first = learn_palette(frames, n=4, seed=1)
    assert first.shape == (4, 3)
    np.testing.assert_array_equal(first, learn_palette(frames, n=4, seed=1))
    # Each learned colour sits near one true centre.
    distance = (
        np.abs(first[:, None, :].astype(int) - centres[None, :, :])
        .max(axis=2)
        .min(axis=1)
    )
    assert distance.max() <= 6


def test_learn_palette_fewer_unique_and_alpha():
    image = np.zeros((2, 2, 4), dtype=np.uint8)
    image[0, 0] = (255, 0, 0, 255)
    image[0, 1] = (0, 0, 255, 255)
    image[1, 0] = (0, 255, 0, 0)  # transparent: ignored
    out = learn_palette([image], n=8)
    assert {tuple(int(v) for v in c) for c in out} == {(255, 0, 0), (0, 0, 255)}
    with pytest.raises(TypeError):
        learn_palette(image, n=4)
    with pytest.raises(ValueError):
        learn_palette([image], n=0)


def test_hex_round_trip():
    from pixelgen.pixelart import hex_to_rgb, palette_from_hex, palette_to_hex

    colours = ["#1a1c2c", "#FF004D", "29adff"]
    palette = palette_from_hex(colours)
    assert palette.dtype == np.uint8 and palette.shape == (3, 3)
    assert palette_to_hex(palette) == ["#1a1c2c", "#ff004d", "#29adff"]
    assert hex_to_rgb("#ff004d") == (255, 0, 77)
    with pytest.raises(ValueError):
        hex_to_rgb("#fff")


def _leaders_plainly(image: np.ndarray, threshold: float, keep: np.ndarray | None) -> set[tuple[int, ...]]:
    """Leader clustering as clean_palette's docstring states it, one colour at a time."""
    pixels = image.reshape(-1, 3)
    keys = (pixels[:, 0].astype(np.int64) << 16) | (pixels[:, 1].astype(np.int64) << 8) | pixels[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1).astype(np.uint8)
    colours = colours[np.argsort(-counts, kind="stable")]
    if keep is not None:
        colours = np.concatenate([keep, colours])
    lab = srgb_to_oklab(colours).astype(np.float64)
    chosen: list[int] = []
    for index in range(lab.shape[0]):
        if all(float(((lab[index] - lab[leader]) ** 2).sum()) > threshold**2 for leader in chosen):
            chosen.append(index)
    return {tuple(int(v) for v in colours[index]) for index in chosen}


@pytest.mark.parametrize("with_keep", [False, True])
def test_clean_palette_is_leader_clustering_most_frequent_first(with_keep):
    # Clusters of shades around a dozen colours, over a thousand distinct
    # values in all (several of clean_palette's blocks of 256).
    rng = np.random.default_rng(11)
    centres = rng.integers(30, 226, (12, 3))
    labels = rng.integers(0, 12, (64, 64))
    image = np.clip(centres[labels] + rng.integers(-25, 26, (64, 64, 3)), 0, 255).astype(np.uint8)
    keep = np.array([[0, 0, 0]], dtype=np.uint8) if with_keep else None
    palette = clean_palette([image], keep=keep)
    assert len({tuple(c) for c in image.reshape(-1, 3)}) > 1000
    assert {tuple(int(v) for v in colour) for colour in palette} == _leaders_plainly(image, 0.05, keep)
    lab = srgb_to_oklab(palette).astype(np.float64)
    gaps = np.sqrt(((lab[:, None] - lab[None]) ** 2).sum(axis=2)) + np.eye(len(lab))
    assert gaps.min() > 0.05
