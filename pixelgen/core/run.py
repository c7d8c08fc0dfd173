"""Execute a plan's stale jobs against a store and a generator.

Renders come from the cache when present; what is missing is rendered in
batches of jobs that share a pipeline configuration. Post-processing then runs
per asset. Every result is stored as soon as it exists, so a killed build
loses at most the batch in flight.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from pixelgen.core.plan import Plan, PostJob, RenderJob
from pixelgen.core.resolve import Resolved
from pixelgen.core.store import Store
from pixelgen.errors import PixelgenError
from pixelgen.files.hashing import content_key
from pixelgen.formats.png import decode_png, encode_png

log = logging.getLogger("pixelgen")


class Generator(Protocol):
    def render(self, jobs: Sequence[RenderJob]) -> list[np.ndarray]: ...


class Progress(Protocol):
    def add_total(self, count: int) -> None: ...
    def advance(self, count: int, *, images: int = 0) -> None: ...


@dataclass(frozen=True)
class Produced:
    data: bytes
    digest: str
    meta: dict[str, Any]


@dataclass
class RunResult:
    produced: dict[str, Produced] = field(default_factory=dict)  # post key → asset bytes
    failures: dict[str, str] = field(default_factory=dict)  # asset id → message
    rendered: int = 0
    render_seconds: float = 0.0
    renders_cached: int = 0
    posts_cached: int = 0
    posts_built: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    image_latencies: list[float] = field(default_factory=list)  # render seconds per image (batch time ÷ batch size)


def png_parameters(post: PostJob, render: RenderJob, resolved: Resolved) -> dict[str, str]:
    """PNG text chunks: an A1111-style ``parameters`` block and pixelgen's own JSON."""
    import json

    model_hash = content_key(resolved.models[render.model])[:10]
    loras = ", ".join(f"{name}: {content_key(resolved.loras[name])[:10]} x{weight:g}" for name, weight in render.loras)
    settings = [
        f"Steps: {render.steps}",
        f"Sampler: {render.scheduler}",
        f"CFG scale: {render.guidance:g}",
        f"Seed: {render.seed}",
        f"Size: {render.width}x{render.height}",
        f"Model: {render.model}",
        f"Model hash: {model_hash}",
    ]
    if loras:
        settings.append(f"Lora hashes: \"{loras}\"")
    if render.seamless:
        settings.append("Tiling: True")
    if render.conditioned:
        from pixelgen.core.conditioning import conditioning_parameters

        settings.extend(conditioning_parameters(render, resolved))
    parameters = f"{render.prompt}\nNegative prompt: {render.negative}\n" + ", ".join(settings)
    fields = {"asset": post.asset_id, "image": post.image, "job": post.key, "render": render.key}
    if render.depends:
        fields["depends"] = list(render.depends)
    own = json.dumps(fields, sort_keys=True)
    return {"parameters": parameters, "pixelgen": own}


def image_scores(image: np.ndarray, job: PostJob, palette: list[str] | None, report: dict[str, Any]) -> dict[str, Any]:
    """Pixel-art scores of one final image; computed once and cached with the post-processed asset."""
    from pixelgen.pixelart import hex_to_rgb, palette_from_hex
    from pixelgen.quality.scores import pixel_metrics, seam_metrics

    colours = None if palette is None else palette_from_hex(palette)
    outline = job.pixelart.get("outline")
    outline_rgb = None if outline is None else hex_to_rgb(outline)
    scores = pixel_metrics(image, palette=colours, grid_confidence=report.get("confidence"), outline_color=outline_rgb)
    if report.get("grid_consistency") is not None:
        scores["grid_consistency"] = report["grid_consistency"]
    if job.wrap:
        scores.update(seam_metrics(image))
    return scores


