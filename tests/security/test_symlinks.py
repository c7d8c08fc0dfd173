"""Class 3: no walk, write or deletion follows a symlinked folder in OUT, the deploy folder or the cache."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from sec_helpers import MANIFEST, assert_one_error, snapshot

from pixelgen.core.store import Store


def _link_folder(link, target) -> None:
    if link.exists() or link.is_symlink():
        shutil.rmtree(link) if link.is_dir() and not link.is_symlink() else link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link, target_is_directory=True)


def test_gc_does_not_delete_through_symlinked_cache_folders(sandbox):
    objects = sandbox.cache / "objects" / "sha256"
    _link_folder(objects / "ab", sandbox.sentinel)  # the sentinel holds a file named like an object
    _link_folder(sandbox.cache / "jobs" / "render" / "cd", sandbox.sentinel)
    _link_folder(sandbox.cache / "models" / "evil", sandbox.sentinel)  # holds .evil.tmp
    result = sandbox.run("gc", MANIFEST)
    assert result.code == 0, result.err
    sandbox.sentinel_untouched()


def test_gc_does_not_enter_a_symlinked_objects_folder(sandbox):
    objects = sandbox.cache / "objects"
    shutil.rmtree(objects)
    (sandbox.sentinel / "sha256").mkdir()
    (sandbox.sentinel / "sha256" / "ab").mkdir()
    (sandbox.sentinel / "sha256" / "ab" / ("cd" * 31)).write_bytes(b"x")
    before = snapshot(sandbox.sentinel)
    os.symlink(sandbox.sentinel, objects)
    assert sandbox.run("gc", MANIFEST).code == 0
    assert snapshot(sandbox.sentinel) == before


@pytest.mark.parametrize("folder", ["hero", "walker"])
def test_build_does_not_write_through_a_symlinked_folder_in_out(sandbox, folder):
    _link_folder(sandbox.out / folder, sandbox.sentinel)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "symbolic link", "fix:")
    sandbox.sentinel_untouched()


def test_symlinked_output_folder_itself_is_refused(sandbox):
    shutil.rmtree(sandbox.out)
    os.symlink(sandbox.sentinel, sandbox.out, target_is_directory=True)
    assert_one_error(sandbox.run("build", MANIFEST), 1, "symbolic link")
    sandbox.sentinel_untouched()


def test_symlinked_output_file_is_replaced_not_written_through(sandbox):
    target = sandbox.out / "hero" / "default.png"
    target.unlink()
    os.symlink(sandbox.sentinel / "important.txt", target)
    result = sandbox.run("build", MANIFEST)
    assert result.code == 0, result.err
    assert not target.is_symlink() and target.read_bytes().startswith(b"\x89PNG")
    sandbox.sentinel_untouched()


def test_removing_an_asset_does_not_delete_in_a_symlinked_folder(sandbox):
    """The lock records hero/default.png; OUT/hero now points at the sentinel, which holds a file with those bytes."""
    lock = json.loads(sandbox.lock_path.read_text())
    (sandbox.sentinel / "default.png").write_bytes((sandbox.out / "hero" / "default.png").read_bytes())
    sandbox.before = snapshot(sandbox.sentinel)
    _link_folder(sandbox.out / "hero", sandbox.sentinel)
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - id: hero")] + text[text.index("  - id: walker"):])
    result = sandbox.run("build", MANIFEST)
    assert "Traceback" not in result.err
    sandbox.sentinel_untouched()
    assert "hero/default.png" in lock["outputs"]


@pytest.mark.parametrize("where", ["subfolder", "deploy-root-child"])
def test_deploy_does_not_write_through_symlinked_folders(sandbox, where):
    deploy = sandbox.project / "game" / "assets"
    deploy.mkdir(parents=True)
    _link_folder(deploy / ("hero" if where == "subfolder" else "walker"), sandbox.sentinel)
    shutil.rmtree(sandbox.out)  # so outputs are rewritten and deployed
    result = sandbox.run("build", MANIFEST, "--deploy", str(deploy))
    assert_one_error(result, 1, "symbolic link")
    sandbox.sentinel_untouched()


def test_cache_shard_symlink_is_not_written_through(sandbox):
    store = Store(sandbox.cache)
    shutil.rmtree(sandbox.cache / "objects")
    (sandbox.cache / "objects").mkdir()
    _link_folder(sandbox.cache / "objects" / "sha256", sandbox.sentinel)
    shutil.rmtree(sandbox.cache / "jobs" / "post")
    shutil.rmtree(sandbox.out)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "symbolic link")
    sandbox.sentinel_untouched()
    assert store.root == sandbox.cache


def test_a_symlinked_models_folder_in_the_cache_is_not_built_into(sandbox):
    shutil.rmtree(sandbox.cache / "models")
    os.symlink(sandbox.sentinel, sandbox.cache / "models", target_is_directory=True)
    for entry in (sandbox.cache / "jobs").rglob("*.json"):
        entry.unlink()  # everything must render again, so the model is needed
    shutil.rmtree(sandbox.out)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "symbolic link")
    sandbox.sentinel_untouched()
