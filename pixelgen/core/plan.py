"""Pure planning: a manifest and resolved identities → content-addressed jobs.

No I/O here. A render job's key covers every input that changes the raw
render's bytes; a post-process job's key covers the render key plus every
post-processing input, so a palette change re-runs post-processing only and a
cosmetic change (description, tags) changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from pixelgen.core.pack import pack_key, pack_outputs
from pixelgen.core.resolve import Resolved
from pixelgen.files.hashing import content_key
from pixelgen.manifest.model import Asset, ImageSpec, Manifest
from pixelgen.pixelart import PIXELIZE_ALGORITHM_VERSION

# Bump when pixelgen's own handling changes bytes: the float→uint8 conversion of
# renders (RENDER) or the PNG encoding and metadata of assets (POST).
RENDER_VERSION = 1
POST_VERSION = 2


@dataclass(frozen=True)
class RenderJob:
    key: str
    model: str
    loras: tuple[tuple[str, float], ...]
    prompt: str
    negative: str
    seed: int
    width: int
    height: int
    steps: int
    guidance: float
    scheduler: str
    seamless: bool
    # Conditioning (see pixelgen.core.conditioning): each image source is {"render": key},
    # {"file": path, "sha256": digest}, {"pose": "CYCLE/FACING/FRAME"} or {"pose_file": path, "sha256": digest}.
    init: dict[str, Any] | None = None  # {"image": source, "strength": s, "mask": source | None}
    control: tuple[dict[str, Any], ...] = ()  # {"model": name, "image": source, "scale", "start", "end"}
    style: dict[str, Any] | None = None  # IP-Adapter: {"adapter": name, "images": [source, …], "scale": s}
    depends: tuple[str, ...] = ()  # render keys of the upstream renders this one needs
    level: int = 0  # 0: needs nothing; n: needs only renders of lower levels

    @property
    def mode(self) -> str:
        """text, img2img or inpaint (ControlNets combine with each)."""
        if self.init is None:
            return "text"
        return "inpaint" if self.init.get("mask") else "img2img"

    @property
    def group(self) -> tuple:
        """Jobs with the same group render together in one pipeline call."""
        group = (self.model, self.loras, self.width, self.height, self.steps, self.guidance, self.scheduler, self.seamless)
        if not self.conditioned:
            return group
        controls = tuple((use["model"], use["scale"], use["start"], use["end"]) for use in self.control)
        style = (self.style["adapter"], self.style["scale"]) if self.style else None
        return (*group, self.mode, self.init["strength"] if self.init else None, controls, style)

    @property
    def conditioned(self) -> bool:
        return self.init is not None or bool(self.control) or self.style is not None


@dataclass(frozen=True)
class PostJob:
    key: str
    render_key: str
    asset_id: str
    image: str
    output: str  # path relative to OUT/<manifest name>/
    size: tuple[int, int]
    palette: dict[str, Any] | None  # {"colors": [...]} or {"auto": n, "shared_with": [render keys]}
    pixelart: dict[str, Any]
    background: str
    wrap: bool
    border: tuple[int, int, int, int] | None
    # Render keys of the images whose cell size is found together with this one.
    grid_set: tuple[str, ...] | None
    # Per-input digests, recorded in the lock so staleness can say *why*.
    inputs: dict[str, str]
    prompt: str
    negative: str
    seed: int
    model: str
    strip_metadata: bool = False


@dataclass(frozen=True)
class AssetPlan:
    asset: Asset
    posts: tuple[PostJob, ...]
    # Engine-ready files packed from the final images (sheets, tilesets, 9-slice data).
    pack_key: str | None = None
    pack_files: tuple[str, ...] = ()  # paths relative to OUT/<manifest name>/
    depends_on: tuple[str, ...] = ()  # other assets whose renders this one's renders need


@dataclass(frozen=True)
class Plan:
    manifest_name: str
    renders: dict[str, RenderJob]
    assets: tuple[AssetPlan, ...]
    trainings: dict[str, Any] = field(default_factory=dict)  # LoRA name → pixelgen.core.training.TrainJob

    @property
    def posts(self) -> list[PostJob]:
        return [post for asset in self.assets for post in asset.posts]

    def render_levels(self, keys: Iterable[str] | None = None) -> list[list[RenderJob]]:
        """Render jobs (all, or those of ``keys``) by DAG level, each level ordered by pipeline group then key.

        Run level by level; within a level nothing depends on anything else,
        so the jobs may run in any order, batched by ``group``.
        """
        jobs = self.renders.values() if keys is None else [self.renders[key] for key in keys]
        by_level: dict[int, list[RenderJob]] = {}
        for job in jobs:
            by_level.setdefault(job.level, []).append(job)
        return [sorted(by_level[level], key=lambda j: (repr(j.group), j.key)) for level in sorted(by_level)]


def make_plan(manifest: Manifest, resolved: Resolved, *, only: frozenset[str] | None = None, strip_metadata: bool = False) -> Plan:
    """Jobs of every asset, or of ``only`` and the assets whose renders those need."""
    from pixelgen.core.conditioning import plan_render_jobs, required_assets

    if only is not None:
        only = required_assets(manifest, only)
    selected = [asset for asset in manifest.assets if only is None or asset.id in only]
    image_jobs = plan_render_jobs(selected, manifest, resolved, _render_job)
    renders: dict[str, RenderJob] = {}
    assets: list[AssetPlan] = []
    for asset in selected:
        asset_renders = [image_jobs[(asset.id, image.name)] for image in asset.images]
        for job in asset_renders:
            renders[job.key] = job
        palette = _palette_payload(manifest, asset, asset_renders)
        grid_set = _grid_set(asset, asset_renders)
        posts = tuple(
            _post_job(manifest, asset, image, job, palette, grid_set, resolved, strip_metadata)
            for image, job in zip(asset.images, asset_renders)
        )
        files = tuple(f"{asset.id}/{name}" for name in pack_outputs(asset))
        key = pack_key(asset, [post.key for post in posts], manifest.name) if files else None
        upstream = sorted({ref.split("/", 1)[0] for image in asset.images for ref in image.upstream} - {asset.id})
        assets.append(AssetPlan(asset=asset, posts=posts, pack_key=key, pack_files=files, depends_on=tuple(upstream)))
    from pixelgen.core.training import plan_trainings

    trainings = plan_trainings(manifest.loras, resolved.loras, resolved.datasets)
    return Plan(manifest_name=manifest.name, renders=renders, assets=tuple(assets), trainings=trainings)


def _model_payload(asset: Asset, resolved: Resolved) -> dict[str, Any]:
    return {
        "model": resolved.models[asset.model],
        "loras": sorted([[use.name, resolved.loras[use.name], use.weight] for use in asset.loras], key=lambda item: item[0]),
    }


def _render_settings(asset: Asset) -> dict[str, Any]:
    render = asset.render
    return {
        "width": render.width,
        "height": render.height,
        "steps": render.steps,
        "guidance": render.guidance,
        "scheduler": render.scheduler,
        "seamless": asset.seamless,
    }


def _render_job(asset: Asset, image: ImageSpec, resolved: Resolved, conditioning: dict[str, Any] | None = None) -> RenderJob:
    """``conditioning``: fields and key payload of init/control (pixelgen.core.conditioning), None for a text-only render."""
    payload = {
        "job": "render",
        "version": RENDER_VERSION,
        **_model_payload(asset, resolved),
        "prompt": image.prompt,
        "negative": image.negative,
        "seed": image.seed,
        **_render_settings(asset),
    }
    fields: dict[str, Any] = {}
    if conditioning:
        # Only conditioned renders carry these keys, so every text-only key stays what it was.
        payload["conditioning"] = conditioning["payload"]
        fields = conditioning["fields"]
    render = asset.render
    return RenderJob(
        key=content_key(payload),
        model=asset.model,
        loras=tuple(sorted((use.name, use.weight) for use in asset.loras)),
        prompt=image.prompt,
        negative=image.negative,
        seed=image.seed,
        width=render.width,
        height=render.height,
        steps=render.steps,
        guidance=render.guidance,
        scheduler=render.scheduler,
        seamless=asset.seamless,
        **fields,
    )


def _palette_payload(manifest: Manifest, asset: Asset, renders: list[RenderJob]) -> dict[str, Any] | None:
    if asset.palette is None:
        return None
    spec = manifest.palettes[asset.palette]
    if spec.kind != "auto":
        return {"colors": list(spec.colors)}
    payload: dict[str, Any] = {"auto": spec.auto_colors}
    if spec.shared:
        # A shared palette is learned from every render of the asset.
        payload["shared_with"] = sorted(job.key for job in renders)
    return payload


def _grid_set(asset: Asset, renders: list[RenderJob]) -> list[str] | None:
    """The renders whose cell size is found jointly (every image of the asset), or None.

    All frames, facings, variants, tiles or elements of one asset share one
    cell size, so each image's post-processing depends on all the renders.
    A declared cell needs no joint search.
    """
    if len(renders) < 2 or asset.pixelart.cell is not None:
        return None
    return sorted(job.key for job in renders)


def _post_job(manifest: Manifest, asset: Asset, image: ImageSpec, render: RenderJob, palette: dict[str, Any] | None,
              grid_set: list[str] | None, resolved: Resolved, strip_metadata: bool) -> PostJob:
    pixelart = asdict(asset.pixelart)
    post_inputs = {
        "size": list(image.size),
        "pixelart": pixelart,
        "background": asset.background,
        "wrap": asset.seamless,
        "border": list(image.border) if image.border else None,
        "grid_set": grid_set,
    }
    payload = {
        "job": "post",
        "version": [POST_VERSION, PIXELIZE_ALGORITHM_VERSION],
        "render": render.key,
        "palette": palette,
        **post_inputs,
        # Written into the PNG's metadata chunks, so part of the bytes.
        "asset": asset.id,
        "image": image.name,
    }
    if strip_metadata:
        payload["strip_metadata"] = True
    inputs = {
        "model": content_key(_model_payload(asset, resolved)),
        "prompt": content_key([image.prompt, image.negative]),
        "seed": str(image.seed),
        "render": content_key(_render_settings(asset)),
        "palette": content_key(palette),
        "postprocess": content_key({**post_inputs, "strip_metadata": True} if strip_metadata else post_inputs),
        "version": content_key([RENDER_VERSION, POST_VERSION, PIXELIZE_ALGORITHM_VERSION]),
    }
    if render.conditioned:
        inputs["conditioning"] = content_key([render.init, list(render.control), list(render.depends)] + ([render.style] if render.style else []))
    return PostJob(
        key=content_key(payload),
        render_key=render.key,
        asset_id=asset.id,
        image=image.name,
        output=f"{asset.id}/{image.name}.png",
        size=image.size,
        palette=palette,
        pixelart=pixelart,
        background=asset.background,
        wrap=asset.seamless,
        border=image.border,
        grid_set=None if grid_set is None else tuple(grid_set),
        inputs=inputs,
        prompt=image.prompt,
        negative=image.negative,
        seed=image.seed,
        model=asset.model,
        strip_metadata=strip_metadata,
    )


REASONS = {
    "model": "model or LoRA changed",
    "prompt": "prompt changed",
    "seed": "seed changed",
    "render": "render settings changed",
    "palette": "palette changed",
    "postprocess": "post-processing settings changed",
    "version": "pixelgen's algorithms changed",
    "conditioning": "conditioning changed (an init, mask or control image, a ControlNet, or an upstream render)",
}


def change_reasons(previous_inputs: dict[str, str], current_inputs: dict[str, str]) -> list[str]:
    """Why a post job's key changed, in words, from the per-input digests."""
    reasons = [REASONS[name] for name in REASONS if previous_inputs.get(name) != current_inputs.get(name)]
    return reasons or ["inputs changed"]
