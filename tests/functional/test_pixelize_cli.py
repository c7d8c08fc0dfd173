"""`pixelgen pixelize` on a synthetic render with a known answer."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from pixelgen.formats.png import decode_png, encode_png


def _render(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 24×20 sprite of 4 colours, upscaled ×8 with a 3-px phase: the known answer is the sprite."""
    rng = np.random.default_rng(5)
    colours = np.array([[0, 0, 0], [255, 0, 77], [41, 173, 255], [255, 241, 232]], dtype=np.uint8)
    truth = colours[rng.integers(0, 4, size=(20, 24))]
    big = np.repeat(np.repeat(truth, 8, axis=0), 8, axis=1)
    big = np.roll(big, (3, 3), axis=(0, 1))
    path = tmp_path / "render.png"
    path.write_bytes(encode_png(np.ascontiguousarray(big)))
    return path, truth


def test_pixelize_recovers_the_sprite_and_reports_json(tmp_path):
    source, truth = _render(tmp_path)
    out = tmp_path / "out.png"
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(out), "--palette", "pico-8", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["cell"] == pytest.approx([8, 8], abs=0.1)
    assert report["size"] == [24, 20] and report["fallback"] is None
    assert report["confidence"] > 0.5 and report["timings"]["total_ms"] > 0
    image = decode_png(out.read_bytes())
    assert np.array_equal(image[..., :3], truth) and (image[..., 3] == 255).all()
    assert stat.S_IMODE(out.stat().st_mode) & 0o044  # readable by others, unlike a raw temp file


def test_pixelize_auto_palette_and_declared_size(tmp_path):
    source, _ = _render(tmp_path)
    out = tmp_path / "small.png"
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(out), "--palette", "auto:3", "--size", "6x5")
    assert result.code == 0, result.err
    image = decode_png(out.read_bytes())
    assert image.shape[:2] == (5, 6)
    assert len({tuple(p) for p in image[..., :3].reshape(-1, 3)}) <= 3


def test_pixelize_bad_palette_is_a_clear_error(tmp_path):
    source, _ = _render(tmp_path)
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "x.png"), "--palette", "pico-9")
    assert result.code == 2 and "pico-9" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("name", ["out.jpg", "out.jpeg", "out"])
def test_lossy_or_unknown_output_formats_are_refused_before_work(tmp_path, name):
    source, _ = _render(tmp_path)
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / name))
    assert result.code == 2 and "lossless" in result.err and "out.png" in result.err and "Traceback" not in result.err
    assert not (tmp_path / name).exists()


def test_webp_output_is_lossless(tmp_path):
    source, truth = _render(tmp_path)
    out = tmp_path / "out.webp"
    assert run_cli(tmp_path, "pixelize", str(source), "-o", str(out)).code == 0
    from PIL import Image

    with Image.open(out) as image:
        assert image.format == "WEBP"
        assert np.array_equal(np.asarray(image.convert("RGB")), truth)


@pytest.mark.parametrize("palette, fragment", [("auto:1", "from 2 to 256"), ("auto:x", "auto:N"), ("auto:999", "from 2 to 256"),
                                               ("nope.hex", "no such palette file"), ("pico-9", "built-in palette")])
def test_bad_palette_values_are_input_errors(tmp_path, palette, fragment):
    source, _ = _render(tmp_path)
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "x.png"), "--palette", palette)
    assert result.code == 2 and fragment in result.err and "Traceback" not in result.err


def test_non_image_and_fifo_inputs_are_clear_errors(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = run_cli(tmp_path, "pixelize", str(text), "-o", str(tmp_path / "x.png"))
    assert result.code == 2 and "not an image" in result.err and "BytesIO" not in result.err
    fifo = tmp_path / "pipe.png"
    import os

    os.mkfifo(fifo)
    result = run_cli(tmp_path, "pixelize", str(fifo), "-o", str(tmp_path / "x.png"))
    assert result.code == 2 and "not a regular file" in result.err
    source, _ = _render(tmp_path)
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "x.png"), "--max-input-pixels", "1000")
    assert result.code == 2 and "more than the 1000 allowed" in result.err and not (tmp_path / "x.png").exists()


def test_noise_is_refused_with_the_cli_flags_as_the_fix(tmp_path):
    noise = np.random.default_rng(3).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    source = tmp_path / "noise.png"
    source.write_bytes(encode_png(noise))
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "x.png"))
    assert result.code == 1 and "no periodic pixel grid" in result.err and "--cell N" in result.err
    assert not (tmp_path / "x.png").exists()
    # With a size, the render is cut evenly instead, and the report says so.
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "x.png"), "--size", "32x32", "--json")
    assert result.code == 0 and json.loads(result.out)["fallback"].startswith("use_declared: no periodic")


