import json
from pathlib import Path

import pytest

from pixelgen.errors import CorruptStoreError, InputError
from pixelgen.records.lock import Lock, LockEntry, read_lock, write_lock_if_changed


def _entry() -> LockEntry:
    return LockEntry(asset="hero", image="default", render_key="a" * 64, post_key="b" * 64, sha256="c" * 64,
                     inputs={"prompt": "x"}, model="tiny", seed=1, batch_size=1)


def test_written_only_when_changed_and_sorted(tmp_path: Path):
    path = tmp_path / "game.lock.json"
    lock = Lock(manifest="game", outputs={"z/b.png": _entry(), "a/a.png": _entry()})
    assert write_lock_if_changed(path, lock)
    mtime = path.stat().st_mtime_ns
    assert not write_lock_if_changed(path, lock)
    assert path.stat().st_mtime_ns == mtime
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and list(data["outputs"]) == ["a/a.png", "z/b.png"]
    assert read_lock(path).outputs["a/a.png"] == _entry()


def test_unknown_schema_and_broken_json_are_clear_errors(tmp_path: Path):
    path = tmp_path / "game.lock.json"
    path.write_text('{"schema": 9}')
    with pytest.raises(InputError, match="schema 9"):
        read_lock(path)
    path.write_text("{not json")
    with pytest.raises(CorruptStoreError, match="not valid JSON"):
        read_lock(path)
    assert read_lock(tmp_path / "missing.lock.json") is None
