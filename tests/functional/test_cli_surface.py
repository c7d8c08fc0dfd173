"""The CLI's common surface: --json everywhere, -v/-q after the command, several manifests at once."""

from __future__ import annotations

import json
import re

from cli_helpers import run_cli

from pixelgen.cli import cli

MANIFEST = "manifests/small.yaml"


def test_every_command_takes_json_and_verbosity_after_its_name():
    for name, command in cli.commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert "--json" in options, name
        if name != "pixelize":  # being rewritten elsewhere
            assert {"-v", "-q"} <= options, name


def test_validate_and_status_take_several_manifests(project):
    (project / "manifests" / "second.yaml").write_text((project / MANIFEST).read_text().replace("name: small", "name: second"))
    (project / "manifests" / "broken.yaml").write_text("version: 1\nname: [broken\n")
    both = run_cli(project, "validate", MANIFEST, "manifests/second.yaml", "-v")
    assert both.code == 0 and both.out.count(": valid (") == 2
    with_broken = run_cli(project, "validate", MANIFEST, "manifests/broken.yaml", "manifests/second.yaml", "--json")
    assert with_broken.code == 2 and "broken.yaml" in with_broken.err and "Traceback" not in with_broken.err
    results = json.loads(with_broken.out)
    assert [r.get("valid", False) for r in results] == [True, False, True]
    assert results[1]["exit_code"] == 2
    status = run_cli(project, "status", MANIFEST, "manifests/second.yaml", "--json", "-q")
    assert status.code == 0
    assert [s["manifest"] for s in json.loads(status.out)] == ["small", "second"]


def test_json_error_object_and_quiet_build(project):
    path = project / MANIFEST
    path.write_text(path.read_text().replace("steps: 2", "steps: -1"))
    result = run_cli(project, "build", MANIFEST, "--json")
    assert result.code == 2
    error = json.loads(result.out)
    assert error["exit_code"] == 2 and error["problems"][0]["where"].endswith("/defaults/render/steps")
    path.write_text(path.read_text().replace("steps: -1", "steps: 2"))
    quiet = run_cli(project, "build", MANIFEST, "-q", "--only", "hero")
    assert quiet.code == 0 and "progress" not in quiet.err and quiet.err == ""
    loud = run_cli(project, "build", MANIFEST)
    assert loud.code == 0
    assert "starting the renderer" in loud.err and "loading model 'tiny'" in loud.err
    assert re.search(r"progress: \d+/\d+ jobs (slime|ground|hud)", loud.err), loud.err


def test_click_usage_errors_stay_one_message(project):
    result = run_cli(project, "build")
    assert result.code == 2 and "Traceback" not in result.err


def test_init_scaffolds_a_valid_manifest_and_never_overwrites(tmp_path):
    (tmp_path / ".gitignore").write_text("build/\n")
    first = run_cli(tmp_path, "init", "game")
    assert first.code == 0, first.err
    assert "pixelgen build manifests/game.yaml" in first.out
    game = tmp_path / "game"
    manifest = (game / "manifests" / "game.yaml").read_text()
    assert manifest.count("#") > 10  # commented
    assert ".pixelgen/" in (game / ".gitignore").read_text().splitlines()
    valid = run_cli(game, "validate", "manifests/game.yaml")
    assert valid.code == 0 and "valid (3 assets" in valid.out, valid.err
    again = run_cli(tmp_path, "init", "game")
    assert again.code == 2 and "never overwrites" in again.err and "Traceback" not in again.err
    here = run_cli(tmp_path, "init", "--json")
    assert here.code == 0
    assert (tmp_path / ".gitignore").read_text().startswith("build/\n")  # kept, lines added
    assert "assets_out/" in (tmp_path / ".gitignore").read_text()
    assert json.loads(here.out)["manifest"] == "manifests/game.yaml"
