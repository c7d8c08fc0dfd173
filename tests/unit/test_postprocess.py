import textwrap
from pathlib import Path

import numpy as np

from pixelgen.manifest import load_manifest
from pixelgen.plan import make_plan
from pixelgen.postprocess import postprocess_asset
from pixelgen.resolve import Resolved

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
