"""Quality stage of a build: scores per asset, gates, ``quality.json`` and ``report.html``.

Pixel-art scores of each image are computed in the post step and cached with
it (``run.image_scores``). Here they are joined with what depends on the
build's history — the comparison with the previously locked version and with
an optional ``reference`` image — aggregated per asset (worst image wins), and
checked against the manifest's ``quality`` gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pixelgen.records.recordset import QUALITY_FILENAME, REPORT_FILENAME  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from pixelgen.core.workspace import Workspace
    from pixelgen.quality.gates import GateViolation, SkippedGate
    from pixelgen.records.lock import Lock, LockEntry

# How each per-image metric becomes the asset's: the worst image decides.
_WORST = {
    "palette_compliance": min, "grid_confidence": min, "grid_consistency": min, "outline_coverage": min, "ssim_vs_previous": min,
    "ssim_vs_reference": min, "psnr_vs_previous": min, "psnr_vs_reference": min,
    "colors_used": max, "partial_alpha_share": max, "lpips": max, "clip_distance": max, "orphan_pixels": max, "seam_error": max, "seam": max, "interior": min,
}
_LOCK_KEYS = ("palette_compliance", "colors_used", "partial_alpha_share", "orphan_pixels", "grid_confidence", "grid_consistency", "seam_error")


def lock_quality_summary(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not metrics:
        return None
    return {key: metrics[key] for key in _LOCK_KEYS if key in metrics}


@dataclass
class Assessment:
    document: dict[str, Any]
    violations: list["GateViolation"] = field(default_factory=list)
    skipped: list["SkippedGate"] = field(default_factory=list)


def aggregate(image_metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, pick in _WORST.items():
        values = [m[key] for m in image_metrics if m.get(key) is not None]
        if values:
            merged[key] = pick(values)
        else:
            reasons = [m.get(f"{key}_reason") for m in image_metrics if m.get(f"{key}_reason")]
            if reasons or any(key in m for m in image_metrics):
                merged[key] = None
                merged[f"{key}_reason"] = reasons[0] if reasons else "not computed"
    return merged


def assess(ws: "Workspace", lock: "Lock", previous: Mapping[str, "LockEntry"], images: Mapping[str, Any], cached_metrics: Mapping[str, Mapping[str, Any]]) -> Assessment:
    """Score every asset of the plan.

    ``previous``: lock entries before this build (path → entry); ``images``:
    final images by output path; ``cached_metrics``: post-step scores by path.
    """
    from pixelgen.formats.png import decode_png
    from pixelgen.quality.gates import evaluate_gates
    from pixelgen.quality.scores import (
        animation_metrics,
        combine_metrics,
        quality_document,
        reference_metrics,
        set_shares_palette,
    )

    assets: dict[str, Any] = {}
    result = Assessment(document={})
    for asset_plan in ws.plan.assets:
        asset = asset_plan.asset
        per_image: dict[str, dict[str, Any]] = {}
        for post, spec in zip(asset_plan.posts, asset.images):
            image = images.get(post.output)
            if image is None:
                continue
            before = previous.get(post.output)
            vs_previous = None
            if before is not None and before.post_key != post.key:
                hit = ws.store.get("post", before.post_key)
                vs_previous = reference_metrics(image, decode_png(hit.data)) if hit else {"ssim": None, "psnr": None, "reason": "not computed: previous version not in the cache"}
            elif before is not None:
                vs_previous = {"ssim": 1.0, "psnr": None, "reason": "unchanged since the locked version"}
            vs_reference = None
            reference = None
            if spec.reference:
                reference = decode_png(Path(spec.reference).read_bytes())
                vs_reference = reference_metrics(image, reference)
            per_image[post.image] = combine_metrics(pixel=cached_metrics.get(post.output, {}), vs_previous=vs_previous,
                                                    vs_reference=vs_reference, optional=learned_metrics(image, post.prompt, reference))
        if not per_image:
            continue
        metrics = aggregate(list(per_image.values()))
        finals = [images[post.output] for post in asset_plan.posts if post.output in images]
        if asset.clips:
            worst: dict[str, Any] = {}
            for clip in asset.clips:
                clip_scores = animation_metrics([images[f"{asset.id}/{name}.png"] for name in clip.frames if f"{asset.id}/{name}.png" in images])
                for key in ("palette_drift", "bbox_jitter_px", "centroid_jitter_px"):
                    if clip_scores.get(key) is not None:
                        worst[key] = max(worst.get(key, clip_scores[key]), clip_scores[key])
            metrics.update(worst)
            from pixelgen.quality.consistency import clip_consistency

            animations = _animation_consistency(asset, images, clip_consistency)
            clip_scores = [entry["frame_consistency"] for entry in animations.values() if entry["frame_consistency"] is not None]
            metrics["frame_consistency"] = min(clip_scores) if clip_scores else None
            character = clip_consistency(finals)["frame_consistency"] if len(finals) > 1 else None
            metrics["character_consistency"] = character
            metrics.update(_worst_learned(animations.values(), prefix="frame_"))
            if len(finals) > 1:
                metrics.update(_worst_learned([learned_consistency(finals)], prefix="character_"))
        if len(finals) > 1:
            metrics["set_shares_palette"] = set_shares_palette(finals, palette=None) if asset.palette is None else _shares_declared(finals, lock, asset_plan)
        gates = evaluate_gates(asset.id, metrics, dict(asset.quality)) if asset.quality else None
        if gates:
            result.violations.extend(gates.violations)
            result.skipped.extend(gates.skipped)
        assets[asset.id] = {"kind": asset.kind, "metrics": metrics, "images": dict(sorted(per_image.items())),
                            "gates": {"thresholds": dict(asset.quality), "passed": gates.passed if gates else None,
                                      # A gate whose metric could not be computed here is not a pass: say so.
                                      "skipped": [{"gate": skip.gate, "reason": skip.reason} for skip in gates.skipped] if gates else []}}
        if asset.clips:
            assets[asset.id]["animations"] = animations
    result.document = quality_document(ws.manifest.name, assets)
    return result


def _pose_previews(asset: Any, files: Sequence[str]) -> dict[str, str]:
    """The pose each frame was rendered in, drawn at 4× the frame's size, by the frame's path."""
    if not any(image.pose for image in asset.images):
        return {}
    from pixelgen.core.poses import draw_library_pose, draw_pose_file
    from pixelgen.records.report import png_data_uri

    previews = {}
    for path, image in zip(files, asset.images):
        if image.pose is None:
            continue
        size = (image.size[0] * 4, image.size[1] * 4)
        try:
            drawn = draw_library_pose(image.pose.source, size) if image.pose.kind == "pose" else draw_pose_file(image.pose.source, size)
        except (OSError, ValueError):
            continue  # a pose file edited since the render: the frame is shown without it
        previews[path] = png_data_uri(drawn)
    return previews


def _animation_consistency(asset: Any, images: Mapping[str, Any], clip_consistency: Any) -> dict[str, Any]:
    """Per clip: each frame's consistency with the clip's frame 0, and the worst."""
    result = {}
    for clip in asset.clips:
        frames = [images[f"{asset.id}/{name}.png"] for name in clip.frames if f"{asset.id}/{name}.png" in images]
        if len(frames) == len(clip.frames):
            result[clip.name] = {**clip_consistency(frames), **learned_consistency(frames)}
    return result


def _worst_learned(entries: Any, *, prefix: str) -> dict[str, Any]:
    """The worst LPIPS (largest) and CLIP image similarity (smallest) over clips, or why they are missing."""
    entries = list(entries)
    merged: dict[str, Any] = {}
    for key, pick in (("lpips", max), ("clip_image_similarity", min)):
        values = [entry[key] for entry in entries if entry.get(key) is not None]
        reasons = [entry[f"{key}_reason"] for entry in entries if entry.get(f"{key}_reason")]
        merged[prefix + key] = pick(values) if values else None
        if not values:
            merged[f"{prefix}{key}_reason"] = reasons[0] if reasons else "not computed: no clip with two frames"
    return merged


def _learned_readiness() -> tuple[str | None, str | None]:
    """Why LPIPS and CLIP cannot run here (None where they can), checked without importing anything heavy.

    By default a build must not load torch just to say a metric is unavailable.
    """
    import importlib.util
    import os

    from pixelgen.quality.scores import CLIP_MODEL_ENV

    lpips_missing = None if importlib.util.find_spec("lpips") is not None else "package lpips not installed (pip install 'pixelgen[lpips]')"
    clip_missing = None if os.environ.get(CLIP_MODEL_ENV) else f"set {CLIP_MODEL_ENV} to a local CLIP model directory"
    return lpips_missing, clip_missing


def learned_metrics(image: Any, prompt: str, reference: Any) -> dict[str, Any]:
    """LPIPS and CLIP distance, only where the user installed them and has the weights."""
    from pixelgen.quality.scores import optional_metrics

    lpips_missing, clip_missing = _learned_readiness()
    lpips_ready = lpips_missing is None and reference is not None
    clip_ready = clip_missing is None
    if lpips_ready or clip_ready:
        found = optional_metrics(image, prompt=prompt if clip_ready else None, reference=reference if lpips_ready else None)
    else:
        found = {}
    if not lpips_ready:
        why = "no reference image" if reference is None else lpips_missing
        found.update(lpips=None, lpips_reason=f"not computed: {why}")
    if not clip_ready:
        found.update(clip_distance=None, clip_distance_reason=f"not computed: {clip_missing}")
    return found


def learned_consistency(frames: Sequence[Any]) -> dict[str, Any]:
    """LPIPS and CLIP image similarity of each frame against the first, where installed (see learned_metrics)."""
    import os

    from pixelgen.quality.scores import CLIP_MODEL_ENV, learned_frame_similarity

    lpips_missing, clip_missing = _learned_readiness()
    found: dict[str, Any] = {}
    if lpips_missing is None or clip_missing is None:
        found = learned_frame_similarity(frames, lpips=lpips_missing is None,
                                         clip_source=os.environ.get(CLIP_MODEL_ENV) if clip_missing is None else None)
    if lpips_missing is not None:
        found.update(lpips=None, lpips_reason=f"not computed: {lpips_missing}")
    if clip_missing is not None:
        found.update(clip_image_similarity=None, clip_image_similarity_reason=f"not computed: {clip_missing}")
    return found


def _shares_declared(finals: list[Any], lock: "Lock", asset_plan: Any) -> bool:
    from pixelgen.pixelart import palette_from_hex
    from pixelgen.quality.scores import set_shares_palette

    palettes = {tuple(lock.outputs[p.output].palette or ()) for p in asset_plan.posts if p.output in lock.outputs}
    if len(palettes) != 1:
        return False
    colours = next(iter(palettes))
    if not colours:
        return set_shares_palette(finals)
    return set_shares_palette(finals, palette=palette_from_hex(colours))


def quality_and_report(ws: "Workspace", lock: "Lock", assessment: Assessment, *, changed: set[str], previous_images: Mapping[str, Any],
                       summary: Mapping[str, Any], image_bytes: Mapping[str, bytes]) -> dict[str, bytes]:
    """``quality.json`` and ``report.html`` as bytes, by file name; the caller writes them with the other records.

    ``image_bytes``: the PNG of each output by path, embedded in the report;
    packed previews (tiling, GIFs) are read from the output folder.
    """
    import base64

    from pixelgen.files.fsutil import dump_json
    from pixelgen.records.report import ReportAsset, png_data_uri, render_report

    def data_uri(path: str) -> str | None:
        data = image_bytes.get(path)
        if data is None and (ws.out_dir / path).is_file():
            data = (ws.out_dir / path).read_bytes()
        if data is None:
            return None
        kind = "gif" if path.endswith(".gif") else "png"
        return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")

    report_assets = []
    palettes: dict[str, list[str]] = {}
    for asset_plan in ws.plan.assets:
        asset = asset_plan.asset
        entry = assessment.document["assets"].get(asset.id)
        if entry is None:
            continue
        files = [post.output for post in asset_plan.posts]
        previous = [previous_images[path] for path in files if path in previous_images]
        packs = set(asset_plan.pack_files)
        tiled_preview = next((p for p in asset_plan.pack_files if p.endswith(".tiled3x3.png")), None)
        animations = sorted(p for p in packs if p.endswith(".gif"))
        sources = {path: uri for path in [*files, *([tiled_preview] if tiled_preview else []), *animations] if (uri := data_uri(path))}
        report_assets.append(ReportAsset(
            asset_id=asset.id,
            kind=asset.kind,
            files=files,
            metrics=entry["metrics"],
            changed=asset.id in changed,
            previous_files=[png_data_uri(image) for image in previous] or None,
            tiled_preview=tiled_preview if tiled_preview in sources else None,
            animation_previews=[path for path in animations if path in sources],
            sources=sources,
            poses=_pose_previews(asset, files),
        ))
        for post in asset_plan.posts:
            colours = lock.outputs[post.output].palette if post.output in lock.outputs else None
            if colours:
                palettes.setdefault(asset.palette or asset.id, list(colours))
    from pixelgen.core.training import report_trainings

    html = render_report(manifest_name=ws.manifest.name, assets=report_assets, palettes=palettes,
                         violations=assessment.violations, build_summary=summary, skipped=assessment.skipped,
                         trainings=report_trainings(ws.plan.trainings, ws.store))
    return {QUALITY_FILENAME: dump_json(assessment.document).encode("utf-8"), REPORT_FILENAME: html.encode("utf-8")}
