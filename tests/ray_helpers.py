"""A real local Ray cluster for the farm tests: ``ray start --head`` (plus a second node), stopped exactly as started."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(arguments: list[str], log: Path) -> subprocess.Popen:
    # --block keeps `ray start` in the foreground; its own session lets the fixture stop exactly what it started.
    return subprocess.Popen([str(RAY), "start", "--block", *arguments], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # `ray start --block` stops its node's processes on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def _one_cluster_at_a_time() -> Iterator[None]:
    # pytest-xdist workers would otherwise start clusters side by side: in one of the suite's first
    # runs in workers the executor module's cluster failed to come up while another was running (the
    # cause was not pinned down). A lock file, not an xdist group: xdist 3.8's loadgroup does not
    # group under pytest 9, which no longer reads the node id xdist rewrites.
    with open(Path(tempfile.gettempdir()) / "pixelgen-tests-ray.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def ray_cluster(folder: Path, *, head_cpus: int = 2, head_gpus: int = 0, second_node_cpus: int = 0) -> Iterator[str]:
    """A head node (``--num-gpus`` declares logical GPUs: Ray schedules on them whether or not CUDA is there),
    and a second CPU node joining it when ``second_node_cpus``; yields the address. Logs go to ``folder``.
    One cluster at a time on this machine, whatever the process."""
    with _one_cluster_at_a_time():
        yield from _cluster(folder, head_cpus=head_cpus, head_gpus=head_gpus, second_node_cpus=second_node_cpus)


# `ray start` gives its raylet a fixed 30 s to register with the control store, then exits. On this
# 2-core machine, with the suite's other workers busy, it once ran out (a fresh head then came up).
_STARTUP_TIMED_OUT = "timed out during startup"
_HEAD_ATTEMPTS = 3


def _cluster(folder: Path, *, head_cpus: int, head_gpus: int, second_node_cpus: int) -> Iterator[str]:
    common = ["--object-store-memory=200000000", "--disable-usage-stats"]
    for attempt in range(1, _HEAD_ATTEMPTS + 1):
        port = _free_port()
        address = f"127.0.0.1:{port}"
        # Ray's socket paths under its temp dir must stay within the 107 bytes a Unix socket name may have:
        # pytest's own temp folders (one more level per xdist worker) came within a few bytes of it.
        sessions = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
        log = folder / "head.log"
        head = _start(["--head", f"--port={port}", "--node-ip-address=127.0.0.1", f"--num-cpus={head_cpus}",
                       f"--num-gpus={head_gpus}", "--include-dashboard=false", f"--temp-dir={sessions}", *common], log)
        if _nodes_came_up(address, 1, head, log):
            break
        _stop(head)
        try:  # what the exited `ray start` left running in its session
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(sessions, ignore_errors=True)
        if attempt == _HEAD_ATTEMPTS or _STARTUP_TIMED_OUT not in log.read_text():
            pytest.fail(f"the Ray head did not come up ({attempt} attempt(s)):\n{log.read_text()[-3000:]}")
        log.rename(folder / f"head-attempt{attempt}.log")
    nodes = [head]
    try:
        if second_node_cpus:
            nodes.append(_start([f"--address={address}", "--node-ip-address=127.0.0.1", f"--num-cpus={second_node_cpus}",
                                 "--num-gpus=0", *common], folder / "node.log"))
            wait_for_nodes(address, 2, nodes[-1], folder / "node.log")
        yield address
    finally:
        for process in reversed(nodes):
            _stop(process)
        shutil.rmtree(sessions, ignore_errors=True)


def wait_for_nodes(address: str, count: int, process: subprocess.Popen, log: Path) -> None:
    if not _nodes_came_up(address, count, process, log):
        pytest.fail(f"the Ray cluster did not reach {count} node(s) (ray start: {process.poll()}):\n{log.read_text()[-3000:]}")


def _nodes_came_up(address: str, count: int, process: subprocess.Popen, log: Path) -> bool:
    """Whether ``count`` live nodes join ``address`` within 180 s; False at once when ``ray start`` exits."""
    probe = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
             "print(sum(1 for n in ray.nodes() if n['Alive']))")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:  # a probe of a cluster that is not up yet can block: it must not outlive the deadline
            done = subprocess.run([sys.executable, "-c", probe, address], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            continue
        if done.returncode == 0 and done.stdout.strip() and int(done.stdout.split()[-1]) >= count:
            return True
        time.sleep(2)
    return False


# Ray's state as its control store (GCS) keeps it, dead actors included: the dashboard's state API is not in the plain
# `ray` extra, so this reads the actor table the dashboard itself serves from.
ACTOR_TABLE = """\
import json, sys
import ray
from ray._private.state import state
from ray.core.generated import gcs_pb2
ray.init(address=sys.argv[1], logging_level="ERROR")
found = []
for raw in state._connect_and_get_accessor().get_actor_table(None, None):
    actor = gcs_pb2.ActorTableData.FromString(raw)
    if actor.class_name == sys.argv[2]:
        found.append({"state": gcs_pb2.ActorTableData.ActorState.Name(actor.state),
                      "required_resources": dict(actor.required_resources),
                      "assigned": {m.name: [i.index for i in m.resource_ids] for m in actor.resource_mapping}})
print(json.dumps(found))
"""


def actors_of_class(address: str, class_name: str) -> list[dict]:
    """Every actor of this class the cluster has placed (alive or dead): its required and assigned resources."""
    import json

    done = subprocess.run([sys.executable, "-c", ACTOR_TABLE, address, class_name], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
