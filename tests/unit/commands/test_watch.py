"""watch waits on file-system events (or polling) for the files a manifest names, debounced."""

from __future__ import annotations

import threading
import time

import pytest

from pixelgen.commands.watch import snapshot, wait_for_change


@pytest.mark.parametrize("poll", [None, True])
def test_an_edit_after_the_watcher_started_ends_the_wait(tmp_path, poll):
    watched = tmp_path / "game.yaml"
    watched.write_text("version: 1\n")
    (tmp_path / "other.txt").write_text("x")
    before = snapshot([watched])

    def edit() -> None:
        time.sleep(0.5)
        (tmp_path / "other.txt").write_text("not watched")  # ignored
        time.sleep(0.3)
        watched.write_text("version: 1\nname: edited\n")

    threading.Thread(target=edit).start()
    started = time.perf_counter()
    wait_for_change([watched], before, debounce_ms=50, poll=poll)
    waited = time.perf_counter() - started
    assert watched.read_text().endswith("edited\n")
    assert 0.7 < waited < 5


def test_an_edit_made_during_the_build_is_not_missed(tmp_path):
    watched = tmp_path / "game.yaml"
    watched.write_text("a")
    before = snapshot([watched])
    time.sleep(0.01)
    watched.write_text("bb")  # before the watcher starts
    started = time.perf_counter()
    wait_for_change([watched], before, debounce_ms=50)
    assert time.perf_counter() - started < 1
