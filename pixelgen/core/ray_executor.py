"""``--executor ray``: render batches on a pool of Ray actors, post-processing as Ray tasks.

* One actor holds one pipeline: ``num_gpus=1`` each where the cluster has GPUs,
  else one CPU each (see :class:`_RenderActor` for the device it renders on).
  Batches that share a pipeline configuration (model, LoRAs, device settings:
  ``RenderJob.group``) are sent together, one configuration after another, to
  one pool of actors kept for the whole render stage, so a base pipeline loads
  once per actor and only LoRAs change between configurations, as in one process.
* Post-processing (pure numpy) runs as Ray tasks on CPU workers.
* Only results travel back: the driver stores them, writes the outputs, the
  lock and the records, once (:mod:`pixelgen.core.executor`).
* A worker that dies (its process killed, its node lost) fails only its
  in-flight batch: the actor is replaced (Ray places it where resources are
  free) and the batch is sent again, up to ``RETRIES`` times; a failure of the
  generator itself is the build's failure, as locally (``--keep-going``).

Ray is an optional extra: ``pip install 'pixelgen[ray]'``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any, Callable, Iterator, Sequence

from pixelgen.core.executor import PostWork, postprocess_work, render_batch
from pixelgen.core.plan import RenderJob
from pixelgen.errors import EnvironmentProblem

log = logging.getLogger("pixelgen")
RETRIES = 3  # sends of one batch or asset after the first, when a worker dies


def _import_ray() -> tuple[Any, list[str]]:
    """Ray, and ``sys.path`` as it was before: importing Ray adds its vendored packages, which the SBOM must not list."""
    import sys

    path = list(sys.path)
    try:
        import ray
    except ImportError:
        raise EnvironmentProblem("--executor ray needs Ray\n    fix: pip install 'pixelgen[ray]' (or choose --executor local)") from None
    return ray, path


class _RenderActor:
    """Holds one pipeline; made into a Ray actor class in :meth:`RayExecutor._connect`.

    The device is the one Ray granted: an actor given a GPU sees only that GPU
    (Ray sets ``CUDA_VISIBLE_DEVICES`` to its id), so ``--device auto`` renders on
    it when torch sees CUDA there, and on the CPU when it does not (a logical GPU
    declared with ``ray start --num-gpus`` on a machine without one, or a CPU
    build of torch). An actor given no GPU is kept off every GPU of its node
    (``CUDA_VISIBLE_DEVICES`` emptied before torch loads), so CPU actors never
    crowd a GPU the scheduler did not give them.
    """

    def __init__(self, make_generator: Callable[[], Any]) -> None:
        import os

        import ray

        self.pid = os.getpid()
        self.gpu_ids = [str(gpu) for gpu in ray.get_gpu_ids()]
        if not self.gpu_ids:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        self.generator = make_generator()

    def placement(self) -> dict[str, Any]:
        """Where this actor runs and on what: what Ray granted it, and the device torch chose."""
        import os

        import ray

        context = ray.get_runtime_context()
        return {"pid": self.pid, "node": context.get_node_id(), "gpu_ids": self.gpu_ids,
                "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "device": getattr(self.generator, "device", None),
                "resources": context.get_assigned_resources()}

    def render(self, batch: Sequence[RenderJob], conditions: Any = None) -> tuple[list[bytes], float]:
        """PNG bytes of each image (encoding here, not on the driver, keeps the driver from becoming the bottleneck)."""
        from pixelgen.formats.png import encode_png

        started = time.perf_counter()
        images = render_batch(self.generator, batch, conditions)
        seconds = time.perf_counter() - started
        return [encode_png(image) for image in images], seconds

    def process_id(self) -> int:
        return self.pid


def _postprocess_task(work: PostWork) -> Any:
    return postprocess_work(work)


class RayExecutor:
    name = "ray"

    def __init__(self, make_generator: Callable[[], Any], *, address: str | None = None, actors: int | None = None) -> None:
        """``make_generator`` runs inside each actor: it must be picklable (no open files, no progress bars).

        Ray is imported here and the cluster joined on first use, so a build with nothing to render never connects.
        """
        self.ray, self._sys_path = _import_ray()
        self._address = address
        self._make_generator = make_generator
        self._actors_wanted = actors
        self._connected = False
        self._owns_connection = False
        self.actors_started = 0
        self.retried = 0
        self.placements: list[dict[str, Any]] = []  # one per actor that rendered: see _RenderActor.placement
        self._pool: list[Any] = []  # idle render actors, kept from one pipeline configuration and level to the next
        self._described: list[Any] = []

    def _connect(self) -> None:
        if self._connected:
            return
        ray, address = self.ray, self._address
        if not ray.is_initialized():
            try:
                # Without an address Ray starts on this machine: no dashboard, nothing listening for others.
                extra = {} if address else {"include_dashboard": False}
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False, **extra)
            except ConnectionError as exc:
                raise EnvironmentProblem(f"--ray-address {address}: no Ray cluster there ({exc})\n"
                                         "    fix: start one (`ray start --head`), or give the address `ray start` printed") from None
            self._owns_connection = True
        self._connected = True
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        self.cpus = int(resources.get("CPU", 1))
        self._actor_class = ray.remote(_RenderActor).options(
            num_gpus=1 if self.gpus else 0, num_cpus=0 if self.gpus else 1, max_restarts=0, max_task_retries=0
        )
        self._post_task = ray.remote(_postprocess_task).options(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)

    def _pool_size(self, batches: int) -> int:
        slots = self.gpus or self.cpus
        return max(1, min(batches, self._actors_wanted or slots))

    def _new_actor(self) -> Any:
        self.actors_started += 1
        return self._actor_class.remote(self._make_generator)

    def render(self, batches: Sequence[Sequence[RenderJob]],
               conditions: Sequence[Any] | None = None) -> Iterator[tuple[Sequence[RenderJob], Any, float]]:
        if not batches:
            return
        self._connect()
        by_group: dict[Any, list[tuple[Sequence[RenderJob], Any]]] = defaultdict(list)
        for batch, batch_conditions in zip(batches, conditions or [None] * len(batches)):
            by_group[batch[0].group].append((batch, batch_conditions))
        for group_batches in by_group.values():  # one pipeline configuration at a time on every actor
            yield from self._render_group(group_batches)

    def _render_group(self, batches: list[tuple[Sequence[RenderJob], Any]]) -> Iterator[tuple[Sequence[RenderJob], Any, float]]:
        ray = self.ray
        pending = list(reversed(batches))  # popped from the end: the Runner's order
        attempts: dict[int, int] = defaultdict(int)
        while len(self._pool) < self._pool_size(len(batches)):
            self._pool.append(self._new_actor())
        idle = self._pool  # kept for the next configuration and level: an actor loads its base pipeline once
        in_flight: dict[Any, tuple[Any, tuple[Sequence[RenderJob], Any]]] = {}
        try:
            while pending or in_flight:
                while pending and idle:
                    actor, work = idle.pop(), pending.pop()
                    in_flight[actor.render.remote(*work)] = (actor, work)
                done, _ = ray.wait(list(in_flight), num_returns=1)
                actor, work = in_flight.pop(done[0])
                batch = work[0]
                try:
                    images, seconds = ray.get(done[0])
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError) as exc:
                    attempts[id(batch)] += 1
                    if attempts[id(batch)] > RETRIES:
                        yield batch, EnvironmentProblem(f"render worker died {attempts[id(batch)]} times: {exc}"), 0.0
                    else:
                        log.warning("a render worker died (%s); sending its batch of %d to a new one", type(exc).__name__, len(batch))
                        self.retried += 1
                        pending.append(work)
                    ray.kill(actor, no_restart=True)
                    idle.append(self._new_actor())
                    continue
                except ray.exceptions.RayTaskError as exc:
                    idle.append(actor)
                    yield batch, _cause(exc), 0.0
                    continue
                if actor not in self._described:
                    self._described.append(actor)
                    self._note_placement(actor)
                idle.append(actor)
                yield batch, images, seconds
        finally:
            for actor, _ in in_flight.values():  # stopped early (an error): busy actors are not reused
                ray.kill(actor, no_restart=True)

    def _release_actors(self) -> None:
        """Kill the idle render actors: their CPUs (or GPUs) are free for post-processing, or for other jobs."""
        for actor in self._pool:
            self.ray.kill(actor, no_restart=True)
        self._pool.clear()

    def _note_placement(self, actor: Any) -> None:
        placement = self.ray.get(actor.placement.remote())
        self.placements.append(placement)
        granted = f"GPU {', '.join(placement['gpu_ids'])}" if placement["gpu_ids"] else "no GPU"
        log.info("render worker %s on node %s: %s granted, rendering on %s", placement["pid"], placement["node"][:12], granted,
                 placement["device"] or "its own device")
        if placement["gpu_ids"] and placement["device"] == "cpu":
            log.warning("render worker %s was granted GPU %s but torch sees no CUDA device there (a logical GPU, or a CPU build "
                        "of torch): it renders on the CPU", placement["pid"], ", ".join(placement["gpu_ids"]))

    def postprocess(self, work: Sequence[PostWork]) -> Iterator[tuple[PostWork, Any]]:
        # Every render is done before post-processing: CPU render actors would otherwise hold the CPUs its tasks need.
        self._release_actors()
        if not work:
            return
        self._connect()
        ray = self.ray
        window = max(2, 2 * self.cpus)  # bounded: renders in flight are held in the object store
        queue = list(reversed(work))
        in_flight: dict[Any, PostWork] = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < window:
                    item = queue.pop()
                    in_flight[self._post_task.remote(item)] = item
                done, _ = ray.wait(list(in_flight), num_returns=1)
                item = in_flight.pop(done[0])
                try:
                    outcome = ray.get(done[0])
                except ray.exceptions.RayTaskError as exc:
                    outcome = _cause(exc)
                except (ray.exceptions.RayError) as exc:  # retried by Ray RETRIES times already
                    outcome = EnvironmentProblem(f"post-processing worker lost: {exc}")
                yield item, outcome
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        import sys

        if self._connected and self.ray.is_initialized():
            self._release_actors()
        if self._owns_connection and self.ray.is_initialized():
            self.ray.shutdown()
        # The records written next list the installed distributions: the same whichever executor ran.
        sys.path[:] = self._sys_path


def _cause(error: Any) -> BaseException:
    """The exception the generator or post-processing raised, not Ray's wrapper (so PixelgenError keeps its meaning)."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error
