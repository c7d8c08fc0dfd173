"""Where render batches and post-processing run: in this process (``local``) or on a Ray cluster (``ray``).

The :class:`~pixelgen.core.run.Runner` decides what to run — which renders the cache
lacks, how they batch (jobs that share a pipeline configuration), which assets
to post-process — and stores every result and reports progress. An executor
only computes, and yields each result as it finishes:

``render(batches, conditions)``
    one *level* of the job graph: independent render batches, each with its
    jobs' conditioning images (``conditions[i]`` for ``batches[i]``, None for
    text-only batches); the Runner calls it once per level, in order; yields
    ``(batch, images or the exception, seconds)``.
``postprocess(work)``
    independent assets, each a :class:`PostWork`; yields ``(work, results or the exception)``.

So the driver alone writes the cache, the outputs, the lock and the records,
once, whatever runs the work. The Ray executor lives in :mod:`pixelgen.core.ray_executor`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, Sequence

from pixelgen.core.plan import PostJob, RenderJob
from pixelgen.errors import InputError

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class PostWork:
    """One asset to post-process: its jobs, their renders and what the PNG text chunks name."""

    asset_id: str
    jobs: tuple[PostJob, ...]
    renders: tuple[Any, ...]  # renders[i] for jobs[i]: a numpy uint8 image or its PNG bytes (decoded where the work runs)
    batch_sizes: tuple[int, ...]
    render_jobs: tuple[RenderJob, ...]
    resolved_models: dict[str, Any]
    resolved_loras: dict[str, Any]
    resolved_controlnets: dict[str, Any]  # ControlNet and adapter identities, named in the PNG parameters


@dataclass(frozen=True)
class PostResult:
    data: bytes  # the final PNG
    meta: dict[str, Any]


class Executor(Protocol):
    name: str

    def render(self, batches: Sequence[Sequence[RenderJob]],
               conditions: Sequence[Any] | None = None) -> Iterator[tuple[Sequence[RenderJob], Any, float]]: ...

    def postprocess(self, work: Sequence[PostWork]) -> Iterator[tuple[PostWork, Any]]: ...

    def close(self) -> None: ...


def render_batch(generator: Any, batch: Sequence[RenderJob], conditions: Any) -> Any:
    """One batch on a generator: text only, or with each job's conditioning images."""
    if conditions is None:
        return generator.render(batch)
    return generator.render(batch, conditions=conditions)


def postprocess_work(work: PostWork) -> list[PostResult]:
    """Post-process one asset into final PNG bytes and their cache metadata (pure: the same work, the same bytes)."""
    from pixelgen.core.postprocess import postprocess_asset
    from pixelgen.core.resolve import Resolved
    from pixelgen.core.run import image_scores, png_parameters
    from pixelgen.formats.png import decode_png, encode_png

    resolved = Resolved(models=work.resolved_models, loras=work.resolved_loras, model_files={},
                        controlnets=work.resolved_controlnets)
    renders = [decode_png(render) if isinstance(render, bytes) else render for render in work.renders]
    outcomes = postprocess_asset(renders, list(work.jobs))
    results = []
    for job, render_job, outcome, batch_size in zip(work.jobs, work.render_jobs, outcomes, work.batch_sizes):
        text = None if job.strip_metadata else png_parameters(job, render_job, resolved)
        meta = {
            "report": outcome.report,
            "palette": outcome.palette,
            "batch_size": batch_size,
            "metrics": image_scores(outcome.image, job, outcome.palette, outcome.report),
        }
        results.append(PostResult(encode_png(outcome.image, text=text), meta))
    return results


class LocalExecutor:
    """Everything in this process, one batch after another: today's build."""

    name = "local"

    def __init__(self, make_generator: Callable[[], Any]) -> None:
        self._make_generator = make_generator
        self.generator: Any = None  # created on first need: a fully cached build never imports torch

    def render(self, batches: Sequence[Sequence[RenderJob]],
               conditions: Sequence[Any] | None = None) -> Iterator[tuple[Sequence[RenderJob], Any, float]]:
        from pixelgen.errors import PixelgenError

        for batch, batch_conditions in zip(batches, conditions or [None] * len(batches)):
            if self.generator is None:
                self.generator = self._make_generator()
            started = time.perf_counter()
            try:
                images: Any = render_batch(self.generator, batch, batch_conditions)
            except PixelgenError:
                raise
            except Exception as exc:  # noqa: BLE001 - the Runner decides (--keep-going)
                images = exc
            yield batch, images, time.perf_counter() - started

    def postprocess(self, work: Sequence[PostWork]) -> Iterator[tuple[PostWork, Any]]:
        from pixelgen.errors import PixelgenError

        for item in work:
            try:
                results: Any = postprocess_work(item)
            except PixelgenError:
                raise
            except Exception as exc:  # noqa: BLE001
                results = exc
            yield item, results

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class GeneratorInputs:
    """What a generator factory reads from the workspace, small and picklable for remote workers."""

    manifest: Any
    cache_dir: Any
    resolved: Any
    # (LoRA name, sha256, safetensors bytes) of the trained LoRAs: a worker on another machine cannot read the driver's cache.
    trained_weights: tuple[tuple[str, str, bytes], ...] = ()


def make_executor(name: str, ray_address: str | None, start_local_generator: Callable[[], Any],
                  generator_factory: Callable[[Any], Any], inputs: GeneratorInputs) -> Executor:
    """The executor ``name``; Ray's actors each call ``generator_factory(inputs)``."""
    if name == "local":
        return LocalExecutor(start_local_generator)
    import functools

    from pixelgen.core.ray_executor import RayExecutor

    return RayExecutor(functools.partial(generator_factory, inputs), address=ray_address)


def check_executor(name: str, ray_address: str | None) -> None:
    """Refuse, before any work, an unknown executor or a Ray address without Ray."""
    if name not in EXECUTORS:
        raise InputError(f"--executor {name!r}: use one of {', '.join(EXECUTORS)}")
    if ray_address and name != "ray":
        raise InputError("--ray-address needs --executor ray")
