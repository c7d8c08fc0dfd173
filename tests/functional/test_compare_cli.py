"""``pixelgen compare``: a grid across variations, cached like builds, outside the build's outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run_cli

from pixelgen.commands.compare import grid_size
from pixelgen.files.hashing import sha256_file
from pixelgen.formats.png import decode_png

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def test_lora_weight_grid_is_cached_and_leaves_the_build_alone(project):
    from pixelgen.render.tiny import build_tiny_lora

    lora = build_tiny_lora(project / "manifests" / "loras" / "house.safetensors")
    path = project / MANIFEST
    path.write_text(path.read_text().replace("palettes:", f"loras:\n  house: {{path: loras/house.safetensors, sha256: {sha256_file(lora)}}}\npalettes:"))

    first = run_cli(project, "compare", MANIFEST, "--vary", "lora.house.weight=0,0.6,1.2", "--vary", "palette=pico,warm",
                    "--assets", "hero", "--json")
    assert first.code == 0, first.err
    result = json.loads(first.out)
    assert result["columns"] == [f"lora.house.weight={w}, palette={p}" for w in (0, 0.6, 1.2) for p in ("pico", "warm")]
    assert result["rows"] == ["hero/seed1.png", "hero/seed2.png"]
    # Three LoRA weights × two seeds need 6 renders; the palette only re-runs post-processing.
    assert result["rendered"] == 6
    grid_path = project / result["grid"]
    grid = decode_png(grid_path.read_bytes())
    assert (grid.shape[1], grid.shape[0]) == grid_size(6, 2)
    assert len(result["cells"]) == 12 and all("palette_compliance" in cell["scores"] for cell in result["cells"])

    page = (project / result["page"]).read_text()
    assert page.count("<img ") == 12 and page.count("<dt>palette_compliance</dt>") == 12

    # The LoRA weight changes the picture: columns differ.
    cells = {(c["row"], c["column"]): c["job"] for c in result["cells"]}
    assert len(set(cells.values())) == 12

    mtime = grid_path.stat().st_mtime_ns
    again = run_cli(project, "compare", MANIFEST, "--vary", "lora.house.weight=0,0.6,1.2", "--vary", "palette=pico,warm",
                    "--assets", "hero", "--json")
    repeat = json.loads(again.out)
    assert repeat["rendered"] == 0 and repeat["cached"] == 12
    assert grid_path.stat().st_mtime_ns == mtime

    assert not (project / "manifests" / "small.lock.json").exists()
    assert sorted(p.name for p in (project / "assets_out" / "small").iterdir()) == ["compare"]


def test_a_cell_equal_to_a_built_asset_comes_from_the_build_cache(project):
    assert run_cli(project, "build", MANIFEST, "--only", "slime-green").code == 0
    result = run_cli(project, "compare", MANIFEST, "--vary", "render.guidance=3.0,6.0", "--assets", "slime-green", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["rendered"] == 1 and summary["cached"] == 1  # guidance 3.0 is the manifest's own
    built = decode_png((project / "assets_out" / "small" / "slime-green" / "default.png").read_bytes())
    assert built.shape[:2] == (16, 16)
    assert np.array_equal(decode_png((project / "assets_out" / "small" / "compare" / "grid.png").read_bytes()).shape,
                          (grid_size(2, 1)[1], grid_size(2, 1)[0], 4))


def test_bad_variations_are_input_errors(project):
    bad = run_cli(project, "compare", MANIFEST, "--vary", "seed")
    assert bad.code == 2 and "write KEY=VALUE1,VALUE2" in bad.err
    unknown = run_cli(project, "compare", MANIFEST, "--vary", "seed=1,2", "--assets", "dragon")
    assert unknown.code == 2 and "dragon" in unknown.err
    invalid = run_cli(project, "compare", MANIFEST, "--vary", "render.steps=0,2")
    assert invalid.code == 2 and "small.yaml" in invalid.err and "steps" in invalid.err
