"""Compare two throughput benches and flag a regression.

    python bench/compare.py A/metrics.json B/metrics.json [--json]

A is the baseline, B the candidate. For every batch size both ran, three
metrics are compared from their per-run values (one value per independent
run, stored by bench/throughput.py):

* latency: mean seconds per image of each run (lower is better),
* throughput: images per second of each run (higher is better),
* energy: joules per image of each run (lower is better; skipped when either
  side has no energy measurement).

For each: the difference B - A with Welch's 95 % t-interval, the relative
change, and Hedges' g. A metric counts as *significantly worse* when it moved
in the bad direction and either the 95 % CI of the difference excludes 0 or
|g| > 0.8 (a "large" effect; with 3 runs a side the CI is wide, so a large,
consistent shift is flagged even before the CI clears zero).

Regression: at some common batch size, two or more of the three metrics are
significantly worse. Latency and throughput are nearly reciprocal, so a plain
slow-down trips both; an energy rise alone, or noise in one metric, does not.

Exit status: 0 no regression, 1 regression, 2 the files cannot be compared
(different model, size, steps, device...; --force compares anyway).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stats

G_THRESHOLD = 0.8
# Config fields that must match for a comparison to mean anything.
COMPARABLE_FIELDS = ("model", "model_source", "revision", "variant", "size", "steps", "guidance", "scheduler", "device", "dtype")
METRICS: tuple[tuple[str, str, bool], ...] = (
    # name, unit, lower is better
    ("latency", "s/img", True),
    ("throughput", "img/s", False),
    ("energy", "J/img", True),
)


def per_run_values(entry: dict[str, Any], batch: int, metric: str) -> list[float] | None:
    """One value per run of ``metric`` for one batch size of a metrics.json, ``None`` when absent."""
    if metric == "latency":
        runs = entry["samples"]["pixelgen_batch_latency_s"]
        return [sum(run) / len(run) / batch for run in runs]
    if metric == "throughput":
        return list(entry["images_per_second"]["per_run"])
    if metric == "energy":
        energy = entry.get("energy")
        return None if not energy else list(energy["joules_per_image"]["per_run"])
    raise ValueError(f"unknown metric {metric!r}; expected one of {[name for name, _, _ in METRICS]}")


def compare_values(
    a: Sequence[float], b: Sequence[float], *, lower_is_better: bool, g_threshold: float = G_THRESHOLD
) -> dict[str, Any]:
    """Difference B - A with its CI, relative change and Hedges' g; whether B is significantly worse or better."""
    difference, low, high, df = _stats.welch_difference_ci(a, b)
    g = _stats.hedges_g(a, b)
    mean_a = sum(a) / len(a)
    ci_excludes_zero = low > 0 or high < 0
    large_effect = abs(g) > g_threshold
    significant = ci_excludes_zero or large_effect
    got_worse = difference > 0 if lower_is_better else difference < 0
    got_better = difference < 0 if lower_is_better else difference > 0
    return {
        "a_mean": mean_a,
        "b_mean": sum(b) / len(b),
        "difference": difference,
        "difference_ci95": [low, high],
        "welch_df": df,
        "relative_change": difference / mean_a if mean_a else math.nan,
        "hedges_g": g,
        "ci_excludes_zero": ci_excludes_zero,
        "large_effect": large_effect,
        "worse": significant and got_worse,
        "better": significant and got_better,
    }


