"""bench/pixelize_real.py: how it counts pixelgen's outputs, on a render made here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench():
    spec = importlib.util.spec_from_file_location("pixelgen_bench_pixelize_real", BENCH / "pixelize_real.py")
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _water_tile(path: Path) -> None:
    """A two-blue water texture, 32x32 cells at 8 px: PICO-8 maps both blues to one colour."""
    rng = np.random.default_rng(5)
    cells = np.empty((32, 32, 3), np.uint8)
    cells[:] = (30, 130, 215)
    for _ in range(14):
        y, x = rng.integers(2, 30), rng.integers(2, 25)
        cells[y, x : x + rng.integers(2, 6)] = (75, 170, 235)
    Image.fromarray(np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)).save(path)


def test_a_one_colour_output_is_counted_apart_and_the_texture_is_kept_whole(tmp_path: Path) -> None:
    bench = _bench()
    _water_tile(tmp_path / "water.png")
    entry = {"file": "water.png", "grid": "clear", "native": [32, 32], "background": "scene"}
    tally = bench.Tally()
    bench.score_pixelgen([entry], tmp_path, tally, ks=[1, 2])
    assert bench.one_colour(bench.run_pixelgen(bench.decode(tmp_path / "water.png"), "palette"))
    # The palette mode's flat output is not checked; the three other modes are, at both k.
    assert tally.idem_flat == 1
    assert (tally.idem_ok, tally.idem_cases) == (6, 6)
    assert tally.size_ok == 1 and tally.scene_removed == [0.0]
    assert "6/6), 1 flat not checked" in bench.row("pixelgen", tally)
    assert any("one flat colour" in miss for miss in tally.misses)
    assert not bench.one_colour(np.array([[[1, 2, 3, 255], [1, 2, 4, 255]]], np.uint8))


def test_a_scenes_own_transparent_canvas_is_not_counted_as_removed(tmp_path: Path) -> None:
    bench = _bench()
    # A varied scene in 8-px cells whose right quarter the generator left transparent (an
    # outpainting's unfilled canvas): kept as a scene, those pixels stay transparent, removed
    # by nobody.
    rng = np.random.default_rng(4)
    cells = np.zeros((30, 40, 4), np.uint8)
    cells[..., :3] = rng.choice(np.array([[60, 120, 50], [90, 70, 40], [70, 140, 60], [120, 180, 235]], np.uint8),
                                size=(30, 40))
    cells[..., 3] = 255
    cells[:, 30:] = 0
    Image.fromarray(np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)).save(tmp_path / "outpainted.png")
    entry = {"file": "outpainted.png", "grid": "clear", "native": [40, 30], "background": "scene"}
    tally = bench.Tally()
    bench.score_pixelgen([entry], tmp_path, tally, ks=[2])
    assert tally.size_ok == 1 and tally.scene_removed == [0.0]
    # The output does have that quarter transparent: counted as it stands, it would read 25 %.
    out, _, _ = bench.pixelgen_whole_call(tmp_path / "outpainted.png")
    assert (out[..., 3] == 0).mean() == 0.25
