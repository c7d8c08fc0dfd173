"""Statistics shared by the bench scripts (throughput.py, compare.py).

Plain numpy (and scipy for Student's t quantiles, imported where used), so the
tests can load this file on its own. Every interval here is two-sided.

Methods, stated once so metrics.json and the docs can point here:

* mean and throughput CIs: Student's t-interval over the *per-run* values
  (one value per independent run, df = runs - 1). Calls inside one run are
  not independent (same warm caches, same clocks), so they are never pooled
  as if they were.
* percentile CIs (p50, p95): two-level percentile bootstrap: resample runs
  with replacement, then calls within each chosen run with replacement, and
  take the pooled percentile of the resample; 2,000 resamples, fixed seed.
* difference of two means: Welch's t-interval (unequal variances,
  Welch-Satterthwaite df).
* effect size: Hedges' g, Cohen's d on the pooled SD times the small-sample
  correction J = 1 - 3 / (4 (n_a + n_b) - 9).
* energy: trapezoid rule over power samples, with the power linearly
  interpolated at the window's edges so a window between two samples still
  gets its share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def _as_1d(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a NaN or infinite value: {array.tolist()}")
    return array


def _t_quantile(confidence: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2.0, df))


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student's t-interval of the mean of independent values.

    Needs at least 2 values (one per run); with fewer there is no spread to
    estimate, so this raises rather than return a zero-width interval.
    """
    array = _as_1d(values, "values")
    if array.size < 2:
        raise ValueError(f"a confidence interval needs at least 2 runs, got {array.size}; use --runs 3 or more")
    mean = float(array.mean())
    half = _t_quantile(confidence, array.size - 1) * float(array.std(ddof=1)) / math.sqrt(array.size)
    return mean, mean - half, mean + half


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), numpy's default linear interpolation."""
    array = _as_1d(values, "values")
    if array.size == 0:
        raise ValueError("percentile of no values")
    return float(np.percentile(array, q))


def pooled(runs: Sequence[Sequence[float]]) -> np.ndarray:
    """All calls of all runs in one array."""
    return np.concatenate([_as_1d(run, "run") for run in runs]) if runs else np.empty(0)


