"""Quality scores for generated pixel art: pure numpy, no I/O.

Every function returns plain JSON data (``int``, ``float`` rounded to 6
decimals, ``None``, ``str``), never NaN or infinity, so scores can be written
with :func:`pixelgen.files.fsutil.write_json_atomic` and compared byte for byte
between builds.

Terms used throughout:

* **opaque pixel**: a pixel with alpha > 0. After post-processing alpha is
  binary, so this is the same as alpha == 255; before that, a half-covered
  pixel still shows its colour and so counts as drawn.
* **colour**: the RGB triple of an opaque pixel (alpha is not part of it).
* **composite**: RGBA laid over :data:`COMPOSITE_BACKGROUND`, so that two
  images that differ only in alpha compare as different.

scikit-image (SSIM/PSNR) is imported inside the functions that need it;
LPIPS and CLIP (torch, in :mod:`pixelgen.render.learned_metrics`) only from
:func:`optional_metrics`, and only when their weights are already on disk.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pixelgen.pixelart.checks import check_image

QUALITY_SCHEMA_VERSION = 1

# Magenta is the traditional sprite colour key: almost never a real sprite
# colour, so a pixel that turns transparent shows up as a large difference.
COMPOSITE_BACKGROUND: tuple[int, int, int] = (255, 0, 255)

# seam_error divides by the interior difference; a texture whose neighbours
# differ by less than one intensity level on average is treated as differing
# by exactly one level, so a flat tile's seam_error equals its seam in levels
# instead of exploding towards infinity.
SEAM_INTERIOR_FLOOR = 1.0

# SSIM's sliding window: scikit-image's default 7, shrunk (odd) for tiny
# images; below 3 pixels a side SSIM means nothing.
_SSIM_WINDOW = 7
_SSIM_MIN_SIDE = 3

_DIGITS = 6

# Model used for the CLIP text-image distance: a Hugging Face id resolved
# from the local cache only, or a local directory.
CLIP_MODEL_ENV = "PIXELGEN_CLIP_MODEL"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"


# --------------------------------------------------------------------------- validation


def _check_image(image: Any, name: str = "image") -> np.ndarray:
    """Return ``image`` as H×W×4 uint8; RGB (H×W×3) counts as fully opaque."""
    check_image(image, what=name)
    if image.shape[2] == 3:
        alpha = np.full(image.shape[:2] + (1,), 255, dtype=np.uint8)
        return np.concatenate([image, alpha], axis=2)
    return image


def _check_palette(palette: Any) -> np.ndarray:
    if not isinstance(palette, np.ndarray):
        raise TypeError(f"palette must be a numpy array, got {type(palette).__name__}")
    if palette.dtype != np.uint8:
        raise TypeError(f"palette must have dtype uint8, got {palette.dtype}")
    if palette.ndim != 2 or palette.shape[1] != 3:
        raise ValueError(f"palette must have shape (N, 3), got {palette.shape}")
    return palette


def _check_rgb_triple(color: Any, name: str) -> tuple[int, int, int]:
    try:
        values = tuple(color)
    except TypeError:
        raise ValueError(f"{name} must be an (r, g, b) tuple of ints 0-255, got {color!r}") from None
    if len(values) != 3 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in values
    ):
        raise ValueError(f"{name} must be an (r, g, b) tuple of ints 0-255, got {color!r}")
    return (int(values[0]), int(values[1]), int(values[2]))


def _round(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"metric value {value!r} is not finite")
    # +0.0 turns a rounded -0.0 into 0.0 so the JSON text is stable.
    return round(float(value), _DIGITS) + 0.0


# --------------------------------------------------------------------------- helpers


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """One uint32 key per colour (0xRRGGBB) so set operations are 1-D."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack_rgb(keys: np.ndarray) -> np.ndarray:
    keys = keys.astype(np.uint32)
    return np.stack([(keys >> 16) & 0xFF, (keys >> 8) & 0xFF, keys & 0xFF], axis=-1).astype(np.uint8)


def _opaque_colour_keys(rgba: np.ndarray) -> np.ndarray:
    """Sorted distinct packed colours of the opaque pixels."""
    return np.unique(_pack_rgb(rgba[..., :3][rgba[..., 3] > 0]))


