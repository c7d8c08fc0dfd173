"""The shared cache on object storage: write-once objects, race-safe job records, re-hash on read, read-through, gc."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from gcs_helpers import gcs_server, new_gcs_bucket
from s3_helpers import new_bucket, s3_server

from pixelgen.core.remote_store import (
    RemoteStore,
    SharedStore,
    cache_location,
    is_url,
    open_store,
)
from pixelgen.core.store import Store
from pixelgen.files.hashing import sha256_bytes

KEY = "ab" + "1" * 62
OTHER = "cd" + "2" * 62


@pytest.fixture(scope="module")
def s3():
    with s3_server() as environment:
        yield environment


@pytest.fixture(scope="module")
def gcs():
    with gcs_server() as environment:
        yield environment


@pytest.fixture(params=["s3", "gs", "file"])
def remote(request, tmp_path: Path) -> RemoteStore:
    """The same store over a local S3 server, a local GCS emulator (gcsfs) and a shared folder (file://)."""
    if request.param == "s3":
        request.getfixturevalue("s3")
        return RemoteStore(new_bucket())
    if request.param == "gs":
        request.getfixturevalue("gcs")
        return RemoteStore(new_gcs_bucket())
    return RemoteStore(f"file://{tmp_path / 'shared'}")


def test_cache_location_keeps_urls_and_paths_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "game.yaml"
    monkeypatch.delenv("PIXELGEN_CACHE", raising=False)
    monkeypatch.delenv("PIXELGEN_CACHE_LOCAL", raising=False)
    assert cache_location(manifest, None) == (tmp_path / ".pixelgen" / "cache", None)
    assert cache_location(manifest, tmp_path / "c") == (tmp_path / "c", None)
    assert cache_location(manifest, "s3://bucket/prefix/") == (tmp_path / ".pixelgen" / "cache", "s3://bucket/prefix")
    monkeypatch.setenv("PIXELGEN_CACHE", "gs://bucket/x")
    monkeypatch.setenv("PIXELGEN_CACHE_LOCAL", str(tmp_path / "local"))
    assert cache_location(manifest, None) == (tmp_path / "local", "gs://bucket/x")
    assert is_url("s3://b") and is_url("file:///x") and not is_url("/tmp/x") and not is_url("c:\\x")
    assert type(open_store(tmp_path, None)) is Store


def test_round_trip_and_write_once(remote: RemoteStore) -> None:
    data = b"a render"
    digest = sha256_bytes(data)
    remote.store("render", KEY, data, digest, {"batch_size": 1})
    hit = remote.fetch("render", KEY)
    assert hit is not None and hit.data == data and hit.digest == digest and hit.meta == {"batch_size": 1}
    assert remote.fetch("post", KEY) is None and remote.fetch("render", OTHER) is None
    object_path = remote.object_path(digest)
    written = remote.fs.modified(object_path)
    remote.store("render", OTHER, data, digest, {})  # the same bytes for another job: the object is not written again
    assert remote.fs.modified(object_path) == written
    assert remote.fetch("render", OTHER).data == data


def test_racing_builders_never_overwrite_each_other_and_readers_agree(remote: RemoteStore) -> None:
    """Two builders store different bytes for one job key (GPU non-determinism): both records stay, all readers pick one."""
    first, second = b"bytes from builder one", b"bytes from builder two"
    remote.store("render", KEY, first, sha256_bytes(first), {"by": 1})
    remote.store("render", KEY, second, sha256_bytes(second), {"by": 2})
    records = remote.records("render", KEY)
    assert sorted(r.digest for r in records) == sorted([sha256_bytes(first), sha256_bytes(second)])
    chosen = min(records, key=lambda r: r.path)
    assert remote.fetch("render", KEY).digest == chosen.digest
    assert RemoteStore(remote.url).fetch("render", KEY).digest == chosen.digest  # another reader, the same answer


def test_a_corrupt_object_is_skipped_for_the_next_intact_record(remote: RemoteStore, caplog: pytest.LogCaptureFixture) -> None:
    good, bad = b"intact", b"will be damaged"
    for data in (good, bad):
        remote.store("post", KEY, data, sha256_bytes(data), {})
    remote.fs.pipe_file(remote.object_path(sha256_bytes(bad)), b"damaged in the bucket")
    remote.fs.invalidate_cache()
    with caplog.at_level(logging.WARNING, logger="pixelgen"):
        hit = remote.fetch("post", KEY)
    assert hit is not None and hit.data == good
    if sha256_bytes(bad) < sha256_bytes(good):
        assert "corrupt" in caplog.text
    remote.fs.pipe_file(remote.object_path(sha256_bytes(good)), b"also damaged")
    remote.fs.invalidate_cache()
    assert remote.fetch("post", KEY) is None  # nothing intact: the job runs again


def test_records_that_pixelgen_did_not_write_are_ignored(remote: RemoteStore, caplog: pytest.LogCaptureFixture) -> None:
    data = b"real"
    digest = sha256_bytes(data)
    remote.store("post", KEY, data, digest, {})
    other = sha256_bytes(b"planted")
    planted = f"{remote.records_path('post', KEY)}/{other}.json"
    remote.fs.pipe_file(planted, json.dumps({"object": digest, "meta": {}}).encode())  # names another object than its own name
    remote.fs.pipe_file(f"{remote.records_path('post', KEY)}/{'0' * 64}.json", b"not json")
    remote.fs.invalidate_cache()
    with caplog.at_level(logging.WARNING, logger="pixelgen"):
        assert [r.digest for r in remote.records("post", KEY)] == [digest]
    assert "not what pixelgen writes" in caplog.text


def test_shared_store_reads_through_and_writes_both(remote: RemoteStore, tmp_path: Path) -> None:
    writer = SharedStore(tmp_path / "builder-a", remote)
    digest = writer.put("render", KEY, b"pixels", {"batch_size": 2})
    assert Store(tmp_path / "builder-a").get("render", KEY).digest == digest
    reader = SharedStore(tmp_path / "builder-b", RemoteStore(remote.url))
    assert Store(tmp_path / "builder-b").get("render", KEY) is None
    assert reader.has("render", KEY)
    hit = reader.get("render", KEY)
    assert hit.data == b"pixels" and hit.meta == {"batch_size": 2}
    assert Store(tmp_path / "builder-b").get("render", KEY).digest == digest  # downloaded once, kept locally
    remote.fs.rm(remote.records_path("render", KEY), recursive=True)
    remote.fs.invalidate_cache()
    assert reader.get("render", KEY).data == b"pixels"  # from the local copy now


def test_gc_removes_what_no_lock_keeps_after_the_grace_period(remote: RemoteStore, tmp_path: Path) -> None:
    store = SharedStore(tmp_path / "local", remote)
    kept = store.put("render", KEY, b"kept render", {})
    dropped = store.put("render", OTHER, b"dropped render", {})
    assert store.gc({"render": {KEY}}, grace_seconds=3600) == (1, len(b"dropped render"))  # local only: the remote is young
    assert remote.fetch("render", OTHER) is not None
    removed, freed = store.gc({"render": {KEY}}, grace_seconds=0)
    assert (removed, freed) == (1, len(b"dropped render"))
    assert remote.fetch("render", OTHER) is None and not remote.fs.exists(remote.object_path(dropped))
    assert remote.fetch("render", KEY).digest == kept
