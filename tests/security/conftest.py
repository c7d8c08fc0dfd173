"""Fixtures of the security suite: a project built once per session, copied per test beside a sentinel folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import run_cli
from sec_helpers import CACHE, MANIFEST, SEC_MANIFEST, Sandbox, make_sentinel, snapshot


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A project built once: lock, outputs, packed files, provenance and a warm cache."""
    project = tmp_path_factory.mktemp("sec-template") / "project"
    (project / "manifests").mkdir(parents=True)
    (project / MANIFEST).write_text(SEC_MANIFEST)
    models = project / CACHE / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 0, result.err
    return project


@pytest.fixture
def sandbox(tmp_path: Path, built_template: Path) -> Sandbox:
    project = tmp_path / "project"
    shutil.copytree(built_template, project, symlinks=True)
    sentinel = tmp_path / "sentinel"
    make_sentinel(sentinel)
    return Sandbox(tmp_path, project, sentinel, snapshot(sentinel))
