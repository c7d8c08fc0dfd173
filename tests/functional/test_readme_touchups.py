"""The README's touch-ups walk-through (edit → adopt → prompt change → rebase) works as written."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from conftest import REPO

from pixelgen.formats.png import decode_png, encode_png

pytestmark = pytest.mark.slow


def readme_lines() -> list[str]:
    text = (REPO / "README.md").read_text("utf-8")
    block = re.search(r"<!-- touch-ups:[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert block, "the README lost its touch-ups walk-through"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_touchups_walkthrough_runs_as_written(tmp_path: Path, tiny_model_dir: Path):
    project = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", project / "manifests", ignore=shutil.ignore_patterns(".pixelgen", "*.lock.json"))
    models = project / "manifests" / ".pixelgen" / "cache" / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    stale = False
    codes = []
    for line in readme_lines():
        if line.startswith("# touch up "):
            # What the artist does in an editor: one pixel repainted.
            target = project / line.split()[3]
            image = decode_png(target.read_bytes())
            image[image.shape[0] // 2, image.shape[1] // 2] = (255, 0, 77, 255)
            target.write_bytes(encode_png(image))
            continue
        if line.startswith("# change the hero's prompt"):
            manifest = project / "manifests" / "demo.yaml"
            text = manifest.read_text()
            assert "side view" in text
            manifest.write_text(text.replace("side view", "front view", 1))
            stale = True
            continue
        assert line.startswith("pixelgen "), f"the walk-through has a line this test does not know: {line!r}"
        args = shlex.split(line.split("#", 1)[0])[1:]
        result = run_cli(project, *args)
        assert "Traceback" not in result.err
        codes.append((args, result.code))
        comment = line.split("#", 1)[1] if "#" in line else ""
        if "--check" in args:
            assert result.code == 1 and stale, result.out  # the override is based on the old prompt
        elif args[0] == "rebase-override" and "--prefer" not in args:
            assert result.code in (0, 1), result.err  # 1 only with a conflict image, as the comment says
            if result.code == 1:
                assert (project / "assets_out" / "demo" / "rebase" / "hero" / "seed1.png").is_file()
        else:
            assert result.code == 0, (line, result.out, result.err)
        if "warns: override of hero/seed1" in comment:
            assert "override of hero/seed1 is based on an old render: prompt changed" in result.err
        if args[0] == "diff":
            assert (project / "assets_out" / "demo" / "diff" / "overrides" / "hero" / "seed1.png").is_file()
    assert [args[0] for args, _ in codes].count("adopt") == 1 and stale
    # After the rebase and a build, the touch-up is current again: CI passes even with --overrides fail.
    assert run_cli(project, "build", "manifests/demo.yaml", "--only", "hero", "--check", "--overrides", "fail").code == 0
    edited = decode_png((project / "assets_out" / "demo" / "hero" / "seed1.png").read_bytes())
    assert tuple(edited[edited.shape[0] // 2, edited.shape[1] // 2]) == (255, 0, 77, 255)
    assert np.array_equal(edited.shape, (32, 32, 4))
