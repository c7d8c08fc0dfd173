"""`pixelgen pixelize` on a synthetic render with a known answer."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from pixelgen.png import decode_png, encode_png


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
