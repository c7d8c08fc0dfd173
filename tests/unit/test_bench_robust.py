"""bench/pixelize_robust.py: its variants and its expectation for each, on an upscale made here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _robust():
    spec = importlib.util.spec_from_file_location("pixelgen_bench_pixelize_robust", BENCH / "pixelize_robust.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _render(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(2)
    palette = np.array([[20, 16, 28], [235, 230, 220], [200, 60, 50], [60, 140, 70], [50, 80, 190]], np.uint8)
    art = palette[rng.integers(0, len(palette), (32, 40))]
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.repeat(np.repeat(art, 12, axis=0), 12, axis=1)).save(images / "art.png")
    record = {"file": "art.png", "grid": "clear", "native": [40, 32], "cell": [12.0, 12.0]}
    renders = tmp_path / "renders.json"
    renders.write_text(json.dumps([record, {**record, "file": "none.png", "grid": "none", "native": None}]))
    return renders, images


def test_every_variant_keeps_the_size_of_a_clean_upscale_and_crops_expect_the_window(tmp_path):
    robust = _robust()
    renders, images = _render(tmp_path)
    image = Image.open(images / "art.png").convert("RGB")
    record = json.loads(renders.read_text())[0]
    pixels, expected, tolerance = robust.variant(image, "crop50", record)
    assert pixels.shape == (192, 240, 3) and expected == (20.0, 16.0) and tolerance == 1.5
    pixels, expected, _ = robust.variant(image, "resize75", record)
    assert pixels.shape == (288, 360, 3) and expected == (40.0, 32.0)
    # A larger canvas of the border's commonest colour, with the render inside it unchanged.
    pixels, expected, tolerance = robust.variant(image, "pad200", record)
    assert pixels.shape == (768, 960, 3) and expected == (80.0, 64.0) and tolerance == 1.5
    left, top = round(480 * 0.37), round(384 * 0.61)
    assert np.array_equal(pixels[top : top + 384, left : left + 480], np.asarray(image))
    border = np.concatenate([np.asarray(image)[0], np.asarray(image)[-1], np.asarray(image)[:, 0], np.asarray(image)[:, -1]])
    colours, counts = np.unique(border, axis=0, return_counts=True)
    assert np.array_equal(pixels[0, 0], colours[np.argmax(counts)])
    # The record without a grid is not measured; the clean upscale keeps its size in every variant.
    tally = robust.main(["--renders", str(renders), "--images", str(images), "--variants", "orig,jpeg75,webp80,resize75,crop50,pad200"])
    assert tally == {name: (1, 1) for name in ("orig", "jpeg75", "webp80", "resize75", "crop50", "pad200")}