def hierarchical_bootstrap_ci(
    runs: Sequence[Sequence[float]],
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``statistic`` over pooled calls, resampling runs then calls.

    ``statistic`` maps a 2-D array (one resample per row) to one value per row,
    e.g. ``lambda v: np.percentile(v, 95, axis=1)``, so resamples are vectorised.

    Resampling the runs keeps run-to-run variation (the dominant one on a GPU:
    clocks, thermals) in the interval; resampling calls inside each run keeps
    the within-run spread.
    """
    arrays = [_as_1d(run, "run") for run in runs]
    if len(arrays) < 2:
        raise ValueError(f"a bootstrap over runs needs at least 2 runs, got {len(arrays)}")
    if any(array.size == 0 for array in arrays):
        raise ValueError("every run needs at least one measured call")
    rng = np.random.default_rng(seed)
    estimates = np.empty(resamples)
    sizes = {array.size for array in arrays}
    if len(sizes) == 1:
        # Equal-sized runs (the bench's case): draw every resample at once.
        table = np.stack(arrays)
        runs_count, calls = table.shape
        chosen = rng.integers(0, runs_count, size=(resamples, runs_count, 1))
        picks = rng.integers(0, calls, size=(resamples, runs_count, calls))
        estimates = np.asarray(statistic(table[chosen, picks].reshape(resamples, runs_count * calls)), dtype=np.float64)
    else:
        for index in range(resamples):
            chosen_runs = rng.integers(0, len(arrays), size=len(arrays))
            parts = [arrays[run][rng.integers(0, arrays[run].size, size=arrays[run].size)] for run in chosen_runs]
            estimates[index] = float(np.asarray(statistic(np.concatenate(parts)[np.newaxis, :]))[0])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def latency_summary(runs: Sequence[Sequence[float]], confidence: float = CONFIDENCE) -> dict[str, object]:
    """Mean, p50 and p95 of the pooled calls with their CIs (see the module docstring for methods)."""
    all_calls = pooled(runs)
    run_means = [float(np.mean(_as_1d(run, "run"))) for run in runs]
    mean, mean_low, mean_high = t_interval(run_means, confidence)
    p50_ci = hierarchical_bootstrap_ci(runs, lambda values: np.percentile(values, 50, axis=1), confidence=confidence)
    p95_ci = hierarchical_bootstrap_ci(runs, lambda values: np.percentile(values, 95, axis=1), confidence=confidence)
    return {
        "mean": mean,
        "p50": percentile(all_calls, 50),
        "p95": percentile(all_calls, 95),
        "ci95": {"mean": [mean_low, mean_high], "p50": list(p50_ci), "p95": list(p95_ci)},
        "n_runs": len(runs),
        "n_calls": int(all_calls.size),
    }


def mean_with_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, object]:
    """``{"mean", "ci95": [low, high], "per_run": [...]}`` for one value per run."""
    mean, low, high = t_interval(values, confidence)
    return {"mean": mean, "ci95": [low, high], "per_run": [float(v) for v in values]}


def welch_difference_ci(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """``(mean(b) - mean(a), low, high, df)``: Welch's t-interval of the difference of means."""
    first = _as_1d(a, "a")
    second = _as_1d(b, "b")
    if first.size < 2 or second.size < 2:
        raise ValueError(f"a difference CI needs at least 2 runs per side, got {first.size} and {second.size}")
    var_a = float(first.var(ddof=1)) / first.size
    var_b = float(second.var(ddof=1)) / second.size
    difference = float(second.mean() - first.mean())
    standard_error = math.sqrt(var_a + var_b)
    if standard_error == 0.0:
        # Both sides constant: the difference is known exactly.
        return difference, difference, difference, float(first.size + second.size - 2)
    df = (var_a + var_b) ** 2 / (var_a**2 / (first.size - 1) + var_b**2 / (second.size - 1))
    half = _t_quantile(confidence, df) * standard_error
    return difference, difference - half, difference + half, float(df)


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float:
    """Standardised mean difference of ``b`` over ``a`` with Hedges' small-sample correction.

    Positive when ``b`` is larger. Both sides constant and equal give 0; constant
    but different give ±inf (the difference is certain).
    """
    first = _as_1d(a, "a")
    second = _as_1d(b, "b")
    if first.size < 2 or second.size < 2:
        raise ValueError(f"Hedges' g needs at least 2 runs per side, got {first.size} and {second.size}")
    n_a, n_b = first.size, second.size
    pooled_variance = ((n_a - 1) * first.var(ddof=1) + (n_b - 1) * second.var(ddof=1)) / (n_a + n_b - 2)
    difference = float(second.mean() - first.mean())
    if pooled_variance == 0.0:
        return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
    correction = 1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)
    return difference / math.sqrt(float(pooled_variance)) * correction


def trapezoid_energy_joules(times_s: Sequence[float], power_w: Sequence[float], start_s: float, end_s: float) -> float:
    """Energy in joules between ``start_s`` and ``end_s`` from power samples (trapezoid rule).

    The samples must cover the window: a window that starts before the first
    sample or ends after the last would need extrapolation, so it raises.
    """
    times = _as_1d(times_s, "times_s")
    watts = _as_1d(power_w, "power_w")
    if times.size != watts.size:
        raise ValueError(f"{times.size} sample times but {watts.size} power values")
    if times.size < 2:
        raise ValueError("energy needs at least 2 power samples")
    if np.any(np.diff(times) <= 0):
        raise ValueError("sample times must strictly increase")
    if not end_s > start_s:
        raise ValueError(f"empty window: start {start_s} >= end {end_s}")
    if start_s < times[0] or end_s > times[-1]:
        raise ValueError(
            f"window [{start_s:.3f}, {end_s:.3f}] s is not covered by samples [{times[0]:.3f}, {times[-1]:.3f}] s"
        )
    inside = (times > start_s) & (times < end_s)
    grid = np.concatenate([[start_s], times[inside], [end_s]])
    values = np.interp(grid, times, watts)
    return float(np.sum((values[1:] + values[:-1]) * np.diff(grid)) / 2.0)


JOULES_PER_KWH = 3.6e6