def test_report_timings_cover_the_whole_call_and_flags_reach_the_engine(tmp_path):
    source, truth = _render(tmp_path)
    out = tmp_path / "out.png"
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(out), "--json", "--palette", "keep", "--background",
                     "transparent", "--background-tolerance", "0.05", "--min-speck", "2", "--anchor", "top-left", "--size", "26x22")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    timings = report["timings"]
    stages = ("decode_ms", "grid_ms", "reduce_ms", "palette_ms", "alpha_ms", "encode_ms", "write_ms")
    assert all(timings[stage] >= 0 for stage in stages)
    assert timings["total_ms"] >= sum(timings[stage] for stage in stages)
    assert report["palette"] == "keep" and report["background"]["mode"] == "transparent"
    # --anchor top-left pads the 24x20 cells to 26x22 on the right and bottom.
    image = decode_png(out.read_bytes())
    assert image.shape[:2] == (22, 26) and (image[20:, :, 3] == 0).all() and (image[:, 24:, 3] == 0).all()
    assert len(report["hypotheses"]) >= 1 and report["hypotheses"][0]["cell"] == report["cell"]


def test_exif_orientation_is_applied_and_extra_frames_are_named(tmp_path):
    from PIL import Image

    source, truth = _render(tmp_path)
    upright = decode_png(source.read_bytes())
    # Stored turned a quarter left, with the EXIF tag that says "turn it right to view" (6).
    turned = Image.fromarray(np.ascontiguousarray(np.rot90(upright)))
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = tmp_path / "tagged.png"
    turned.save(tagged, exif=exif)
    out = tmp_path / "out.png"
    result = run_cli(tmp_path, "pixelize", str(tagged), "-o", str(out), "--palette", "pico-8", "--json")
    assert result.code == 0, result.err
    assert np.array_equal(decode_png(out.read_bytes())[..., :3], truth)

    frames = [Image.fromarray(upright[..., :3]), Image.fromarray(np.ascontiguousarray(upright[::-1, :, :3]))]
    animated = tmp_path / "walk.gif"
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100)
    result = run_cli(tmp_path, "pixelize", str(animated), "-o", str(out), "--palette", "pico-8", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert any("2 frames: the first is used" in warning for warning in report["warnings"])
    assert np.array_equal(decode_png(out.read_bytes())[..., :3], truth)


def test_an_unreadable_exif_block_does_not_refuse_the_image(tmp_path):
    import struct
    import zlib

    source, truth = _render(tmp_path)
    data = source.read_bytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    broken = tmp_path / "broken-exif.png"
    broken.write_bytes(data[:33] + chunk(b"eXIf", b"garbage") + data[33:])  # right after IHDR
    out = tmp_path / "out.png"
    result = run_cli(tmp_path, "pixelize", str(broken), "-o", str(out), "--palette", "pico-8")
    assert result.code == 0, result.err
    assert np.array_equal(decode_png(out.read_bytes())[..., :3], truth)


def test_a_sprite_cut_by_two_edges_keeps_its_backdrop_unless_told_to_remove_it(tmp_path):
    # A wide sprite across the whole width on a flat backdrop: "transparent" takes it for a
    # scene (it runs off the left and right edges) and says how to remove the backdrop anyway.
    rng = np.random.default_rng(6)
    cells = np.full((24, 30, 3), 236, np.uint8)
    cells[9:15] = np.array([[30, 24, 40], [200, 70, 50], [60, 140, 70]], np.uint8)[rng.integers(0, 3, size=(6, 30))]
    source = tmp_path / "wide.png"
    source.write_bytes(encode_png(np.ascontiguousarray(np.repeat(np.repeat(cells, 6, axis=0), 6, axis=1))))
    kept = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "kept.png"), "--background", "transparent", "--json")
    assert kept.code == 0, kept.err
    report = json.loads(kept.out)
    assert report["background"]["decision"] == "scene"
    assert any("runs off its left and right edges" in note and 'background "remove"' in note for note in report["notes"])
    assert (decode_png((tmp_path / "kept.png").read_bytes())[..., 3] == 255).all()
    removed = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "removed.png"), "--background", "remove", "--json")
    assert removed.code == 0, removed.err
    assert json.loads(removed.out)["background"]["decision"] == "removed"
    alpha = decode_png((tmp_path / "removed.png").read_bytes())[..., 3]
    assert alpha.shape == (24, 30) and (alpha[9:15] == 255).all() and (alpha[:9] == 0).all() and (alpha[15:] == 0).all()


def test_a_sixteen_bit_grey_render_keeps_its_four_greys(tmp_path):
    # Pillow alone turns 16-bit grey into black and white; the CLI must read it as the viewer shows it.
    from PIL import Image

    rng = np.random.default_rng(11)
    truth = rng.integers(0, 4, size=(12, 16)).astype(np.uint16) * 80
    big = np.repeat(np.repeat(truth, 8, axis=0), 8, axis=1) * 257
    source = tmp_path / "grey16.png"
    Image.fromarray(big).save(source)
    assert Image.open(source).mode == "I;16"
    out = tmp_path / "out.png"
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(out), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["size"] == [16, 12]
    image = decode_png(out.read_bytes())
    assert np.array_equal(image[..., 0], truth.astype(np.uint8))
    assert sorted(np.unique(image[..., :3]).tolist()) == [0, 80, 160, 240]


def test_a_floating_point_image_is_refused_with_the_fix(tmp_path):
    from PIL import Image

    source = tmp_path / "float.tiff"
    Image.fromarray(np.full((16, 16), 0.5, dtype=np.float32)).save(source)
    result = run_cli(tmp_path, "pixelize", str(source), "-o", str(tmp_path / "out.png"))
    assert result.code == 2
    assert "8 or 16 bits" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out.png").exists()
