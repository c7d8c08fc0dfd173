from pathlib import Path

from pixelgen.files.hashing import (
    FileDigestCache,
    canonical_json,
    content_key,
    sha256_bytes,
    sha256_file,
    sha256_tree,
)


def test_canonical_json_is_order_independent_and_compact():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode("utf-8")
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})


def test_content_key_golden():
    # Golden value produced independently with:
    #   printf '%s' '{"prompt":"a knight","seed":1}' | sha256sum
    assert content_key({"seed": 1, "prompt": "a knight"}) == "0e00af7c77cc8ab24b9de5f8918b55ddb55624e2bf5105303256df56c3b23e61"


def test_sha256_helpers_agree(tmp_path: Path):
    data = b"pixel" * 1000
    (tmp_path / "a.bin").write_bytes(data)
    assert sha256_file(tmp_path / "a.bin") == sha256_bytes(data)
    first = sha256_tree(tmp_path)
    (tmp_path / "b.bin").write_bytes(b"x")
    assert sha256_tree(tmp_path) != first


def test_file_digest_cache_rehashes_only_changed_files(tmp_path: Path):
    target = tmp_path / "weights.safetensors"
    target.write_bytes(b"one")
    memo = tmp_path / "memo.json"
    cache = FileDigestCache(memo)
    assert cache.file(target) == sha256_bytes(b"one")
    cache.save()
    assert memo.is_file()
    target.write_bytes(b"two!")  # size changes, so the stat signature changes
    assert FileDigestCache(memo).file(target) == sha256_bytes(b"two!")
