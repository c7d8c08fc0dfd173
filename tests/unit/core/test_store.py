from pathlib import Path

from pixelgen.core.store import Store
from pixelgen.files.hashing import sha256_bytes


def test_put_get_round_trip_and_levels_are_separate(tmp_path: Path):
    store = Store(tmp_path)
    digest = store.put("render", "c" * 64, b"png bytes", {"batch_size": 2})
    assert digest == sha256_bytes(b"png bytes")
    hit = store.get("render", "c" * 64)
    assert hit.data == b"png bytes" and hit.meta == {"batch_size": 2}
    assert store.get("post", "c" * 64) is None
    assert store.object_path(digest).relative_to(tmp_path).parts[:3] == ("objects", "sha256", digest[:2])


def test_corrupt_object_is_discarded_with_a_warning(tmp_path: Path, caplog):
    store = Store(tmp_path)
    digest = store.put("post", "a" * 64, b"asset")
    store.object_path(digest).write_bytes(b"tampered")
    assert store.get("post", "a" * 64) is None
    assert "corrupt" in caplog.text
    assert not store.object_path(digest).exists() and not store.has("post", "a" * 64)


def test_gc_keeps_only_referenced_entries_and_their_objects(tmp_path: Path):
    store = Store(tmp_path)
    store.put("render", "1" * 64, b"kept")
    store.put("render", "2" * 64, b"dropped")
    shared = store.put("post", "3" * 64, b"shared")
    store.put("post", "4" * 64, b"shared")  # same bytes, other key
    removed, freed = store.gc({"render": {"1" * 64}, "post": {"3" * 64}})
    assert removed == 2 and freed == len(b"dropped")
    assert store.get("render", "1" * 64).data == b"kept"
    assert store.get("post", "3" * 64).digest == shared
    assert store.get("render", "2" * 64) is None
