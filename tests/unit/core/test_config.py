"""pixelgen.toml / [tool.pixelgen]: where it is found, what wins, and how a bad value is reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pixelgen.core.config import BuildSettings, build_settings, find_config
from pixelgen.errors import InputError

NO_FLAGS = {"executor": None, "ray_address": None, "batch_size": None}


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repository root (with .git) and a manifest two folders below it."""
    root = tmp_path / "game"
    (root / ".git").mkdir(parents=True)
    manifest = root / "art" / "manifests" / "game.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("version: 1\n")
    return root, manifest


def _settings(manifest: Path, environ: dict | None = None, **flags) -> BuildSettings:
    return build_settings(manifest, {**NO_FLAGS, **flags}, environ or {})


def test_pixelgen_toml_beside_the_manifest_or_above_it_is_found(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    assert find_config(manifest.parent) is None
    (root / "pixelgen.toml").write_text('executor = "ray"\n')
    assert find_config(manifest.parent) == root / "pixelgen.toml"
    (manifest.parent / "pixelgen.toml").write_text('executor = "local"\n')
    assert find_config(manifest.parent) == manifest.parent / "pixelgen.toml"  # the nearest wins
    assert _settings(manifest).executor.value == "local"


def test_pyproject_counts_only_with_a_tool_pixelgen_table_and_pixelgen_toml_comes_first(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    (root / "pyproject.toml").write_text('[project]\nname = "game"\n')
    assert find_config(manifest.parent) is None
    (root / "pyproject.toml").write_text('[project]\nname = "game"\n\n[tool.pixelgen]\nexecutor = "ray"\nray-address = "auto"\n')
    assert find_config(manifest.parent) == root / "pyproject.toml"
    settings = _settings(manifest)
    assert (settings.executor.value, settings.ray_address.value) == ("ray", "auto")
    assert settings.executor.source == f"{root / 'pyproject.toml'}: tool.pixelgen.executor"
    (root / "pixelgen.toml").write_text("batch-size = 2\n")
    assert find_config(manifest.parent) == root / "pixelgen.toml"
    assert _settings(manifest).executor.value == "local"  # one file applies, not a merge of both


def test_the_walk_stops_at_the_repository_root(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    (tmp_path / "pixelgen.toml").write_text('executor = "ray"\n')  # above the checkout: not this repository's
    assert find_config(manifest.parent) is None
    (root / ".git").rmdir()
    (root / ".git").write_text("gitdir: /elsewhere\n")  # a worktree's .git is a file
    assert find_config(manifest.parent) is None
    (root / ".git").unlink()
    assert find_config(manifest.parent) == tmp_path / "pixelgen.toml"


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    assert _settings(manifest).executor.source == "default"
    assert _settings(manifest).batch_size.value == 1
    (root / "pixelgen.toml").write_text('executor = "ray"\nray-address = "10.0.0.1:6379"\nbatch-size = 4\n')
    from_file = _settings(manifest)
    assert (from_file.executor.value, from_file.ray_address.value, from_file.batch_size.value) == ("ray", "10.0.0.1:6379", 4)
    assert from_file.batch_size.source == f"{root / 'pixelgen.toml'}: batch-size"
    environ = {"PIXELGEN_EXECUTOR": "local", "PIXELGEN_BATCH_SIZE": "8"}
    from_env = _settings(manifest, environ)
    assert (from_env.executor.value, from_env.executor.source) == ("local", "$PIXELGEN_EXECUTOR")
    assert from_env.batch_size.value == 8
    assert from_env.ray_address.value is None  # the file's address is for builds that run on Ray
    from_flag = _settings(manifest, environ, executor="ray", batch_size=2)
    assert (from_flag.executor.value, from_flag.executor.source) == ("ray", "--executor")
    assert (from_flag.batch_size.value, from_flag.ray_address.value) == (2, "10.0.0.1:6379")
    assert "from --executor" in from_flag.describe() and "10.0.0.1:6379" in from_flag.describe()


def test_a_ray_address_flag_without_the_ray_executor_is_refused(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    with pytest.raises(InputError, match="--ray-address needs the ray executor.*from default"):
        _settings(manifest, ray_address="auto")
    (root / "pixelgen.toml").write_text('executor = "ray"\n')
    assert _settings(manifest, ray_address="auto").ray_address.value == "auto"  # the file chose Ray


@pytest.mark.parametrize(("text", "expected"), [
    ('executor = "slurm"\n', r"pixelgen.toml: executor = 'slurm': not an executor\n    fix: use one of 'local', 'ray'"),
    ("batch-size = 0\n", r"pixelgen.toml: batch-size = 0: not a batch size\n    fix: use a whole number from 1 to 64"),
    ('batch-size = "4"\n', r"batch-size = '4': not a batch size"),
    ("ray-address = 6379\n", r"ray-address = 6379: not a Ray address\n    fix: write \"auto\""),
    ('executer = "ray"\n', r"pixelgen.toml: executer: unknown setting \(did you mean 'executor'\?\)"),
    ('executor = "ray\n', r"pixelgen.toml: not valid TOML: .*line 1.*\n    fix: correct the syntax"),
])
def test_a_bad_setting_names_the_file_the_key_and_the_fix(tmp_path: Path, text: str, expected: str) -> None:
    root, manifest = _repo(tmp_path)
    (root / "pixelgen.toml").write_text(text)
    with pytest.raises(InputError, match=expected) as caught:
        _settings(manifest)
    assert str(root / "pixelgen.toml") in caught.value.message
    assert caught.value.exit_code == 2


def test_bad_values_in_pyproject_and_the_environment_say_where_they_are(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    (root / "pyproject.toml").write_text("[tool.pixelgen]\nbatch-size = 100\n")
    with pytest.raises(InputError, match=r"pyproject.toml: tool.pixelgen.batch-size = 100: not a batch size"):
        _settings(manifest)
    (root / "pyproject.toml").unlink()
    with pytest.raises(InputError, match=r"\$PIXELGEN_EXECUTOR = 'gpu': not an executor"):
        _settings(manifest, {"PIXELGEN_EXECUTOR": "gpu"})


SMALL = """\
version: 1
name: game
models: {tiny: {builtin: tiny-sdxl}}
palettes: {pico: {builtin: pico-8}}
defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico}
assets:
  - {id: hero, kind: sprite, prompt: a hero, seed: 1}
"""


def _pixelgen(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixelgen", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_bad_config_file_stops_the_command_line_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    manifest.write_text(SMALL)
    (root / "pixelgen.toml").write_text('executor = "cluster"\n')
    done = _pixelgen(root, "build", str(manifest), "--out", str(root / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {root / 'pixelgen.toml'}: executor = 'cluster': not an executor")
    assert "fix: use one of 'local', 'ray'" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "out").exists() and not manifest.with_name("game.lock.json").exists()
    assert not (manifest.parent / ".pixelgen").exists()


def test_config_settings_do_not_enter_the_plan(tmp_path: Path) -> None:
    root, manifest = _repo(tmp_path)
    manifest.write_text(SMALL)
    before = _pixelgen(root, "plan", str(manifest), "--json")
    (root / "pixelgen.toml").write_text('executor = "ray"\nray-address = "auto"\nbatch-size = 8\n')
    after = _pixelgen(root, "plan", str(manifest), "--json")
    assert before.returncode == after.returncode == 0, after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout)


def test_reading_settings_on_the_no_op_path_imports_little(tmp_path: Path) -> None:
    """The no-op shortcut reads the config file: no YAML, numpy, click, not even dataclasses (the errors' import)."""
    root, manifest = _repo(tmp_path)
    (root / "pyproject.toml").write_text('[project]\nname = "game"\ndependencies = ["pixelgen"]\n\n[tool.pixelgen]\nexecutor = "ray"\n')
    probe = ("import sys; import pixelgen.core.config as c; from pathlib import Path; "
             "print(c.build_settings(Path(sys.argv[1]), {}).executor.value); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in {'pixelgen', 'yaml', 'numpy', 'click', 'PIL', 'dataclasses'}))")
    done = subprocess.run([sys.executable, "-c", probe, str(manifest)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["ray", "['pixelgen', 'pixelgen.core', 'pixelgen.core.config']"]


@pytest.mark.parametrize(("text", "parsed"), [
    ('[project]\nname = "pixelgen"\n[project.scripts]\npixelgen = "pixelgen.fastcli:main"\n[tool.ruff]\nline-length = 140\n', False),
    ("[tool.pixelgen]\nbatch-size = 2\n", True),
    ('[tool]\n"pixelgen" = {batch-size = 2}\n', True),
    ("tool.pixelgen.batch-size = 2\n", True),
])
def test_a_pyproject_is_parsed_only_when_it_may_hold_the_table(tmp_path: Path, text: str, parsed: bool) -> None:
    from pixelgen.core import config

    (tmp_path / "pyproject.toml").write_text(text)
    assert bool(config._MAY_HAVE_TABLE.search(text.encode())) is parsed
    assert (find_config(tmp_path) is not None) is parsed


def test_the_executors_the_file_accepts_are_the_ones_the_build_knows() -> None:
    from pixelgen.core import config, executor

    assert config.EXECUTORS == executor.EXECUTORS
