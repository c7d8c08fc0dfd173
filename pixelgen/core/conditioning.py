"""Conditioned renders in the plan: the image DAG, keys that cover every conditioning input, and the images themselves.

An image's render may start from another image (``init``, img2img or
inpainting) and be guided by ControlNets, each fed a control image. Sources
are files (keyed by their sha256), the raw render of another image (keyed by
that render's job key: editing the upstream prompt re-renders every
dependant), or poses of the built-in library (keyed by their keypoints). The
planning half is pure; ``condition_images`` reads files and draws poses when a
render runs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pixelgen.core.dag import DependencyCycle, closure, level_of
from pixelgen.core.resolve import Resolved
from pixelgen.errors import InputError
from pixelgen.manifest.model import Asset, ConditionImage, ImageSpec, Manifest

Node = tuple[str, str]  # (asset id, image name)


def image_graph(assets: list[Asset] | tuple[Asset, ...]) -> dict[Node, tuple[Node, ...]]:
    """Every image and the images whose renders it needs."""
    return {
        (asset.id, image.name): tuple(tuple(ref.split("/", 1)) for ref in image.upstream)  # type: ignore[misc]
        for asset in assets
        for image in asset.images
    }


def required_assets(manifest: Manifest, only: frozenset[str]) -> frozenset[str]:
    """``only`` and every asset whose renders those assets need, transitively."""
    needs: dict[str, set[str]] = {}
    for asset in manifest.assets:
        needs[asset.id] = {ref.split("/", 1)[0] for image in asset.images for ref in image.upstream} - {asset.id}
    return frozenset(closure(needs, only))


def plan_render_jobs(assets: list[Asset], manifest: Manifest, resolved: Resolved, make_job: Callable[..., Any]) -> dict[Node, Any]:
    """The render job of every image of ``assets``, upstream renders first so their keys enter the dependants' keys."""
    by_node = {(asset.id, image.name): (asset, image) for asset in assets for image in asset.images}
    graph = image_graph(assets)
    try:
        # Most manifests condition nothing: every image is level 0, no sort needed.
        levels = level_of(graph) if any(graph.values()) else dict.fromkeys(graph, 0)
    except DependencyCycle as cycle:  # the loader refuses cycles; a plan of a hand-made Manifest may still have one
        raise InputError(f"{manifest.path}: {cycle}\n    fix: break the cycle: remove or change one of these references") from None
    jobs: dict[Node, Any] = {}
    for node in sorted(by_node, key=lambda n: levels[n]):
        asset, image = by_node[node]
        conditioning = _conditioning(image, jobs, resolved, levels[node]) if (image.init or image.control or image.style) else None
        jobs[node] = make_job(asset, image, resolved, conditioning)
    return jobs


