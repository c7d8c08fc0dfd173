"""Class 6: limits are checked on counts and headers, before anything is expanded, allocated or rendered."""

from __future__ import annotations

import struct
import time
import zlib

import pytest
from sec_helpers import MANIFEST, assert_one_error

from pixelgen.errors import InputError
from pixelgen.files.limits import Limits, check_input_image, input_image_problem


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height``: tiny on disk, huge if decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _replace(sandbox, old: str, new: str) -> None:
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new))


def _validate_quickly(sandbox, *needles: str, budget_s: float = 10.0) -> None:
    started = time.perf_counter()
    result = sandbox.run("build", MANIFEST)
    assert time.perf_counter() - started < budget_s
    assert_one_error(result, 2, *needles)
    sandbox.sentinel_untouched()


def test_a_ten_key_matrix_is_refused_before_the_cross_product(sandbox):
    matrix = ", ".join(f"k{i}: [a, b, c, d, e, f, g, h, i, j]" for i in range(10))  # 10^10 combinations
    _replace(sandbox, '    prompt: "a hero"\n', f'    prompt: "a hero"\n    matrix: {{{matrix}}}\n')
    _validate_quickly(sandbox, "10000000000 combinations", "max_matrix_combinations")


def test_many_long_animations_in_eight_directions_are_refused_quickly(sandbox):
    assets = "".join(
        f"  - id: npc{i}\n    kind: sprite\n    prompt: an npc\n    directions: 8\n    animations: [{{name: idle, frames: 64}}, {{name: walk, frames: 64}}]\n"
        for i in range(2000)
    )
    manifest = sandbox.project / MANIFEST
    manifest.write_text(manifest.read_text() + assets)
    _validate_quickly(sandbox, "2048003 images", "max_images", budget_s=30)


def test_frames_times_directions_of_one_sprite_are_limited(sandbox):
    _replace(sandbox, '    prompt: "a walker, frame {frame}"\n', '    prompt: "a walker, frame {frame}"\n    directions: 8\n')
    clips = "".join(f"      - {{name: c{i}, frames: 64}}\n" for i in range(2))
    _replace(sandbox, "- {name: walk, frames: 2}\n", "- {name: walk, frames: 2}\n" + clips)
    # (2 + 64 + 64) frames x 8 directions = 1040 > 1024
    _validate_quickly(sandbox, "1040 frames (frames × directions)", "max_frames_per_sprite")


@pytest.mark.parametrize("render, needle", [
    ("{width: 4096, height: 4096, steps: 200, guidance: 2.0}", "3355443200 pixel-steps"),
    ("{width: 2048, height: 2048, steps: 50, guidance: 2.0}", "209715200 pixel-steps"),
])
def test_huge_renders_are_refused(sandbox, render, needle):
    _replace(sandbox, "{width: 64, height: 64, steps: 1, guidance: 2.0}", render)
    _validate_quickly(sandbox, needle, "max_render_pixel_steps")


def test_a_limit_can_be_raised_in_the_manifest(sandbox):
    _replace(sandbox, "{width: 64, height: 64, steps: 1, guidance: 2.0}", "{width: 2048, height: 2048, steps: 50, guidance: 2.0}")
    manifest = sandbox.project / MANIFEST
    manifest.write_text(manifest.read_text() + "limits: {max_render_pixel_steps: 300000000}\n")
    result = sandbox.run("validate", MANIFEST)
    assert result.code == 0, result.err


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "9999999999999", '"many"'])
def test_limits_themselves_are_checked(sandbox, value):
    manifest = sandbox.project / MANIFEST
    manifest.write_text(manifest.read_text() + f"limits: {{max_images: {value}}}\n")
    assert_one_error(sandbox.run("validate", MANIFEST), 2, "/limits/max_images")


@pytest.mark.parametrize("size, needle", [((100_000, 100_000), "far too many pixels"), ((5000, 5000), "25000000 pixels")])
def test_a_palette_png_bomb_is_refused_from_its_header(sandbox, size, needle):
    _png_header_only(sandbox.project / "manifests" / "bomb.png", *size)
    _replace(sandbox, "pico: {builtin: pico-8}", "pico: {path: bomb.png}")
    _validate_quickly(sandbox, "bomb.png", needle)


def test_a_palette_with_too_many_colours_is_refused(sandbox):
    (sandbox.project / "manifests" / "big.hex").write_text("".join(f"{i:06x}\n" for i in range(0, 20 * 4099, 4099)))
    _replace(sandbox, "pico: {builtin: pico-8}", "pico: {path: big.hex}")
    manifest = sandbox.project / MANIFEST
    manifest.write_text(manifest.read_text() + "limits: {max_palette_colors: 16}\n")
    _validate_quickly(sandbox, "20 colours", "max_palette_colors")
    (sandbox.project / "manifests" / "big.hex").write_text("".join(f"{i:06x}\n" for i in range(0, 300 * 4099, 4099)))
    _validate_quickly(sandbox, "300 colours")


def test_pixelize_input_limit_reads_only_the_header(tmp_path):
    bomb = tmp_path / "huge.png"
    _png_header_only(bomb, 12000, 12000)
    started = time.perf_counter()
    with pytest.raises(InputError, match="144000000 pixels"):
        check_input_image(bomb)
    assert time.perf_counter() - started < 1.0  # a decode of 12000² would take seconds and ~430 MB
    assert input_image_problem(bomb, max_pixels=12000 * 12000) is None
    (tmp_path / "text.png").write_text("not an image")
    assert "not an image" in input_image_problem(tmp_path / "text.png")
    assert Limits.from_manifest({"max_input_pixels": 10}).max_input_pixels == 10
