"""The README says only what is true: every command and option it shows exists, and the cheap ones run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_cli

from pixelgen.cli import cli

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text("utf-8")
SHOWN = re.compile(r"pixelgen (init|build|plan|status|watch|diff|verify|sbom|pixelize|validate|schema|gc)\b([^`|\n]*)")


def _shown_commands() -> list[tuple[str, str]]:
    return [(name, rest) for name, rest in SHOWN.findall(README)]


def test_every_command_and_option_the_readme_shows_exists():
    shown = _shown_commands()
    assert {name for name, _ in shown} >= {"init", "build", "plan", "status", "watch", "diff", "verify", "sbom", "validate", "schema", "gc"}
    for name, rest in shown:
        command = cli.commands[name]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest):
            assert flag in options, f"README shows `pixelgen {name} … {flag}`, which the command does not take"


def test_the_setup_commands_of_the_readme_are_the_ones_ci_runs():
    first, second = re.findall(r"^(bash scripts/setup\.sh[^#\n]*?)\s+#", README, re.M)[:2]
    assert first.strip() == "bash scripts/setup.sh && .venv/bin/pixelgen build manifests/demo.yaml"
    assert second.strip() == "bash scripts/setup.sh --test && .venv/bin/python -m pytest"
    assert second.strip() in (REPO / ".ci" / "run").read_text()
    assert (REPO / "manifests" / "demo.yaml").is_file()


def test_the_cheap_commands_of_the_readme_run(tmp_path):
    project = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", project / "manifests", ignore=shutil.ignore_patterns(".pixelgen", "*.lock.json"))
    assert run_cli(project, "validate", "manifests/demo.yaml").code == 0
    assert run_cli(project, "plan", "manifests/demo.yaml", "--json").code == 0
    assert run_cli(project, "status", "manifests/demo.yaml").code == 0
    assert run_cli(project, "schema").code == 0
    assert run_cli(project, "schema", "--markdown").out == (REPO / "docs" / "manifest.md").read_text("utf-8")
    game = tmp_path / "game"
    assert run_cli(tmp_path, "init", "game").code == 0
    assert run_cli(game, "validate", "manifests/game.yaml").code == 0


@pytest.mark.parametrize("link", sorted(set(re.findall(r"\]\(((?:docs|eval|bench)/[^)#]+)\)", README))))
def test_the_files_the_readme_links_exist(link):
    assert (REPO / link).exists(), link
