"""Class 9: gc holds the cache exclusively and builds hold it shared, so gc never collects a running build's renders."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from sec_helpers import MANIFEST

from pixelgen.core.store import CacheLock, Store


def _wait_for(log, text: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert text in log.read_text(), log.read_text()


def test_gc_waits_for_a_running_build_then_keeps_what_its_lock_records(sandbox):
    store = Store(sandbox.cache)
    log = sandbox.root / "gc.err"
    # A "running build": it holds the cache shared (the same lock build() takes) and stores a render
    # that its lock does not record yet.
    with CacheLock(sandbox.cache, exclusive=False, wait_seconds=5), open(log, "w") as err:
        gc = subprocess.Popen([sys.executable, "-m", "pixelgen", "gc", MANIFEST], cwd=sandbox.project,
                              stdout=subprocess.DEVNULL, stderr=err, text=True)
        _wait_for(log, "a build is using the cache", gc)
        key = "e" * 64
        store.put("render", key, b"a render the build just stored")
        time.sleep(0.5)
        assert gc.poll() is None, "gc ran while a build held the cache"
        # The build records it in its lock before it releases the cache.
        lock = json.loads(sandbox.lock_path.read_text())
        lock["outputs"]["hero/default.png"]["render_key"] = key
        sandbox.lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    assert gc.wait(timeout=120) == 0, log.read_text()
    assert store.get("render", key) is not None  # kept: gc read the lock only after the build released the cache
    sandbox.sentinel_untouched()


def test_a_build_waits_while_gc_holds_the_cache(sandbox):
    log = sandbox.root / "build.err"
    with CacheLock(sandbox.cache, exclusive=True, wait_seconds=5), open(log, "w") as err:
        build = subprocess.Popen([sys.executable, "-m", "pixelgen", "build", MANIFEST], cwd=sandbox.project,
                                 stdout=subprocess.DEVNULL, stderr=err, text=True)
        _wait_for(log, "gc is cleaning", build)
        time.sleep(0.5)
        assert build.poll() is None, "a build ran while gc held the cache"
    assert build.wait(timeout=300) == 0, log.read_text()
