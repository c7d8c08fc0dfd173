"""Class 1: paths and digests from a hand-edited lock (or a lock given to diff --against) are refused, never acted on."""

from __future__ import annotations

import json

import pytest
from sec_helpers import LOCK, MANIFEST, assert_one_error


def _hostile_output_keys(sandbox) -> dict[str, str]:
    target = sandbox.sentinel / "important.txt"
    return {
        "dotdot": "../../../sentinel/important.txt",
        "dotdot-inside": "hero/../../../../sentinel/important.txt",
        "absolute": str(target),
        "drive-letter": "C:/sentinel/important.txt",
        "backslash": "..\\..\\..\\sentinel\\important.txt",
        "empty-segment": "hero//default.png",
        "dot-segment": "./hero/default.png",
        "empty": "",
        "nul": "hero/\x00.png",
    }


def _lock(sandbox) -> dict:
    return json.loads(sandbox.lock_path.read_text())


def _write_lock(sandbox, data: dict) -> None:
    sandbox.lock_path.write_text(json.dumps(data))


def _steal_key(data: dict, section: str, new_key: str) -> None:
    old_key = sorted(data[section])[0]
    data[section][new_key] = data[section].pop(old_key)


@pytest.mark.parametrize("variant", ["dotdot", "dotdot-inside", "absolute", "drive-letter", "backslash", "empty-segment", "dot-segment", "empty", "nul"])
@pytest.mark.parametrize("section", ["outputs", "packs"])
def test_hostile_lock_path_stops_the_build_and_touches_nothing(sandbox, variant, section):
    data = _lock(sandbox)
    _steal_key(data, section, _hostile_output_keys(sandbox)[variant])
    _write_lock(sandbox, data)
    out_before = sorted(p.name for p in sandbox.out.rglob("*"))
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "lock file is corrupt", "fix:", "delete the lock file")
    sandbox.sentinel_untouched()
    assert sorted(p.name for p in sandbox.out.rglob("*")) == out_before


@pytest.mark.parametrize("command", [["status", MANIFEST], ["plan", MANIFEST], ["verify", MANIFEST], ["gc", MANIFEST], ["diff", MANIFEST, "--against", LOCK]])
def test_every_command_refuses_a_lock_with_an_escaping_path(sandbox, command):
    data = _lock(sandbox)
    _steal_key(data, "outputs", "../../../sentinel/important.txt")
    _write_lock(sandbox, data)
    result = sandbox.run(*command)
    assert_one_error(result, 1, "lock file is corrupt")
    sandbox.sentinel_untouched()


@pytest.mark.parametrize("mutate", [
    lambda d: d.__setitem__("outputs", list(d["outputs"])),
    lambda d: d.__setitem__("packs", "x"),
    lambda d: d["outputs"][sorted(d["outputs"])[0]].__setitem__("sha256", "../../x"),
    lambda d: d["outputs"][sorted(d["outputs"])[0]].__setitem__("post_key", "/etc/passwd"),
    lambda d: d["outputs"][sorted(d["outputs"])[0]].__setitem__("render_key", 12345),
    lambda d: d["outputs"][sorted(d["outputs"])[0]].__setitem__("seed", "3"),
    lambda d: d["outputs"][sorted(d["outputs"])[0]].__setitem__("extra", 1),
    lambda d: d["outputs"].__setitem__("hero/x.png", "not a record"),
    lambda d: d["packs"][sorted(d["packs"])[0]].__setitem__("sha256", "AB" * 32),
    lambda d: d["models"].__setitem__("tiny", {"identity": {}, "files_sha256": "zz"}),
], ids=["outputs-list", "packs-string", "sha-path", "key-absolute", "key-int", "seed-string", "unknown-field", "entry-string", "uppercase-digest", "model-digest"])
def test_malformed_lock_is_a_clear_error_not_a_traceback(sandbox, mutate):
    data = _lock(sandbox)
    mutate(data)
    _write_lock(sandbox, data)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "lock file is corrupt")
    sandbox.sentinel_untouched()


def test_lock_that_is_not_json_or_not_a_file(sandbox):
    sandbox.lock_path.write_text("{broken")
    assert_one_error(sandbox.run("build", MANIFEST), 1, "not valid JSON", "fix:")
    sandbox.lock_path.unlink()
    sandbox.lock_path.mkdir()
    assert_one_error(sandbox.run("build", MANIFEST), 1, "is a folder")
    sandbox.sentinel_untouched()


def test_diff_against_a_hostile_lock_writes_nothing_outside_out(sandbox):
    other = sandbox.root / "other.lock.json"
    data = _lock(sandbox)
    _steal_key(data, "outputs", "../../../../sentinel/important.txt")
    other.write_text(json.dumps(data))
    result = sandbox.run("diff", MANIFEST, "--against", str(other))
    assert_one_error(result, 1, "corrupt")
    assert_one_error(sandbox.run("diff", MANIFEST, "--against", "--output=/tmp/x"), 2, "neither an existing lock file nor a git ref")
    sandbox.sentinel_untouched()


def test_removed_asset_output_is_deleted_only_when_it_is_the_file_pixelgen_wrote(sandbox):
    """A removed asset's outputs go, but a file whose bytes someone changed stays (with a warning)."""
    data = _lock(sandbox)
    edited = sandbox.out / "hero" / "default.png"
    edited.write_bytes(edited.read_bytes() + b"edited")
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - id: hero")] + text[text.index("  - id: walker"):])
    result = sandbox.run("build", MANIFEST)
    assert result.code == 0, result.err
    assert edited.is_file() and "kept in" in result.err
    assert "hero/default.png" not in _lock(sandbox)["outputs"]
    assert set(data["outputs"]) - {"hero/default.png"} == set(_lock(sandbox)["outputs"])
    sandbox.sentinel_untouched()
