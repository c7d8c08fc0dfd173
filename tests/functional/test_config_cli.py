"""pixelgen.toml through the command line: the summary says what chose the executor; a broken file stops even a no-op build."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_subprocess

ONE_SPRITE = """\
version: 1
name: game
models: {tiny: {builtin: tiny-sdxl}}
palettes: {pico: {builtin: pico-8}}
defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico}
assets:
  - {id: hero, kind: sprite, prompt: a hero, seed: 1}
"""


def test_the_summary_names_the_config_key_and_a_broken_file_stops_a_no_op_build(project: Path) -> None:
    (project / ".git").mkdir()
    (project / "manifests" / "game.yaml").write_text(ONE_SPRITE)
    config = project / "pixelgen.toml"
    config.write_text('# where this repository builds\nexecutor = "local"\nbatch-size = 2\n')
    first = run_subprocess(project, "build", "manifests/game.yaml", "--json")
    assert first.code == 0, first.err
    summary = json.loads(first.out)
    assert summary["built"] == 1
    assert summary["executor"] == {"name": "local", "from": f"{config}: executor"}

    # Nothing to do: the no-op shortcut answers, and no executor ran.
    again = run_subprocess(project, "build", "manifests/game.yaml", "--json")
    assert again.code == 0 and json.loads(again.out)["executor"] is None and json.loads(again.out)["up_to_date"] == 1

    verbose = run_subprocess(project, "build", "manifests/game.yaml", "-v", env={"PIXELGEN_EXECUTOR": "local"})
    assert verbose.code == 0 and "executor local (from $PIXELGEN_EXECUTOR)" in verbose.err

    config.write_text('executor = "local"\nbatch-size = "two"\n')
    broken = run_subprocess(project, "build", "manifests/game.yaml", "--json")
    assert broken.code == 2
    assert f"{config}: batch-size = 'two': not a batch size" in broken.err and "Traceback" not in broken.err
    assert json.loads(broken.out)["exit_code"] == 2
