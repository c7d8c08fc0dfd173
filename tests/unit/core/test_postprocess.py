import textwrap
from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.plan import make_plan
from pixelgen.core.postprocess import postprocess_asset
from pixelgen.core.resolve import Resolved
from pixelgen.manifest import load_manifest

RESOLVED = Resolved(models={"tiny": {"builtin": "tiny-sdxl", "recipe": 1}}, loras={}, model_files={})


def test_nine_slice_element_keeps_its_corners_when_the_grid_differs(tmp_path: Path):
    path = tmp_path / "ui.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        name: ui
        models: {tiny: {builtin: tiny-sdxl}}
        palettes: {p: {colors: ["#000000", "#ff004d", "#29adff", "#fff1e8"]}}
        defaults: {render: {width: 256, height: 256}, palette: p}
        assets:
          - id: hud
            kind: ui
            prompt: x
            background: keep
            elements: [{name: panel, size: [40, 24], border: [3, 3, 3, 3]}]
        """))
    plan = make_plan(load_manifest(path), RESOLVED)
    job = plan.posts[0]
    # A clean render of a 32×32-cell panel at 8 px per cell: the grid is found with
    # confidence, and it has more cells than the element's 40×24 size.
    rng = np.random.default_rng(1)
    colours = np.array([[0, 0, 0], [255, 0, 77], [41, 173, 255], [255, 241, 232]], dtype=np.uint8)
    cells = colours[rng.integers(0, 4, (32, 32))]
    render = np.ascontiguousarray(np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1))
    (result,) = postprocess_asset([render], [job])
    assert result.image.shape == (24, 40, 4)
    assert any("9-slice fit" in note for note in result.report["notes"])
    # Corners are the panel's own corner cells, untouched.
    assert np.array_equal(result.image[:3, :3, :3], cells[:3, :3])
    assert np.array_equal(result.image[-3:, -3:, :3], cells[-3:, -3:])


def _clip_manifest(tmp_path: Path, prompt_of_frame_1: str = "walk 1") -> Path:
    path = tmp_path / "clip.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        name: clip
        models: {{tiny: {{builtin: tiny-sdxl}}}}
        defaults: {{render: {{width: 256, height: 256}}}}
        assets:
          - id: hero
            kind: sprite
            prompt: "{{pose}}"
            size: [24, 24]
            background: keep
            animations:
              - name: walk
                frames: 3
                poses: ["walk 0", "{prompt_of_frame_1}", "walk 2"]
        """))
    return path


def test_frames_of_a_clip_share_one_cell_size_and_record_its_consistency(tmp_path: Path):
    plan = make_plan(load_manifest(_clip_manifest(tmp_path)), RESOLVED)
    jobs = list(plan.posts)
    assert len(jobs) == 3 and all(job.grid_set == jobs[0].grid_set for job in jobs)
    rng = np.random.default_rng(3)
    colours = np.array([[20, 16, 28], [235, 230, 220], [200, 60, 50], [60, 140, 70]], np.uint8)
    renders = []
    for index in range(3):
        cells = colours[rng.integers(0, 4, (24, 24))]
        if index == 2:
            cells[:] = colours[1]  # an almost empty frame: alone, its grid is anyone's guess
            cells[10:14, 8:16] = colours[0]
        up = np.repeat(np.repeat(cells, 10, axis=0), 10, axis=1)[:256, :256].astype(np.int16)
        up += rng.integers(-5, 6, up.shape, dtype=np.int16)
        renders.append(np.clip(up, 0, 255).astype(np.uint8))
    results = postprocess_asset(renders, jobs)
    assert {tuple(result.report["cell"]) for result in results} == {tuple(results[0].report["cell"])}
    assert results[0].report["cell"][0] == pytest.approx(10.0, abs=0.1)
    assert all(result.image.shape == (24, 24, 4) for result in results)
    consistency = results[0].report["grid_consistency"]
    assert 0 < consistency <= 1 and all(result.report["grid_consistency"] == consistency for result in results)


def test_a_sibling_frame_change_re_runs_every_frame_of_the_set(tmp_path: Path):
    before = make_plan(load_manifest(_clip_manifest(tmp_path)), RESOLVED)
    after = make_plan(load_manifest(_clip_manifest(tmp_path, "walk one")), RESOLVED)
    # Frame 1's render changed; frames 0 and 2 keep their renders but share its grid search.
    assert [p.render_key for p in before.posts][0::2] == [p.render_key for p in after.posts][0::2]
    assert all(b.key != a.key for b, a in zip(before.posts, after.posts))
