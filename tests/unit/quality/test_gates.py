"""Tests for pixelgen.quality.gates: bounds, skipping, validation and the terminal table."""

from __future__ import annotations

import dataclasses

import pytest

from pixelgen.quality.gates import (
    GATE_METRICS,
    GateResult,
    GateViolation,
    SkippedGate,
    evaluate_gates,
    format_violations,
    validate_thresholds,
)

METRICS = {
    "colors_used": 20,
    "palette_compliance": 0.98,
    "partial_alpha_share": 0.0,
    "orphan_pixels": 3,
    "grid_confidence": 0.9,
    "ssim_vs_previous": None,
    "ssim_vs_previous_reason": "not computed: no previous image",
    "seam_error": 1.0,
}


def test_gate_table_lists_every_manifest_gate() -> None:
    assert set(GATE_METRICS) == {
        "min_ssim_vs_previous",
        "min_ssim_vs_reference",
        "max_seam_error",
        "max_colors",
        "palette_compliance",
        "max_partial_alpha",
        "max_orphan_pixels",
        "min_grid_confidence",
        "min_grid_consistency",
        "max_frame_jitter_px",
        "max_palette_drift",
        "min_frame_consistency",
        "max_frame_lpips",
        "min_frame_clip_similarity",
        # Of trained LoRAs:
        "max_final_loss",
        "min_loss_drop",
        "min_ssim_gain",
        "max_palette_distance",
    }
    for gate, (metric, bound) in GATE_METRICS.items():
        assert bound in ("min", "max")
        assert isinstance(metric, str) and metric
        # The name says which way the bound goes (palette_compliance is the documented minimum).
        assert bound == ("max" if gate.startswith("max_") else "min")


def test_violations_for_both_bound_kinds() -> None:
    result = evaluate_gates("hero", METRICS, {"max_colors": 16, "palette_compliance": 1.0, "max_orphan_pixels": 3})
    assert isinstance(result, GateResult)
    assert not result.passed
    assert [(v.gate, v.metric, v.value, v.threshold) for v in result.violations] == [
        ("max_colors", "colors_used", 20, 16),
        ("palette_compliance", "palette_compliance", 0.98, 1.0),
    ]
    assert result.violations[0].message == "colors_used = 20 is above the maximum 16 (max_colors)"
    assert result.violations[1].message == "palette_compliance = 0.98 is below the minimum 1 (palette_compliance)"
    assert result.skipped == ()


def test_values_on_the_threshold_pass() -> None:
    result = evaluate_gates(
        "tile", METRICS, {"max_orphan_pixels": 3, "min_grid_confidence": 0.9, "max_seam_error": 1.0}
    )
    assert result.passed and result.violations == () and result.skipped == ()


def test_null_or_absent_metric_is_skipped_with_reason() -> None:
    result = evaluate_gates("hero", METRICS, {"min_ssim_vs_previous": 0.95, "max_frame_jitter_px": 1})
    assert result.passed
    assert result.skipped == (
        SkippedGate("hero", "max_frame_jitter_px", "bbox_jitter_px", "metric absent for this asset"),
        SkippedGate("hero", "min_ssim_vs_previous", "ssim_vs_previous", "not computed: no previous image"),
    )


def test_bad_thresholds_are_user_errors() -> None:
    with pytest.raises(ValueError, match="unknown quality gate 'max_colours'.*max_colors"):
        evaluate_gates("a", METRICS, {"max_colours": 8})
    with pytest.raises(ValueError, match="needs a finite number"):
        validate_thresholds({"max_colors": "16"})
    with pytest.raises(ValueError, match="needs a finite number"):
        validate_thresholds({"max_colors": True})
    with pytest.raises(ValueError, match="needs a finite number"):
        validate_thresholds({"max_seam_error": float("inf")})
    with pytest.raises(ValueError, match="must be a number"):
        evaluate_gates("a", {"colors_used": "many"}, {"max_colors": 8})


def test_violation_is_frozen_and_serialisable() -> None:
    violation = evaluate_gates("a", {"colors_used": 9}, {"max_colors": 8}).violations[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.value = 1  # type: ignore[misc]
    assert violation.to_dict() == {
        "asset": "a",
        "gate": "max_colors",
        "metric": "colors_used",
        "value": 9,
        "threshold": 8,
        "message": "colors_used = 9 is above the maximum 8 (max_colors)",
    }


def test_format_violations_table() -> None:
    violations = [
        GateViolation("knight/idle", "max_colors", "colors_used", 20, 16, "m"),
        GateViolation("grass", "palette_compliance", "palette_compliance", 0.987654321, 1.0, "m"),
    ]
    skipped = [SkippedGate("grass", "min_ssim_vs_previous", "ssim_vs_previous", "no previous build")]
    text = format_violations(violations, skipped)
    lines = text.splitlines()
    assert lines[0] == "2 quality gate violations:"
    assert lines[1].split() == ["asset", "gate", "metric", "value", "threshold"]
    assert lines[3].split() == ["knight/idle", "max_colors", "colors_used", "20", "<=", "16"]
    assert lines[4].split() == ["grass", "palette_compliance", "palette_compliance", "0.987654", ">=", "1"]
    # Columns line up: every row starts its "gate" cell at the same offset.
    offset = lines[1].index("gate")
    assert lines[3][offset:].startswith("max_colors") and lines[4][offset:].startswith("palette_compliance")
    assert lines[-2] == "1 gate skipped:"
    assert lines[-1] == "  grass: min_ssim_vs_previous (ssim_vs_previous): no previous build"
    assert format_violations([]) == "no quality gate violations"
