import json
from pathlib import Path

from pixelgen.files.hashing import FileDigestCache
from pixelgen.files.trust import cache_key


def test_keys_differ_per_cache_and_per_user(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PIXELGEN_STATE_DIR", str(tmp_path / "me"))
    one, two = cache_key(tmp_path / "a"), cache_key(tmp_path / "b")
    assert one and two and one != two and cache_key(tmp_path / "a") == one
    assert oct((tmp_path / "me" / "memo.key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("PIXELGEN_STATE_DIR", str(tmp_path / "someone-else"))
    assert cache_key(tmp_path / "a") != one


def test_a_digest_memo_without_a_valid_mac_is_ignored(tmp_path: Path):
    cache = tmp_path / "cache"
    cache.mkdir()
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    memo = FileDigestCache(cache / "file-digests.json")
    real = memo.file(weights)
    memo.save()
    stored = json.loads((cache / "file-digests.json").read_text())
    entry = stored["entries"][str(weights.resolve())]
    entry[4] = "0" * 64  # a forged digest for the same signature
    (cache / "file-digests.json").write_text(json.dumps(stored))
    assert FileDigestCache(cache / "file-digests.json").file(weights) == real


def test_the_digest_memo_notices_a_same_size_edit_with_the_old_mtime(tmp_path: Path):
    import os

    cache = tmp_path / "cache"
    cache.mkdir()
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    memo = FileDigestCache(cache / "file-digests.json")
    before = memo.file(weights)
    info = weights.stat()
    weights.write_bytes(b"weightz")
    os.utime(weights, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert memo.file(weights) != before  # ctime changed
    assert FileDigestCache(None).file(weights) == memo.file(weights)