class Runner:
    def __init__(
        self,
        store: Store,
        make_generator: Callable[[], Generator],
        resolved: Resolved,
        *,
        batch_size: int = 1,
        force: bool = False,
        keep_going: bool = False,
        progress: Progress | None = None,
        executor: Any = None,
    ) -> None:
        from pixelgen.core.executor import LocalExecutor

        self.store = store
        # Where renders and post-processing run (pixelgen.core.executor); this Runner stores every result.
        self.executor = executor if executor is not None else LocalExecutor(make_generator)
        self.resolved = resolved
        self.batch_size = max(1, batch_size)
        self.force = force
        self.keep_going = keep_going
        self.progress = progress

    @property
    def started_generator(self) -> Generator | None:
        """The in-process generator if this run needed one (None for a fully cached build or another executor)."""
        return getattr(self.executor, "generator", None)

    def run(self, plan: Plan, stale: Sequence[PostJob]) -> RunResult:
        result = RunResult()
        # 1. Post-processed assets already in the cache.
        todo_by_asset: dict[str, list[PostJob]] = defaultdict(list)
        for post in stale:
            hit = None if self.force else self.store.get("post", post.key)
            if hit is not None:
                result.produced[post.key] = Produced(hit.data, hit.digest, hit.meta)
                result.posts_cached += 1
            else:
                todo_by_asset[post.asset_id].append(post)
        if self.progress:
            self.progress.advance(result.posts_cached)
        # A shared palette needs every image of the asset.
        for asset_plan in plan.assets:
            jobs = todo_by_asset.get(asset_plan.asset.id)
            if jobs and jobs[0].palette and "shared_with" in jobs[0].palette:
                todo_by_asset[asset_plan.asset.id] = list(asset_plan.posts)
        # 2. Renders the cache lacks, in batches.
        renders = self._ensure_renders(plan, todo_by_asset, result)
        # 3. Post-processing, per asset (independent of each other).
        from pixelgen.core.executor import PostWork

        work = [
            PostWork(
                asset_id=asset_id,
                jobs=tuple(jobs),
                renders=tuple(renders[job.render_key][0] for job in jobs),
                batch_sizes=tuple(renders[job.render_key][1] for job in jobs),
                render_jobs=tuple(plan.renders[job.render_key] for job in jobs),
                resolved_models=self.resolved.models,
                resolved_loras=self.resolved.loras,
                resolved_controlnets=self.resolved.controlnets,
            )
            for asset_id, jobs in todo_by_asset.items()
            if asset_id not in result.failures
        ]
        for item, outcome in self.executor.postprocess(work):
            if isinstance(outcome, BaseException):
                # A failed asset must not hide the others.
                if isinstance(outcome, PixelgenError) or (not self.keep_going and not isinstance(outcome, ValueError)):
                    raise outcome
                result.failures[item.asset_id] = f"post-processing failed: {outcome}"
                if not self.keep_going:
                    break
                continue
            for job, produced in zip(item.jobs, outcome):
                digest = self.store.put("post", job.key, produced.data, produced.meta)
                result.produced[job.key] = Produced(produced.data, digest, produced.meta)
                result.posts_built += 1
                if self.progress:
                    self.progress.advance(1, label=job.output)
        return result

    def _ensure_renders(self, plan: Plan, todo_by_asset: dict[str, list[PostJob]], result: RunResult) -> dict[str, tuple[np.ndarray | bytes, int]]:
        needed: dict[str, list[str]] = defaultdict(list)  # render key → asset ids
        for asset_id, jobs in todo_by_asset.items():
            for job in jobs:
                needed[job.render_key].append(asset_id)
        images: dict[str, tuple[np.ndarray | bytes, int]] = {}
        missing: dict[str, RenderJob] = {}
        for key in needed:
            hit = None if self.force else self.store.get("render", key)
            if hit is not None:
                # Kept encoded: decoded where it is post-processed (on a worker, with a remote executor).
                images[key] = (hit.data, int(hit.meta.get("batch_size", 1)))
                result.renders_cached += 1
            else:
                missing[key] = plan.renders[key]
        # A render conditioned on another needs that one's image: from the cache, or rendered first.
        pending = list(missing.values())
        while pending:
            for upstream in pending.pop().depends:
                if upstream in images or upstream in missing:
                    continue
                hit = None if self.force else self.store.get("render", upstream)
                if hit is not None:
                    images[upstream] = (hit.data, int(hit.meta.get("batch_size", 1)))
                else:
                    missing[upstream] = plan.renders[upstream]
                    pending.append(missing[upstream])
        if self.progress:
            self.progress.add_total(len(missing))
        # Level by level (a level needs only lower ones), and within a level in batches of one pipeline
        # configuration: one call of the executor per level.
        for level in plan.render_levels(missing):
            groups: dict[tuple, list[RenderJob]] = defaultdict(list)
            for job in level:
                if all(upstream in images for upstream in job.depends):
                    groups[job.group].append(job)
                else:  # an upstream render failed (--keep-going)
                    for asset_id in needed[job.key]:
                        result.failures.setdefault(asset_id, "render failed: a render it is conditioned on failed")
            batches = [group_jobs[start : start + self.batch_size]
                       for group_jobs in groups.values() for start in range(0, len(group_jobs), self.batch_size)]
            conditions = [self._conditions(batch, images) for batch in batches]
            for batch, outputs, elapsed in self.executor.render(batches, conditions):
                if isinstance(outputs, BaseException):
                    if not self.keep_going:
                        raise outputs
                    for job in batch:
                        for asset_id in needed[job.key]:
                            result.failures.setdefault(asset_id, f"render failed: {outputs}")
                    continue
                result.render_seconds += elapsed
                result.batch_sizes.append(len(batch))
                result.image_latencies.extend([elapsed / len(batch)] * len(batch))
                for job, image in zip(batch, outputs):
                    # A remote executor sends renders PNG-encoded, so the driver only hashes and stores them.
                    self.store.put("render", job.key, image if isinstance(image, bytes) else encode_png(image), {"batch_size": len(batch)})
                    images[job.key] = (image, len(batch))
                result.rendered += len(batch)
                if self.progress:
                    self.progress.advance(len(batch), images=len(batch), label=", ".join(sorted({a for job in batch for a in needed[job.key]})))
        return images

    @staticmethod
    def _conditions(batch: list[RenderJob], images: dict[str, tuple[np.ndarray | bytes, int]]) -> list[dict] | None:
        """Each job's conditioning images (decoded from the upstream renders), or None for text-only batches."""
        if not batch[0].conditioned:
            return None
        from pixelgen.core.conditioning import condition_images

        upstream = {}
        for job in batch:
            for key in job.depends:
                image = images[key][0]
                upstream[key] = decode_png(image) if isinstance(image, bytes) else image
        return [condition_images(job, upstream) for job in batch]
