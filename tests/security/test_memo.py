"""Class 4: nothing in the cache can make a build skip validation."""

from __future__ import annotations

import os

import pytest
from sec_helpers import MANIFEST, assert_one_error

from pixelgen.files.hashing import sha256_bytes
from pixelgen.manifest import load as manifest_load
from pixelgen.manifest import manifest_schema_text

BAD_NAMES = ['"../../../sentinel/x"', '"/tmp/evil"', '"con"', '"a b"']


def _make_invalid(sandbox, bad_name: str) -> bytes:
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text().replace("name: sec", f"name: {bad_name}")
    manifest.write_text(text)
    return text.encode()


def _memo_dir(sandbox):
    return sandbox.cache / "validated"


@pytest.mark.parametrize("bad_name", BAD_NAMES)
def test_a_memo_in_the_old_unauthenticated_layout_is_ignored(sandbox, bad_name):
    raw = _make_invalid(sandbox, bad_name)
    planted = _memo_dir(sandbox) / sha256_bytes(manifest_schema_text().encode())[:16] / sha256_bytes(raw)
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"")
    result = sandbox.run("build", MANIFEST)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err and ("not a safe name" in result.err or "reserved" in result.err)
    sandbox.sentinel_untouched()
    assert not (sandbox.project / "assets_out" / "x").exists()


@pytest.mark.parametrize("bad_name", BAD_NAMES[:2])
def test_a_memo_made_with_someone_elses_key_is_ignored(sandbox, bad_name, tmp_path, monkeypatch):
    raw = _make_invalid(sandbox, bad_name)
    own_state = os.environ["PIXELGEN_STATE_DIR"]
    monkeypatch.setenv("PIXELGEN_STATE_DIR", str(tmp_path / "attacker-state"))
    planted = manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw))
    monkeypatch.setenv("PIXELGEN_STATE_DIR", own_state)
    assert planted is not None and planted != manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw))
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"")
    assert_one_error(sandbox.run("build", MANIFEST), 2, "not a safe name")
    sandbox.sentinel_untouched()


def test_a_flood_of_memo_names_does_not_help(sandbox):
    raw = _make_invalid(sandbox, BAD_NAMES[0])
    folder = _memo_dir(sandbox)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (sha256_bytes(raw), sha256_bytes(raw + b"x"), "0" * 64, "f" * 64):
        (folder / name).write_bytes(b"")
    assert_one_error(sandbox.run("build", MANIFEST), 2, "not a safe name")
    sandbox.sentinel_untouched()


def test_the_semantic_checks_run_even_with_a_valid_memo(sandbox, monkeypatch):
    """Even our own valid memo only skips the JSON Schema pass; names that become paths are still checked."""
    raw = _make_invalid(sandbox, BAD_NAMES[0])
    memo = manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw))
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_bytes(b"")
    assert_one_error(sandbox.run("build", MANIFEST), 2, "not a safe name")
    sandbox.sentinel_untouched()


def test_a_good_manifest_gets_a_memo_named_by_its_mac(sandbox):
    raw = (sandbox.project / MANIFEST).read_bytes()
    memo = manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw))
    assert memo is not None and len(memo.name) == 64
    assert sandbox.run("build", MANIFEST).code == 0
    assert memo.is_file()


def test_the_memo_key_differs_per_cache_and_per_version(sandbox, monkeypatch, tmp_path):
    raw = (sandbox.project / MANIFEST).read_bytes()
    one = manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw))
    other = manifest_load._memo_path(tmp_path / "other-cache" / "validated", sha256_bytes(raw))
    assert one.name != other.name
    import pixelgen

    monkeypatch.setattr(pixelgen, "__version__", "0.0.0-other")
    assert manifest_load._memo_path(_memo_dir(sandbox), sha256_bytes(raw)).name != one.name
