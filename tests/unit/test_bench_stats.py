"""bench/_stats.py and bench/compare.py: intervals, effect sizes, energy integration, regression verdicts.

The bench scripts are not a package, so they are loaded from their paths.
Golden values are worked by hand from textbook formulas (shown inline) and the
t quantiles t(0.975, 2) = 4.302653 and t(0.975, 4) = 2.776445 from tables.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pixelgen_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


stats = _load("_stats")
compare = _load("compare")


def test_t_interval_matches_the_textbook() -> None:
    # mean 2, sd 1, n 3: half-width = 4.302653 * 1 / sqrt(3) = 2.484138.
    mean, low, high = stats.t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert low == pytest.approx(2.0 - 2.484138, abs=1e-6)
    assert high == pytest.approx(2.0 + 2.484138, abs=1e-6)


def test_t_interval_needs_two_runs() -> None:
    with pytest.raises(ValueError, match="at least 2 runs"):
        stats.t_interval([1.0])


def test_welch_difference_and_hedges_g() -> None:
    # a = 1,2,3 and b = 4,5,6: difference 3, se = sqrt(1/3 + 1/3) = 0.816497,
    # Welch df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4, half-width 2.776445 * 0.816497 = 2.266958.
    difference, low, high, df = stats.welch_difference_ci([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert difference == 3.0
    assert df == pytest.approx(4.0)
    assert (low, high) == pytest.approx((3.0 - 2.266958, 3.0 + 2.266958), abs=1e-6)
    # Cohen's d = 3 / pooled sd 1 = 3; J = 1 - 3 / (4 * 6 - 9) = 0.8; g = 2.4.
    assert stats.hedges_g([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(2.4)
    assert stats.hedges_g([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(-2.4)


def test_hedges_g_of_constant_samples() -> None:
    assert stats.hedges_g([2.0, 2.0], [2.0, 2.0]) == 0.0
    assert stats.hedges_g([2.0, 2.0], [3.0, 3.0]) == math.inf


def test_trapezoid_energy_with_window_edges_between_samples() -> None:
    times, watts = [0.0, 1.0, 2.0], [0.0, 100.0, 100.0]
    # Whole trace: (0 + 100) / 2 * 1 + 100 * 1 = 150 J.
    assert stats.trapezoid_energy_joules(times, watts, 0.0, 2.0) == pytest.approx(150.0)
    # [0.5, 1.5]: power 50 W at 0.5 (interpolated), 100 W at 1 and 1.5: 37.5 + 50 = 87.5 J.
    assert stats.trapezoid_energy_joules(times, watts, 0.5, 1.5) == pytest.approx(87.5)
    # Constant 250 W for 0.2 s between two samples.
    assert stats.trapezoid_energy_joules([0.0, 1.0], [250.0, 250.0], 0.3, 0.5) == pytest.approx(50.0)


def test_trapezoid_energy_refuses_uncovered_windows() -> None:
    with pytest.raises(ValueError, match="not covered"):
        stats.trapezoid_energy_joules([0.0, 1.0], [1.0, 1.0], 0.5, 1.5)
    with pytest.raises(ValueError, match="increase"):
        stats.trapezoid_energy_joules([0.0, 0.0, 1.0], [1.0, 1.0, 1.0], 0.0, 1.0)


def test_hierarchical_bootstrap_brackets_the_pooled_percentile_and_is_reproducible() -> None:
    runs = [[1.0, 1.1, 0.9, 1.05], [1.2, 1.3, 1.25, 1.15], [0.95, 1.0, 1.02, 0.98]]
    pooled_median = stats.percentile(stats.pooled(runs), 50)
    low, high = stats.hierarchical_bootstrap_ci(runs, lambda values: np.median(values, axis=1))
    assert low <= pooled_median <= high
    assert stats.hierarchical_bootstrap_ci(runs, lambda v: v.mean(axis=1)) == stats.hierarchical_bootstrap_ci(
        runs, lambda v: v.mean(axis=1)
    )


def test_latency_summary_uses_per_run_means_for_the_mean_ci() -> None:
    runs = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    summary = stats.latency_summary(runs)
    assert summary["mean"] == 2.0
    # Same interval as t_interval over the run means 1, 2, 3 (not over 6 pooled calls).
    assert summary["ci95"]["mean"] == pytest.approx([2.0 - 2.484138, 2.0 + 2.484138], abs=1e-6)
    assert summary["n_runs"] == 3 and summary["n_calls"] == 6


def _metrics(latency_runs: list[list[float]], energy_per_run: list[float] | None, batch: int = 1) -> dict[str, Any]:
    """A minimal metrics.json in the shape bench/throughput.py writes."""
    throughput = [batch * len(run) / sum(run) for run in latency_runs]
    return {
        "run_id": f"run-{latency_runs[0][0]}",
        "config": {"model": "builtin:tiny-sdxl", "size": 128, "steps": 4, "device": "cpu", "dtype": "float32"},
        "environment": {"packages": {"torch": "2.13.0"}, "platform": {"machine": "x86_64"}, "gpu": None},
        "controls": {"gpu_clocks": "not applicable (CPU)"},
        "by_batch": {
            str(batch): {
                "samples": {"pixelgen_batch_latency_s": latency_runs},
                "images_per_second": {"per_run": throughput},
                "energy": None if energy_per_run is None else {"joules_per_image": {"per_run": energy_per_run}},
            }
        },
    }


BASE_RUNS = [[1.00, 1.02, 0.98], [1.01, 0.99, 1.00], [0.99, 1.01, 1.00]]
SLOW_RUNS = [[1.30, 1.32, 1.28], [1.31, 1.29, 1.30], [1.29, 1.31, 1.30]]


def test_a_clear_slow_down_is_a_regression() -> None:
    result = compare.compare_metrics(_metrics(BASE_RUNS, [100.0, 101.0, 99.0]), _metrics(SLOW_RUNS, [100.5, 99.5, 100.0]))
    assert result["batches"]["1"]["worse"] == ["latency", "throughput"]
    assert result["regression"] is True and result["regressed_batches"] == [1]
    assert result["problems"] == []


def test_identical_runs_are_not_a_regression() -> None:
    result = compare.compare_metrics(_metrics(BASE_RUNS, None), _metrics(BASE_RUNS, None))
    assert result["regression"] is False
    assert result["batches"]["1"]["metrics"]["energy"] is None
    assert result["batches"]["1"]["metrics"]["latency"]["hedges_g"] == 0.0


def test_energy_alone_getting_worse_is_not_a_regression() -> None:
    result = compare.compare_metrics(_metrics(BASE_RUNS, [100.0, 101.0, 99.0]), _metrics(BASE_RUNS, [150.0, 151.0, 149.0]))
    assert result["batches"]["1"]["worse"] == ["energy"]
    assert result["regression"] is False


def test_a_speed_up_is_better_not_worse() -> None:
    result = compare.compare_metrics(_metrics(SLOW_RUNS, None), _metrics(BASE_RUNS, None))
    latency = result["batches"]["1"]["metrics"]["latency"]
    assert latency["better"] and not latency["worse"]
    assert result["regression"] is False


def test_different_configs_are_not_comparable(tmp_path: Path) -> None:
    import json

    other = _metrics(BASE_RUNS, None)
    other["config"]["size"] = 1024
    result = compare.compare_metrics(_metrics(BASE_RUNS, None), other)
    assert result["problems"] == ["config size: 128 vs 1024"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_metrics(BASE_RUNS, None)))
    b.write_text(json.dumps(other))
    assert compare.main([str(a), str(b)]) == 2
    assert compare.main([str(a), str(b), "--force"]) == 0


def test_main_exit_status_flags_the_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_metrics(BASE_RUNS, None)))
    b.write_text(json.dumps(_metrics(SLOW_RUNS, None)))
    assert compare.main([str(a), str(b)]) == 1
    assert "REGRESSION at batch size(s) [1]" in capsys.readouterr().out
    assert compare.main([str(b), str(a)]) == 0


throughput = _load("throughput")


class _ConstantPowerNvml:
    """Stands in for the pynvml module: a board drawing exactly 250 W at a 1410 MHz SM clock."""

    NVML_CLOCK_SM = 1

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:
        return 250_000  # milliwatts

    def nvmlDeviceGetClockInfo(self, handle: object, clock: int) -> int:
        return 1410


def _config(batches: tuple[int, ...]) -> Any:
    return throughput.BenchConfig(
        model="builtin:tiny-sdxl", model_kind="builtin", model_source="tiny-sdxl", revision=None, variant=None,
        single_file_config=None, size=128, steps=4, guidance=7.0, scheduler="euler", batches=batches, warmup=0,
        repeats=3, runs=3, device="cuda", dtype="float16", seed_base=1234, prompts=throughput.PROMPTS,
        negative=throughput.NEGATIVE, cache_dir="/nonexistent", clocks_locked_declared=False,
    )


def test_power_sampler_energy_of_a_constant_draw_is_power_times_time() -> None:
    import time

    sampler = throughput.PowerSampler(_ConstantPowerNvml(), handle=None, hz=50.0)
    sampler.start()
    time.sleep(0.05)
    start = time.perf_counter()
    time.sleep(0.1)
    end = time.perf_counter()
    trace = sampler.stop()
    assert trace.errors == 0 and len(trace.times_s) >= 3
    assert set(trace.power_w) == {250.0} and set(trace.sm_clock_mhz) == {1410.0}
    # Constant power: the trapezoid integral is exact whatever the sample times.
    assert stats.trapezoid_energy_joules(trace.times_s, trace.power_w, start, end) == pytest.approx(250.0 * (end - start))


def test_analysed_metrics_feed_compare() -> None:
    """analyse() writes the per-run samples compare.py reads; a 30 % slow-down is flagged."""
    config = _config((1, 2))

    def measured(scale: float) -> dict[str, Any]:
        latencies = {
            impl: {b: [[b * scale * (1.0 + 0.01 * (run + call)) for call in range(3)] for run in range(3)] for b in (1, 2)}
            for impl in ("pixelgen", "bare")
        }
        measurements = throughput.Measurements(latencies=latencies)
        info = {"power_trace": None, "nvml_reason": "no NVML here", "idle_window": None, "controls": {}}
        results = throughput.analyse(config, measurements, info)
        return {"run_id": f"scale-{scale}", "config": {"model": config.model, "size": 128}, **results}

    base, slow = measured(0.5), measured(0.65)
    assert base["energy"] is None and base["energy_unavailable_reason"] == "no NVML here"
    assert base["by_batch"]["2"]["overhead_ratio"]["mean"] == pytest.approx(1.0)
    assert base["by_batch"]["2"]["batch_efficiency"]["mean"] == pytest.approx(1.0)
    assert base["targets"]["applicable"] is False
    result = compare.compare_metrics(base, slow)
    assert result["regression"] is True and result["regressed_batches"] == [1, 2]
    assert compare.compare_metrics(base, base)["regression"] is False


def test_bootstrap_handles_runs_of_different_lengths() -> None:
    runs = [[1.0, 1.1, 0.9], [1.2, 1.3], [0.95, 1.0, 1.02, 0.98]]
    low, high = stats.hierarchical_bootstrap_ci(runs, lambda values: values.mean(axis=1), resamples=500)
    assert 0.9 <= low <= high <= 1.3