def comparability(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``(problems, warnings)``: config differences that void the comparison, environment ones that weaken it."""
    problems = [
        f"config {name}: {a['config'].get(name)!r} vs {b['config'].get(name)!r}"
        for name in COMPARABLE_FIELDS
        if a["config"].get(name) != b["config"].get(name)
    ]
    warnings = []

    def gpus(metrics: dict[str, Any]) -> list[str | None]:
        gpu = metrics.get("environment", {}).get("gpu") or {}
        return [device.get("name") for device in gpu.get("devices", [])]

    if gpus(a) != gpus(b):
        warnings.append(f"GPUs differ: {gpus(a)} vs {gpus(b)}")
    packages_a = a.get("environment", {}).get("packages", {})
    packages_b = b.get("environment", {}).get("packages", {})
    for name in sorted(set(packages_a) | set(packages_b)):
        if packages_a.get(name) != packages_b.get(name):
            warnings.append(f"{name} {packages_a.get(name)} vs {packages_b.get(name)}")
    machine_a = a.get("environment", {}).get("platform", {}).get("machine")
    machine_b = b.get("environment", {}).get("platform", {}).get("machine")
    if machine_a != machine_b:
        warnings.append(f"CPU architecture {machine_a} vs {machine_b}")
    threads_a = (a.get("controls") or {}).get("torch_threads")
    threads_b = (b.get("controls") or {}).get("torch_threads")
    if threads_a != threads_b:
        warnings.append(f"torch CPU threads {threads_a} vs {threads_b}")
    for side, metrics in (("A", a), ("B", b)):
        if (metrics.get("controls") or {}).get("gpu_clocks") == "unlocked":
            warnings.append(f"{side}: GPU clocks were not locked")
    return problems, warnings


def compare_metrics(a: dict[str, Any], b: dict[str, Any], *, g_threshold: float = G_THRESHOLD) -> dict[str, Any]:
    """Compare two metrics.json documents; ``regression`` is True when any common batch has >= 2 worse metrics."""
    problems, warnings = comparability(a, b)
    common = sorted(set(a["by_batch"]) & set(b["by_batch"]), key=int)
    if not common:
        problems.append(f"no common batch size: {sorted(a['by_batch'], key=int)} vs {sorted(b['by_batch'], key=int)}")
    batches: dict[str, Any] = {}
    regressed: list[int] = []
    for key in common:
        batch = int(key)
        results: dict[str, Any] = {}
        for name, unit, lower_is_better in METRICS:
            values_a = per_run_values(a["by_batch"][key], batch, name)
            values_b = per_run_values(b["by_batch"][key], batch, name)
            if values_a is None or values_b is None:
                results[name] = None
                continue
            results[name] = {"unit": unit, **compare_values(values_a, values_b, lower_is_better=lower_is_better, g_threshold=g_threshold)}
        worse = [name for name, result in results.items() if result and result["worse"]]
        batches[key] = {"metrics": results, "worse": worse}
        if len(worse) >= 2:
            regressed.append(batch)
    return {
        "a": a.get("run_id"),
        "b": b.get("run_id"),
        "g_threshold": g_threshold,
        "batches": batches,
        "regression": bool(regressed),
        "regressed_batches": regressed,
        "problems": problems,
        "warnings": warnings,
    }


def format_report(result: dict[str, Any]) -> str:
    lines = [f"A (baseline) {result['a']}  vs  B (candidate) {result['b']}"]
    for warning in result["warnings"]:
        lines.append(f"warning: {warning}")
    for problem in result["problems"]:
        lines.append(f"not comparable: {problem}")
    header = f"{'batch':>5}  {'metric':<10} {'A':>11} {'B':>11} {'B-A [95% CI]':>34} {'rel.':>8} {'g':>7}  verdict"
    lines.append(header)
    for key, entry in result["batches"].items():
        for name, _unit, _lower in METRICS:
            metric = entry["metrics"].get(name)
            if metric is None:
                lines.append(f"{key:>5}  {name:<10} {'n/a (not measured on both sides)':>34}")
                continue
            verdict = "WORSE" if metric["worse"] else ("better" if metric["better"] else "no significant change")
            low, high = metric["difference_ci95"]
            interval = f"{metric['difference']:+.4g} [{low:+.4g}, {high:+.4g}]"
            lines.append(
                f"{key:>5}  {name:<10} {metric['a_mean']:>11.4g} {metric['b_mean']:>11.4g} {interval:>34} "
                f"{metric['relative_change']:>+8.1%} {metric['hedges_g']:>7.2f}  {verdict} ({metric['unit']})"
            )
    if result["regression"]:
        lines.append(f"REGRESSION at batch size(s) {result['regressed_batches']}: two or more metrics significantly worse")
    else:
        lines.append("no regression (fewer than two metrics significantly worse at every batch size)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare two bench/throughput.py metrics.json files (A = baseline).")
    parser.add_argument("a", type=Path, help="baseline metrics.json")
    parser.add_argument("b", type=Path, help="candidate metrics.json")
    parser.add_argument("--g-threshold", type=float, default=G_THRESHOLD, help="|Hedges' g| above this is significant")
    parser.add_argument("--force", action="store_true", help="compare even when the configs differ")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args(argv)
    documents = []
    for path in (args.a, args.b):
        try:
            documents.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as error:
            print(f"error: cannot read {path}: {error}", file=sys.stderr)
            return 2
    try:
        result = compare_metrics(*documents, g_threshold=args.g_threshold)
    except (KeyError, ValueError) as error:
        print(f"error: not a bench/throughput.py metrics.json with per-run samples: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else format_report(result))
    if result["problems"] and not args.force:
        print("error: the runs are not comparable (use --force to compare anyway)", file=sys.stderr)
        return 2
    return 1 if result["regression"] else 0


if __name__ == "__main__":
    sys.exit(main())
