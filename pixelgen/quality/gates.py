"""Quality gates: compare an asset's metrics with the thresholds its manifest sets.

A manifest's ``quality:`` block maps gate names to numbers, e.g.::

    quality:
      max_colors: 16
      palette_compliance: 1.0
      max_orphan_pixels: 0

Each gate reads one metric (see :data:`GATE_METRICS`) and is either a lower
bound (``min``: the metric must be >= the threshold) or an upper bound
(``max``: the metric must be <= the threshold). A gate whose metric was not
computed (``None`` or absent, e.g. no previous build to compare with) is
*skipped*, not failed, and reported as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

Bound = Literal["min", "max"]

# gate name (manifest key) -> (metric key in the asset's metrics, bound kind).
# Metric keys are those produced by pixelgen.quality.scores.combine_metrics.
GATE_METRICS: Mapping[str, tuple[str, Bound]] = {
    "min_ssim_vs_previous": ("ssim_vs_previous", "min"),
    "min_ssim_vs_reference": ("ssim_vs_reference", "min"),
    "max_seam_error": ("seam_error", "max"),
    "max_colors": ("colors_used", "max"),
    "palette_compliance": ("palette_compliance", "min"),
    "max_partial_alpha": ("partial_alpha_share", "max"),
    "max_orphan_pixels": ("orphan_pixels", "max"),
    "min_grid_confidence": ("grid_confidence", "min"),
    "min_grid_consistency": ("grid_consistency", "min"),
    "max_frame_jitter_px": ("bbox_jitter_px", "max"),
    "max_palette_drift": ("palette_drift", "max"),
    "min_frame_consistency": ("frame_consistency", "min"),
    # Learned similarity of frames to frame 0: only where lpips / a CLIP model is installed, else skipped with the reason.
    "max_frame_lpips": ("frame_lpips", "max"),
    "min_frame_clip_similarity": ("frame_clip_image_similarity", "min"),
    # Gates of a trained LoRA (`loras: {NAME: {train: {quality: …}}}`), on its training metrics.
    "max_final_loss": ("final_loss", "max"),
    "min_loss_drop": ("loss_drop", "min"),
    "min_ssim_gain": ("ssim_gain", "min"),
    "max_palette_distance": ("palette_distance", "max"),
}
TRAINING_GATES = ("max_final_loss", "min_loss_drop", "min_ssim_gain", "max_palette_distance")


@dataclass(frozen=True)
class GateViolation:
    """One asset breaking one gate."""

    asset: str
    gate: str
    metric: str
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SkippedGate:
    """A gate that could not be checked because its metric has no value."""

    asset: str
    gate: str
    metric: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    violations: tuple[GateViolation, ...]
    skipped: tuple[SkippedGate, ...]

    @property
    def passed(self) -> bool:
        return not self.violations


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def validate_thresholds(thresholds: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for an unknown gate name or a non-numeric threshold."""
    for gate, threshold in thresholds.items():
        if gate not in GATE_METRICS:
            known = ", ".join(sorted(GATE_METRICS))
            raise ValueError(f"unknown quality gate {gate!r}; known gates: {known}")
        if not _is_number(threshold) or not math.isfinite(threshold):
            raise ValueError(f"quality gate {gate!r} needs a finite number, got {threshold!r}")


def evaluate_gates(asset_id: str, metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> GateResult:
    """Check ``metrics`` of one asset against the manifest ``thresholds``.

    Gates are checked in sorted name order so the output is stable.
    """
    validate_thresholds(thresholds)
    violations: list[GateViolation] = []
    skipped: list[SkippedGate] = []
    for gate in sorted(thresholds):
        threshold = thresholds[gate]
        metric, bound = GATE_METRICS[gate]
        value = metrics.get(metric)
        if value is None:
            reason = metrics.get(f"{metric}_reason") or (
                "metric not computed" if metric in metrics else "metric absent for this asset"
            )
            skipped.append(SkippedGate(asset_id, gate, metric, str(reason)))
            continue
        if not _is_number(value):
            raise ValueError(
                f"asset {asset_id!r}: metric {metric!r} must be a number for gate {gate!r}, got {value!r}"
            )
        if bound == "min" and value < threshold:
            relation = "below the minimum"
        elif bound == "max" and value > threshold:
            relation = "above the maximum"
        else:
            continue
        violations.append(
            GateViolation(
                asset=asset_id,
                gate=gate,
                metric=metric,
                value=value,
                threshold=threshold,
                message=f"{metric} = {_format_number(value)} is {relation} {_format_number(threshold)} ({gate})",
            )
        )
    return GateResult(tuple(violations), tuple(skipped))


def format_violations(violations: Iterable[GateViolation], skipped: Iterable[SkippedGate] = ()) -> str:
    """A plain-text table for the terminal: asset, gate, metric, value, threshold."""
    violations = list(violations)
    skipped = list(skipped)
    lines: list[str] = []
    if violations:
        header = ("asset", "gate", "metric", "value", "threshold")
        rows = [
            (
                v.asset,
                v.gate,
                v.metric,
                _format_number(v.value),
                (">= " if GATE_METRICS[v.gate][1] == "min" else "<= ") + _format_number(v.threshold),
            )
            for v in violations
        ]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()

        lines.append(f"{len(violations)} quality gate violation{'s' if len(violations) != 1 else ''}:")
        lines.append(line(header))
        lines.append(line(tuple("-" * w for w in widths)))
        lines.extend(line(row) for row in rows)
    else:
        lines.append("no quality gate violations")
    if skipped:
        lines.append(f"{len(skipped)} gate{'s' if len(skipped) != 1 else ''} skipped:")
        lines.extend(f"  {s.asset}: {s.gate} ({s.metric}): {s.reason}" for s in skipped)
    return "\n".join(lines)
