"""pixelgen.records.metrics: Prometheus text files that parse and round-trip, accumulating counters across builds."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families

from pixelgen.records.metrics import LATENCY_BUCKETS, write_build_metrics


def _samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text("utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _families(path: Path) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(path.read_text("utf-8"))}


LABELS = (("manifest", "demo"), ("model", "tiny"))


def _write(path: Path, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "manifest": "demo",
        "model_names": ["tiny"],
        "images_total": 11,
        "build_seconds": 6.5,
        "image_latencies_s": [0.04, 0.2, 0.7, 2.5, 4.0],
        "cache_hits": 3,
        "gpu_energy_joules": 1234.5,
        "gpu_memory_peak_bytes": 7 * 2**30,
    }
    arguments.update(overrides)
    write_build_metrics(path, **arguments)  # type: ignore[arg-type]


def test_every_metric_parses_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "pixelgen.prom"
    _write(path)
    samples = _samples(path)
    assert samples[("pixelgen_images_total", LABELS)] == 11
    assert samples[("pixelgen_builds_total", LABELS)] == 1
    assert samples[("pixelgen_cache_hits_total", LABELS)] == 3
    assert samples[("pixelgen_gpu_energy_joules_total", LABELS)] == pytest.approx(1234.5)
    assert samples[("pixelgen_build_seconds", LABELS)] == pytest.approx(6.5)
    assert samples[("pixelgen_gpu_memory_peak_bytes", LABELS)] == 7 * 2**30
    assert samples[("pixelgen_image_latency_seconds_count", LABELS)] == 5
    assert samples[("pixelgen_image_latency_seconds_sum", LABELS)] == pytest.approx(7.44)
    # Cumulative buckets: 0.04 ≤ 0.05; 0.2 ≤ 0.25; 0.7 ≤ 1; 2.5 ≤ 3; 4.0 ≤ 5.
    expected = {0.05: 1, 0.1: 1, 0.25: 2, 0.5: 2, 1.0: 3, 2.0: 3, 3.0: 4, 5.0: 5, 120.0: 5, math.inf: 5}
    for bound, count in expected.items():
        le = "+Inf" if math.isinf(bound) else repr(bound)
        assert samples[("pixelgen_image_latency_seconds_bucket", (("le", le), *LABELS))] == count, le
    assert len([key for key in samples if key[0].endswith("_bucket")]) == len(LATENCY_BUCKETS) + 1
    assert _families(path) == {
        "pixelgen_images": "counter",
        "pixelgen_builds": "counter",
        "pixelgen_cache_hits": "counter",
        "pixelgen_gpu_energy_joules": "counter",
        "pixelgen_build_seconds": "gauge",
        "pixelgen_gpu_memory_peak_bytes": "gauge",
        "pixelgen_last_build_timestamp_seconds": "gauge",
        "pixelgen_image_latency_seconds": "histogram",
    }


def test_counters_accumulate_and_gauges_describe_the_latest_build(tmp_path: Path) -> None:
    path = tmp_path / "pixelgen.prom"
    _write(path)
    _write(path, images_total=9, cache_hits=7, build_seconds=1.25, image_latencies_s=[0.3], gpu_energy_joules=100.0)
    samples = _samples(path)
    assert samples[("pixelgen_images_total", LABELS)] == 20
    assert samples[("pixelgen_builds_total", LABELS)] == 2
    assert samples[("pixelgen_cache_hits_total", LABELS)] == 10
    assert samples[("pixelgen_gpu_energy_joules_total", LABELS)] == pytest.approx(1334.5)
    assert samples[("pixelgen_build_seconds", LABELS)] == pytest.approx(1.25)
    assert samples[("pixelgen_image_latency_seconds_count", LABELS)] == 6
    assert samples[("pixelgen_image_latency_seconds_bucket", (("le", "0.5"), *LABELS))] == 3


def test_other_label_sets_are_kept_and_models_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "pixelgen.prom"
    _write(path)
    _write(path, manifest="platformer", model_names=["sdxl", "pixel", "sdxl"], images_total=5)
    samples = _samples(path)
    assert samples[("pixelgen_images_total", LABELS)] == 11
    assert samples[("pixelgen_images_total", (("manifest", "platformer"), ("model", "pixel,sdxl")))] == 5


def test_unmeasured_gpu_figures_are_absent_not_zero(tmp_path: Path) -> None:
    path = tmp_path / "pixelgen.prom"
    _write(path)
    _write(path, gpu_energy_joules=None, gpu_memory_peak_bytes=None)
    samples = _samples(path)
    # The energy counter keeps its total; the memory gauge of the latest build is unknown, so gone.
    assert samples[("pixelgen_gpu_energy_joules_total", LABELS)] == pytest.approx(1234.5)
    assert ("pixelgen_gpu_memory_peak_bytes", LABELS) not in samples

    fresh = tmp_path / "cpu.prom"
    _write(fresh, gpu_energy_joules=None, gpu_memory_peak_bytes=None)
    names = {name for name, _ in _samples(fresh)}
    assert "pixelgen_gpu_energy_joules_total" not in names
    assert "pixelgen_gpu_memory_peak_bytes" not in names
    assert "pixelgen_images_total" in names


def test_refuses_a_file_with_foreign_metrics(tmp_path: Path) -> None:
    path = tmp_path / "node.prom"
    path.write_text("# TYPE node_thing gauge\nnode_thing 1\n", "utf-8")
    with pytest.raises(ValueError, match="node_thing"):
        _write(path)
    assert path.read_text("utf-8") == "# TYPE node_thing gauge\nnode_thing 1\n"


@pytest.mark.parametrize(
    "overrides, word",
    [
        ({"images_total": -1}, "images_total"),
        ({"cache_hits": 1.5}, "cache_hits"),
        ({"build_seconds": float("nan")}, "build_seconds"),
        ({"image_latencies_s": [0.1, -2.0]}, "image_latencies_s"),
        ({"manifest": ""}, "manifest"),
        ({"model_names": "tiny"}, "model_names"),
        ({"gpu_memory_peak_bytes": -5}, "gpu_memory_peak_bytes"),
        ({"cache_hits": 12}, "cache_hits 12 > images_total 11"),
    ],
)
def test_bad_values_are_rejected_before_writing(tmp_path: Path, overrides: dict, word: str) -> None:
    path = tmp_path / "pixelgen.prom"
    with pytest.raises(ValueError, match=word):
        _write(path, **overrides)
    assert not path.exists()


def test_grafana_dashboard_queries_only_metrics_pixelgen_writes(tmp_path: Path) -> None:
    import json
    import re

    dashboard_path = Path(__file__).resolve().parents[3] / "docs" / "observability" / "grafana-dashboard.json"
    dashboard = json.loads(dashboard_path.read_text("utf-8"))
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"pixelgen_[a-z_]+", target["expr"])
    }
    path = tmp_path / "pixelgen.prom"
    _write(path)
    written = {name for name, _ in _samples(path)}
    assert queried, "the dashboard queries no pixelgen metric"
    assert queried <= written, f"dashboard queries metrics pixelgen never writes: {sorted(queried - written)}"
    # The "within 3 s" panel relies on a bucket bound of exactly 3 s.
    assert 3.0 in LATENCY_BUCKETS