def composite_rgb(image: np.ndarray, *, background: tuple[int, int, int] = COMPOSITE_BACKGROUND) -> np.ndarray:
    """Lay RGBA over a solid background, returning H×W×3 uint8 (rounded, integer maths)."""
    rgba = _check_image(image)
    bg = np.array(_check_rgb_triple(background, "background"), dtype=np.uint32)
    alpha = rgba[..., 3:4].astype(np.uint32)
    mixed = rgba[..., :3].astype(np.uint32) * alpha + bg * (255 - alpha)
    return ((mixed + 127) // 255).astype(np.uint8)


# --------------------------------------------------------------------------- per-image metrics


def pixel_metrics(
    image: np.ndarray,
    *,
    palette: np.ndarray | None,
    grid_confidence: float | None = None,
    outline_color: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """Palette, colour-count, alpha and cleanliness scores of one RGBA sprite.

    * ``palette_compliance``: share of opaque pixels whose RGB is exactly a
      palette entry (``None`` without a palette; 1.0 for an image with no
      opaque pixel, since none breaks the palette).
    * ``colors_used``: number of distinct opaque colours.
    * ``partial_alpha_share``: share of *all* pixels with 0 < alpha < 255.
    * ``grid_confidence``: passed through from grid detection.
    * ``orphan_pixels``: number of opaque pixels none of whose 8 neighbours is
      opaque: isolated specks left by quantisation or background removal.
    * ``outline_coverage``: with ``outline_color``, the share of opaque
      boundary pixels (opaque pixels 4-adjacent to a transparent pixel or to
      the image edge) whose RGB is the outline colour; ``None`` without an
      outline colour or without any opaque pixel.
    """
    rgba = _check_image(image)
    if grid_confidence is not None:
        if isinstance(grid_confidence, bool) or not isinstance(grid_confidence, (int, float, np.floating)):
            raise TypeError(f"grid_confidence must be a number or None, got {grid_confidence!r}")
        if not math.isfinite(float(grid_confidence)):
            raise ValueError(f"grid_confidence must be finite, got {grid_confidence!r}")
    alpha = rgba[..., 3]
    opaque = alpha > 0
    opaque_count = int(opaque.sum())
    keys = _pack_rgb(rgba[..., :3])
    opaque_keys = keys[opaque]

    compliance: float | None = None
    if palette is not None:
        palette_keys = _pack_rgb(_check_palette(palette))
        compliance = 1.0 if opaque_count == 0 else float(np.isin(opaque_keys, palette_keys).mean())

    partial = float(((alpha > 0) & (alpha < 255)).mean())

    # Count opaque 8-neighbours via a zero-padded mask: the image border is
    # "transparent" so a speck in a corner is still an orphan.
    padded = np.pad(opaque, 1).astype(np.uint8)
    h, w = opaque.shape
    neighbours = np.zeros((h, w), dtype=np.uint8)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbours += padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    orphans = int((opaque & (neighbours == 0)).sum())

    coverage: float | None = None
    if outline_color is not None:
        outline_key = int(_pack_rgb(np.array(_check_rgb_triple(outline_color, "outline_color"))))
        # Pad with False: an opaque pixel on the image edge is on the boundary.
        p = np.pad(opaque, 1)
        all_four_opaque = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
        boundary = opaque & ~all_four_opaque
        if boundary.any():
            coverage = float((keys[boundary] == outline_key).mean())

    return {
        "palette_compliance": None if compliance is None else _round(compliance),
        "colors_used": int(np.unique(opaque_keys).size),
        "partial_alpha_share": _round(partial),
        "grid_confidence": None if grid_confidence is None else _round(float(grid_confidence)),
        "orphan_pixels": orphans,
        "outline_coverage": None if coverage is None else _round(coverage),
    }


def seam_metrics(tile: np.ndarray) -> dict[str, float]:
    """How visible the wrap-around seams of a seamless tile are.

    The tile is composited over :data:`COMPOSITE_BACKGROUND` first (alpha
    matters), then, on RGB levels 0-255:

    * ``seam``: mean absolute difference across the wrap edges: last column
      against first column and last row against first row, all channels.
    * ``interior``: mean absolute difference of every horizontally or
      vertically adjacent pixel pair inside the tile.
    * ``seam_error``: ``seam / max(interior, SEAM_INTERIOR_FLOOR)``; about 1
      means the wrap edge looks like any other neighbour pair, well above 1
      means a visible seam.
    """
    rgba = _check_image(tile, "tile")
    h, w = rgba.shape[:2]
    if h < 2 or w < 2:
        raise ValueError(f"tile must be at least 2×2 pixels to have seams, got {w}×{h}")
    rgb = composite_rgb(rgba).astype(np.int16)
    seam_diffs = np.concatenate(
        [np.abs(rgb[:, -1] - rgb[:, 0]).ravel(), np.abs(rgb[-1, :] - rgb[0, :]).ravel()]
    )
    interior_diffs = np.concatenate(
        [np.abs(np.diff(rgb, axis=1)).ravel(), np.abs(np.diff(rgb, axis=0)).ravel()]
    )
    seam = float(seam_diffs.mean())
    interior = float(interior_diffs.mean())
    return {
        "seam": _round(seam),
        "interior": _round(interior),
        "seam_error": _round(seam / max(interior, SEAM_INTERIOR_FLOOR)),
    }


# --------------------------------------------------------------------------- animations


def _bbox(opaque: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), inclusive, of the opaque pixels; None if none."""
    rows = np.flatnonzero(opaque.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(opaque.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def animation_metrics(frames: Sequence[np.ndarray]) -> dict[str, Any]:
    """Frame-to-frame stability of an animation clip.

    Each value is the worst (max) over consecutive frame pairs (i, i+1):

    * ``palette_drift``: share of the distinct opaque colours of frame i+1
      that do not occur in frame i (0 = frame i+1 introduces no new colour;
      pairs where frame i+1 is empty count as 0).
    * ``bbox_jitter_px``: largest move, in pixels, of any edge (top, left,
      bottom, right) of the opaque bounding box.
    * ``centroid_jitter_px``: Euclidean distance, in pixels, between the
      mean positions of the opaque pixels.

    A value is ``None`` when no pair can be measured: a single-frame clip,
    or (for the geometric ones) every pair has an empty frame.
    """
    if isinstance(frames, np.ndarray) and frames.ndim == 4:
        frames = list(frames)
    if len(frames) == 0:
        raise ValueError("animation_metrics needs at least one frame, got none")
    checked = [_check_image(f, f"frames[{i}]") for i, f in enumerate(frames)]
    shape = checked[0].shape[:2]
    for i, frame in enumerate(checked):
        if frame.shape[:2] != shape:
            raise ValueError(
                f"all frames must have the same size; frames[0] is {shape[1]}×{shape[0]}, "
                f"frames[{i}] is {frame.shape[1]}×{frame.shape[0]}"
            )

    opaque = [f[..., 3] > 0 for f in checked]
    colours = [_opaque_colour_keys(f) for f in checked]
    boxes = [_bbox(o) for o in opaque]
    centroids = []
    for o in opaque:
        ys, xs = np.nonzero(o)
        centroids.append(None if ys.size == 0 else (float(ys.mean()), float(xs.mean())))

    drifts: list[float] = []
    bbox_moves: list[int] = []
    centroid_moves: list[float] = []
    for i in range(len(checked) - 1):
        following = colours[i + 1]
        drifts.append(
            0.0 if following.size == 0 else float((~np.isin(following, colours[i])).mean())
        )
        a, b = boxes[i], boxes[i + 1]
        if a is not None and b is not None:
            bbox_moves.append(max(abs(x - y) for x, y in zip(a, b, strict=True)))
        ca, cb = centroids[i], centroids[i + 1]
        if ca is not None and cb is not None:
            centroid_moves.append(math.hypot(ca[0] - cb[0], ca[1] - cb[1]))

    return {
        "frame_count": len(checked),
        "palette_drift": _round(max(drifts)) if drifts else None,
        "bbox_jitter_px": max(bbox_moves) if bbox_moves else None,
        "centroid_jitter_px": _round(max(centroid_moves)) if centroid_moves else None,
    }


# --------------------------------------------------------------------------- asset sets


def set_palette_union(images: Sequence[np.ndarray]) -> np.ndarray:
    """Every distinct opaque colour used across ``images``, as (N, 3) uint8 sorted by 0xRRGGBB."""
    if len(images) == 0:
        return np.zeros((0, 3), dtype=np.uint8)
    keys = np.unique(
        np.concatenate([_opaque_colour_keys(_check_image(img, f"images[{i}]")) for i, img in enumerate(images)])
    )
    return _unpack_rgb(keys)


def set_shares_palette(images: Sequence[np.ndarray], *, palette: np.ndarray | None = None) -> bool:
    """Whether a set of assets is drawn from one palette.

    With ``palette``: every opaque pixel of every image is a palette colour.
    Without: every image uses exactly the same set of colours (the strict
    check for frames or variants quantised together). An empty set shares
    trivially.
    """
    checked = [_check_image(img, f"images[{i}]") for i, img in enumerate(images)]
    if palette is not None:
        palette_keys = _pack_rgb(_check_palette(palette))
        return all(bool(np.isin(_opaque_colour_keys(img), palette_keys).all()) for img in checked)
    if not checked:
        return True
    first = _opaque_colour_keys(checked[0])
    return all(np.array_equal(first, _opaque_colour_keys(img)) for img in checked[1:])


# --------------------------------------------------------------------------- references


def reference_metrics(image: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """SSIM and PSNR (dB) of ``image`` against ``reference``, both composited over magenta.

    Returns ``{"ssim", "psnr", "reason"}``; ``reason`` is ``None`` when both
    numbers are given and otherwise says why one is ``None``: sizes differ,
    the image is too small for an SSIM window, or the two are identical
    (PSNR is infinite then, and JSON has no infinity; SSIM is 1.0).
    """
    a = _check_image(image)
    b = _check_image(reference, "reference")
    if a.shape[:2] != b.shape[:2]:
        return {
            "ssim": None,
            "psnr": None,
            "reason": f"size differs: image is {a.shape[1]}×{a.shape[0]}, "
            f"reference is {b.shape[1]}×{b.shape[0]}",
        }
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rgb_a = composite_rgb(a)
    rgb_b = composite_rgb(b)
    reasons = []
    side = min(rgb_a.shape[:2])
    window = min(_SSIM_WINDOW, side if side % 2 else side - 1)
    ssim: float | None
    if window < _SSIM_MIN_SIDE:
        ssim = None
        reasons.append(f"too small for SSIM: needs at least {_SSIM_MIN_SIDE}×{_SSIM_MIN_SIDE} pixels")
    else:
        ssim = _round(
            structural_similarity(rgb_b, rgb_a, channel_axis=2, data_range=255, win_size=window)
        )
    psnr: float | None
    if np.array_equal(rgb_a, rgb_b):
        psnr = None
        reasons.append("identical: PSNR is infinite")
    else:
        psnr = _round(peak_signal_noise_ratio(rgb_b, rgb_a, data_range=255))
    return {"ssim": ssim, "psnr": psnr, "reason": "; ".join(reasons) or None}


# --------------------------------------------------------------------------- optional learned metrics


def optional_metrics(image: np.ndarray, *, prompt: str | None, reference: np.ndarray | None) -> dict[str, Any]:
    """LPIPS (vs ``reference``) and CLIP text-image cosine distance (vs ``prompt``).

    Computed only when the package imports and its weights are already on
    disk: models load with ``local_files_only=True`` so nothing is downloaded
    (set ``HF_HUB_OFFLINE=1`` too, as everywhere in pixelgen). The
    CLIP model is ``$PIXELGEN_CLIP_MODEL`` (hub id in the local cache, or a
    directory), default :data:`DEFAULT_CLIP_MODEL`. A metric not computed is
    ``None`` with ``<name>_reason`` saying why.
    """
    rgba = _check_image(image)
    result: dict[str, Any] = {}
    if reference is None:
        result["lpips"], result["lpips_reason"] = None, "not computed: no reference image"
    else:
        from pixelgen.render.learned_metrics import lpips_distance

        result["lpips"], result["lpips_reason"] = lpips_distance(
            composite_rgb(rgba), composite_rgb(_check_image(reference, "reference"))
        )
    if prompt is None or not prompt.strip():
        result["clip_distance"], result["clip_distance_reason"] = None, "not computed: no prompt"
    else:
        from pixelgen.render.learned_metrics import clip_distance

        source = os.environ.get(CLIP_MODEL_ENV) or DEFAULT_CLIP_MODEL
        result["clip_distance"], result["clip_distance_reason"] = clip_distance(composite_rgb(rgba), prompt, source=source)
    return result


def learned_frame_similarity(frames: Sequence[np.ndarray], *, lpips: bool, clip_source: str | None) -> dict[str, Any]:
    """LPIPS and CLIP image similarity of each of ``frames[1:]`` against ``frames[0]``, composited like the other scores.

    ``lpips``: compute LPIPS (the caller checked the package is installed);
    ``clip_source``: the CLIP model to embed with, or None to skip. Returns
    per-frame lists (``frames_lpips``, ``frames_clip_image_similarity``) and
    the worst frame (``lpips``: the largest distance,
    ``clip_image_similarity``: the smallest similarity); a metric not
    computed is None with ``<name>_reason``.
    """
    rgb = [composite_rgb(_check_image(frame)) for frame in frames]
    result: dict[str, Any] = {}
    if len(rgb) < 2:
        why = "not computed: a one-frame clip"
        return {"lpips": None, "lpips_reason": why, "clip_image_similarity": None, "clip_image_similarity_reason": why}
    if lpips:
        from pixelgen.render.learned_metrics import lpips_distance

        found = [lpips_distance(frame, rgb[0]) for frame in rgb[1:]]
        reasons = [reason for _, reason in found if reason]
        if reasons:
            result.update(lpips=None, lpips_reason=reasons[0])
        else:
            distances = [value for value, _ in found]
            result.update(lpips=max(distances), frames_lpips=distances)
    if clip_source:
        from pixelgen.render.learned_metrics import clip_image_similarity

        similarities, reason = clip_image_similarity(rgb[1:], rgb[0], source=clip_source)
        if similarities is None:
            result.update(clip_image_similarity=None, clip_image_similarity_reason=reason)
        else:
            result.update(clip_image_similarity=min(similarities), frames_clip_image_similarity=similarities)
    return result


# --------------------------------------------------------------------------- documents


def combine_metrics(
    *,
    pixel: Mapping[str, Any],
    seam: Mapping[str, Any] | None = None,
    animation: Mapping[str, Any] | None = None,
    vs_previous: Mapping[str, Any] | None = None,
    vs_reference: Mapping[str, Any] | None = None,
    optional: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Flatten the per-family results into one asset's metric dict.

    Keys match :data:`pixelgen.quality.gates.GATE_METRICS`: the reference results
    become ``ssim_vs_previous`` / ``psnr_vs_previous`` / ``ssim_vs_reference``
    / ``psnr_vs_reference`` (``None`` when there was nothing to compare with).
    Convention: a ``None`` metric ``m`` is explained by ``m_reason``.
    """
    merged: dict[str, Any] = dict(pixel)
    for part in (seam, animation, optional):
        if part:
            merged.update(part)
    for suffix, part in (("previous", vs_previous), ("reference", vs_reference)):
        found = part or {"ssim": None, "psnr": None, "reason": f"not computed: no {suffix} image"}
        for name in ("ssim", "psnr"):
            key = f"{name}_vs_{suffix}"
            merged[key] = found.get(name)
            if merged[key] is None:
                merged[f"{key}_reason"] = found.get("reason") or "not computed"
    return merged


def quality_document(manifest_name: str, assets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``quality.json`` document: schema version, manifest name, assets sorted by id.

    Raises ``ValueError`` if a metric is not JSON data (NaN, infinity, objects).
    """
    document = {
        "schema": QUALITY_SCHEMA_VERSION,
        "manifest": manifest_name,
        "assets": {asset_id: dict(sorted(metrics.items())) for asset_id, metrics in sorted(assets.items())},
    }
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quality document for {manifest_name!r} is not plain JSON data: {exc}") from exc
    return document
