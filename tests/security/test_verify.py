"""Class 5: verify re-derives outputs from the cache; a build stops on swapped model bytes."""

from __future__ import annotations

import json
import os
import time

import pytest
from sec_helpers import MANIFEST, assert_one_error

from pixelgen.files.hashing import sha256_bytes
from pixelgen.formats.png import decode_png, encode_png


def _forge(sandbox, path: str, data: bytes) -> None:
    """Replace an output and write its new digest into the lock and the provenance statement, consistently."""
    target = sandbox.out / path
    old = sha256_bytes(target.read_bytes())
    target.write_bytes(data)
    new = sha256_bytes(data)
    lock = json.loads(sandbox.lock_path.read_text())
    section = "outputs" if path in lock["outputs"] else "packs"
    lock[section][path]["sha256"] = new
    sandbox.lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    statement = sandbox.out / "provenance.intoto.json"
    statement.write_text(statement.read_text().replace(old, new))


def _edited_png(path) -> bytes:
    pixels = decode_png(path.read_bytes()).copy()
    pixels[0, 0] = (255 - pixels[0, 0]).clip(0, 255)
    return encode_png(pixels)


@pytest.mark.parametrize("path", ["hero/default.png", "walker/walk-0.png"])
def test_an_output_forged_with_lock_and_provenance_fails_verify(sandbox, path):
    assert sandbox.run("verify", MANIFEST).code == 0
    _forge(sandbox, path, _edited_png(sandbox.out / path))
    result = sandbox.run("verify", MANIFEST)
    assert result.code == 1 and "Traceback" not in result.err
    assert f"{path}: differs from the image its job" in result.out


def test_a_forged_packed_file_fails_verify(sandbox):
    lock = json.loads(sandbox.lock_path.read_text())
    path = next(p for p in sorted(lock["packs"]) if p.endswith(".json"))
    _forge(sandbox, path, (sandbox.out / path).read_bytes().replace(b'"w"', b'"W"', 1) + b" ")
    result = sandbox.run("verify", MANIFEST)
    assert result.code == 1 and f"{path}: differs from the file packed again" in result.out


def test_a_lock_edited_alone_fails_verify(sandbox):
    lock = json.loads(sandbox.lock_path.read_text())
    lock["outputs"]["hero/default.png"]["sha256"] = "0" * 64
    sandbox.lock_path.write_text(json.dumps(lock))
    result = sandbox.run("verify", MANIFEST)
    assert result.code == 1 and "hero/default.png" in result.out


def _model_weights(sandbox):
    return max((p for p in (sandbox.cache / "models").rglob("*.safetensors")), key=lambda p: p.stat().st_size)


def _flip_byte_keep_mtime(path) -> None:
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # same size, old mtime restored


def test_a_same_size_model_edit_with_the_old_mtime_fails_verify(sandbox):
    assert sandbox.run("verify", MANIFEST).code == 0  # fills the digest memo
    time.sleep(0.01)
    _flip_byte_keep_mtime(_model_weights(sandbox))
    result = sandbox.run("verify", MANIFEST)
    assert result.code == 1 and "model tiny" in result.out
    result = sandbox.run("verify", MANIFEST, "--full")
    assert result.code == 1 and "model tiny" in result.out


def test_a_build_stops_when_model_bytes_changed_under_the_same_identity(sandbox):
    lock_before = sandbox.lock_path.read_bytes()
    _flip_byte_keep_mtime(_model_weights(sandbox))
    (sandbox.project / MANIFEST).write_text((sandbox.project / MANIFEST).read_text().replace("a hero", "a brave hero"))
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "model 'tiny'", "differ from those", "fix:")
    assert sandbox.lock_path.read_bytes() == lock_before  # not re-recorded
    assert sandbox.run("verify", MANIFEST).code == 1
    sandbox.sentinel_untouched()


@pytest.mark.slow
def test_a_truncated_builtin_model_is_reported_as_damaged(sandbox):
    """No lock to compare with: the load fails, and the message says what to delete (not HF_HUB_OFFLINE)."""
    weights = _model_weights(sandbox)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    sandbox.lock_path.unlink()
    for entry in (sandbox.cache / "jobs").rglob("*.json"):
        entry.unlink()
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "damaged", "fix: delete")
    assert "HF_HUB_OFFLINE" not in result.err
