"""Does a clip show one character? Frame-consistency scores against frame 0. Pure numpy, uint8 RGBA in.

For each frame against the reference frame (frame 0 of its clip, or the
character's first image):

* ``silhouette_iou``: intersection over union of the opaque masks, after
  moving the frame so the centres of the two opaque bounding boxes coincide
  (a walk cycle moves the figure; that is not a different character);
* ``palette_distance``: Jaccard distance of the sets of opaque colours;
* ``histogram_distance``: total-variation distance of the opaque colour
  histograms (4 bits per channel);
* ``frame_consistency``: the mean of the IoU, 1 − palette distance and
  1 − histogram distance: 1 for identical frames, towards 0 for unrelated ones.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _rgba(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an H×W×3 or H×W×4 uint8 image, got {image.dtype} {image.shape}")
    if image.shape[2] == 3:
        return np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    return image


def _centred_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask moved so its bounding box's centre is at the centre of a ``shape`` canvas."""
    canvas = np.zeros(shape, bool)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return canvas
    crop = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    top = (shape[0] - crop.shape[0]) // 2
    left = (shape[1] - crop.shape[1]) // 2
    canvas[top: top + crop.shape[0], left: left + crop.shape[1]] = crop
    return canvas


def silhouette_iou(reference: np.ndarray, frame: np.ndarray) -> float | None:
    a, b = _rgba(reference)[..., 3] > 0, _rgba(frame)[..., 3] > 0
    if not a.any() and not b.any():
        return None
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    a, b = _centred_mask(a, shape), _centred_mask(b, shape)
    return float((a & b).sum() / (a | b).sum())


def _opaque_colours(image: np.ndarray) -> np.ndarray:
    rgba = _rgba(image)
    pixels = rgba[rgba[..., 3] > 0][:, :3].astype(np.uint32)
    return (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]


def palette_distance(reference: np.ndarray, frame: np.ndarray) -> float | None:
    a, b = np.unique(_opaque_colours(reference)), np.unique(_opaque_colours(frame))
    union = np.union1d(a, b).size
    return None if union == 0 else float(1.0 - np.intersect1d(a, b).size / union)


def histogram_distance(reference: np.ndarray, frame: np.ndarray) -> float | None:
    def histogram(image: np.ndarray) -> np.ndarray | None:
        colours = _opaque_colours(image)
        if colours.size == 0:
            return None
        bins = ((colours >> 20) & 0xF) << 8 | ((colours >> 12) & 0xF) << 4 | ((colours >> 4) & 0xF)
        counts = np.bincount(bins.astype(np.int64), minlength=4096).astype(np.float64)
        return counts / counts.sum()

    a, b = histogram(reference), histogram(frame)
    if a is None or b is None:
        return None
    return float(0.5 * np.abs(a - b).sum())


def frame_consistency(reference: np.ndarray, frame: np.ndarray) -> dict[str, Any]:
    """Scores of ``frame`` against ``reference``; values are None where nothing opaque can be compared."""
    iou = silhouette_iou(reference, frame)
    palette = palette_distance(reference, frame)
    histogram = histogram_distance(reference, frame)
    parts = [iou, None if palette is None else 1.0 - palette, None if histogram is None else 1.0 - histogram]
    known = [part for part in parts if part is not None]
    score = float(np.mean(known)) if len(known) == len(parts) else (0.0 if known else None)
    return {"frame_consistency": _round(score), "silhouette_iou": _round(iou), "palette_distance": _round(palette),
            "histogram_distance": _round(histogram)}


def clip_consistency(frames: Sequence[np.ndarray]) -> dict[str, Any]:
    """The worst frame of a clip against its frame 0 (None for a one-frame clip), and each frame's score."""
    per_frame = [frame_consistency(frames[0], frame)["frame_consistency"] for frame in frames[1:]]
    known = [score for score in per_frame if score is not None]
    return {"frame_consistency": min(known) if known else None, "frames": per_frame}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