def _conditioning(image: ImageSpec, jobs: dict[Node, Any], resolved: Resolved, level: int) -> dict[str, Any]:
    depends: list[str] = []

    def source(reference: ConditionImage) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the renderer needs, what the key hashes) of one image source."""
        if reference.kind == "asset":
            upstream = jobs[tuple(reference.source.split("/", 1))]  # type: ignore[index]
            depends.append(upstream.key)
            return {"render": upstream.key}, {"render": upstream.key}
        if reference.kind == "pose":
            from pixelgen.core.poses import pose_payload

            return {"pose": reference.source}, pose_payload(reference.source)
        digest = resolved.files[reference.source]
        return {reference.kind: reference.source, "sha256": digest}, {reference.kind: digest}

    fields: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    if image.init is not None:
        init_source, init_key = source(image.init.image)
        mask_source, mask_key = source(image.init.mask) if image.init.mask else (None, None)
        fields["init"] = {"image": init_source, "strength": image.init.strength, "mask": mask_source}
        payload["init"] = {"image": init_key, "strength": image.init.strength, "mask": mask_key}
    if image.control:
        controls, keyed = [], []
        for use in image.control:
            control_source, control_key = source(use.image)
            settings = {"scale": use.scale, "start": use.start, "end": use.end}
            controls.append({"model": use.model, "image": control_source, **settings})
            keyed.append({"controlnet": resolved.controlnets[use.model], "image": control_key, **settings})
        fields["control"] = tuple(controls)
        payload["control"] = keyed
    if image.style is not None:
        from pixelgen.core.resolve_conditioning import ADAPTER_PREFIX

        pairs = [source(reference) for reference in image.style.images]
        fields["style"] = {"adapter": image.style.adapter, "images": [pair[0] for pair in pairs], "scale": image.style.scale}
        payload["style"] = {"adapter": resolved.controlnets[ADAPTER_PREFIX + image.style.adapter], "images": [pair[1] for pair in pairs],
                            "scale": image.style.scale}
    fields["depends"] = tuple(dict.fromkeys(depends))
    fields["level"] = level if fields["depends"] else 0
    return {"fields": fields, "payload": payload}


def describe_source(source: dict[str, Any]) -> str:
    """A conditioning source in a line: the pose, a file's digest, or the upstream render's key."""
    if "pose" in source:
        return f"pose {source['pose']}"
    if "render" in source:
        return f"render {source['render'][:10]}"
    return f"{'pose file' if 'pose_file' in source else 'file'} {source['sha256'][:10]}"


def conditioning_parameters(job: Any, resolved: Resolved) -> list[str]:
    """A1111-style ``parameters`` entries of a conditioned render (img2img strength, init image, ControlNets)."""
    from pixelgen.files.hashing import content_key

    entries = []
    if job.init is not None:
        entries.append(f"Denoising strength: {job.init['strength']:g}")
        entries.append(f"Init image: {describe_source(job.init['image'])}")
        if job.init.get("mask"):
            entries.append(f"Mask: {describe_source(job.init['mask'])}")
    if job.style is not None:
        from pixelgen.core.resolve_conditioning import ADAPTER_PREFIX

        adapter_hash = content_key(resolved.controlnets[ADAPTER_PREFIX + job.style["adapter"]])[:10]
        images = "; ".join(describe_source(source) for source in job.style["images"])
        entries.append(f"IP-Adapter: \"Model: {job.style['adapter']} [{adapter_hash}], Weight: {job.style['scale']:g}, Images: {images}\"")
    for index, use in enumerate(job.control):
        model_hash = content_key(resolved.controlnets[use["model"]])[:10]
        entries.append(f"ControlNet {index}: \"Model: {use['model']} [{model_hash}], Weight: {use['scale']:g}, "
                       f"Guidance Start: {use['start']:g}, Guidance End: {use['end']:g}, Image: {describe_source(use['image'])}\"")
    return entries


# -- at render time -------------------------------------------------------------------
def condition_images(job: Any, renders: dict[str, np.ndarray]) -> dict[str, Any]:
    """The init image, mask and control images of ``job`` at its render size (H×W×3 uint8; the mask H×W×3 too).

    ``renders`` holds the raw renders of the upstream jobs by key.
    """
    size = (job.width, job.height)
    result: dict[str, Any] = {}
    if job.init is not None:
        result["init"] = _image(job.init["image"], size, renders)
        if job.init.get("mask"):
            result["mask"] = _image(job.init["mask"], size, renders, mask=True)
    result["control"] = [_image(use["image"], size, renders) for use in job.control]
    if job.style is not None:
        result["style"] = [_image(source, size, renders) for source in job.style["images"]]
    return result


def _image(source: dict[str, Any], size: tuple[int, int], renders: dict[str, np.ndarray], *, mask: bool = False) -> np.ndarray:
    from PIL import Image

    if "pose" in source:
        from pixelgen.core.poses import draw_library_pose

        return draw_library_pose(source["pose"], size)
    if "pose_file" in source:
        from pixelgen.core.poses import draw_pose_file

        return draw_pose_file(source["pose_file"], size)
    if "render" in source:
        picture = Image.fromarray(renders[source["render"]])
    else:
        from pixelgen.files.hashing import sha256_bytes

        with open(source["file"], "rb") as handle:
            data = handle.read()
        if sha256_bytes(data) != source["sha256"]:
            raise InputError(f"{source['file']} changed while the build ran\n    fix: build again")
        import io

        picture = Image.open(io.BytesIO(data))
        picture.load()
    if mask:
        picture = picture.convert("L").convert("RGB")
    elif picture.mode != "RGB":
        # Transparent pixels become white, as a render's background usually is.
        rgba = picture.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(backdrop, rgba).convert("RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.NEAREST if mask else Image.Resampling.LANCZOS)
    return np.asarray(picture, dtype=np.uint8).copy()
