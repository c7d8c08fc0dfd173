"""Class 2: a cache job record names its object by digest only; anything else stops the build, never names a file."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from sec_helpers import MANIFEST, assert_one_error

from pixelgen.core.store import Store


def _post_entries(sandbox):
    return sorted((sandbox.cache / "jobs" / "post").glob("*/*.json"))


def _outputs_gone(sandbox) -> None:
    shutil.rmtree(sandbox.out)


RECORDS = {
    "dotdot": lambda s, d: {"object": "ab/../../../../../sentinel/important.txt", "meta": {}},
    "absolute": lambda s, d: {"object": str(s.sentinel / "important.txt"), "meta": {}},
    "int": lambda s, d: {"object": 12345, "meta": {}},
    "meta-string": lambda s, d: {"object": d, "meta": "x"},
    "list": lambda s, d: [d],
    "uppercase": lambda s, d: {"object": d.upper(), "meta": {}},
    "extra-key": lambda s, d: {"object": d, "meta": {}, "path": "/etc/passwd"},
}


@pytest.mark.parametrize("variant", sorted(RECORDS))
def test_hostile_cache_record_is_refused(sandbox, variant):
    entry = _post_entries(sandbox)[0]
    digest = json.loads(entry.read_text())["object"]
    entry.write_text(json.dumps(RECORDS[variant](sandbox, digest)))
    _outputs_gone(sandbox)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "cache entry", "pixelgen gc", "fix:")
    sandbox.sentinel_untouched()


def test_gc_drops_a_malformed_record_and_the_next_build_succeeds(sandbox):
    entry = _post_entries(sandbox)[0]
    entry.write_text("{not json")
    _outputs_gone(sandbox)
    assert_one_error(sandbox.run("build", MANIFEST), 1, "not valid JSON")
    assert sandbox.run("gc", MANIFEST).code == 0
    assert not entry.exists()
    result = sandbox.run("build", MANIFEST)  # post-processes again from the cached render: no torch
    assert result.code == 0, result.err
    assert sandbox.run("verify", MANIFEST).code == 0
    sandbox.sentinel_untouched()


def test_symlinked_object_is_not_read_through_and_its_target_survives(sandbox):
    entry = _post_entries(sandbox)[0]
    digest = json.loads(entry.read_text())["object"]
    obj = Store(sandbox.cache).object_path(digest)
    obj.unlink()
    os.symlink(sandbox.sentinel / "important.txt", obj)
    _outputs_gone(sandbox)
    result = sandbox.run("build", MANIFEST)
    assert result.code == 0, result.err
    sandbox.sentinel_untouched()
    assert not obj.is_symlink()


def test_corrupt_object_is_discarded_inside_the_cache_only(sandbox, caplog):
    entry = _post_entries(sandbox)[0]
    digest = json.loads(entry.read_text())["object"]
    Store(sandbox.cache).object_path(digest).write_bytes(b"tampered")
    _outputs_gone(sandbox)
    result = sandbox.run("build", MANIFEST)
    assert result.code == 0 and "corrupt" in result.err
    sandbox.sentinel_untouched()


def test_verify_reports_a_malformed_record_without_a_traceback(sandbox):
    for entry in _post_entries(sandbox):
        entry.write_text(json.dumps({"object": "../../x", "meta": {}}))
    result = sandbox.run("verify", MANIFEST)
    assert result.code == 1 and "Traceback" not in result.err + result.out
    assert "cache entry is malformed" in result.out
