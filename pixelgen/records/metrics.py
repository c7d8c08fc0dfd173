"""Build metrics in Prometheus text format, for node_exporter's textfile collector or a Pushgateway.

One file holds the series of every manifest and model that wrote to it. The
``*_total`` metrics and the latency histogram are counters, so each build
*adds* to what the file already holds for its labels (Prometheus' ``rate()``
and ``increase()`` then work across builds); ``pixelgen_build_seconds``,
``pixelgen_gpu_memory_peak_bytes`` and ``pixelgen_last_build_timestamp_seconds``
are gauges describing the latest build. Series of other label sets are
carried over untouched.

The read-add-write cycle holds a file lock (``<file>.lock``) so two builds
never lose each other's counts, and the file is replaced atomically by
``prometheus_client.write_to_textfile``, so a scrape never reads half a file.
For node_exporter, name the file ``*.prom`` inside its
``--collector.textfile.directory``. For a Pushgateway, push the file:
``curl --data-binary @build.prom http://GATEWAY:9091/metrics/job/pixelgen``.

Labels: ``manifest`` (the manifest's name) and ``model`` (the sorted,
comma-joined names of the models the build used: per-image latencies are not
split by model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelgen.errors import InputError

# Seconds. 3 s is the SDXL 1024² batch-1 target, so "share of images within
# target" is one bucket ratio; the low buckets resolve the tiny CPU model.
LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

PREFIX = "pixelgen_"
_IMAGES = "pixelgen_images_total"
_BUILDS = "pixelgen_builds_total"
_CACHE_HITS = "pixelgen_cache_hits_total"
_ENERGY = "pixelgen_gpu_energy_joules_total"
_BUILD_SECONDS = "pixelgen_build_seconds"
_MEMORY = "pixelgen_gpu_memory_peak_bytes"
_LAST_BUILD = "pixelgen_last_build_timestamp_seconds"
_LATENCY = "pixelgen_image_latency_seconds"
LABELS = ("manifest", "model")


@dataclass
class _Series:
    """Everything the file holds for one (manifest, model) label set."""

    images: float = 0.0
    builds: float = 0.0
    cache_hits: float = 0.0
    energy_joules: float | None = None
    build_seconds: float | None = None
    memory_peak_bytes: float | None = None
    last_build_timestamp: float | None = None
    # Cumulative count per upper bound, +Inf included, as Prometheus stores them.
    buckets: dict[float, float] = field(default_factory=dict)
    latency_sum: float = 0.0


class MetricsFileError(InputError, ValueError):
    """The metrics file holds something pixelgen must not overwrite."""


def check_metrics_file(path: Path) -> None:
    """Raise :class:`MetricsFileError` unless ``path`` is absent or a metrics file pixelgen wrote (checked before a build)."""
    _read_series(Path(path))


def write_build_metrics(
    path: Path,
    *,
    manifest: str,
    model_names: Sequence[str],
    images_total: int,
    build_seconds: float,
    image_latencies_s: Sequence[float],
    cache_hits: int,
    gpu_energy_joules: float | None,
    gpu_memory_peak_bytes: int | None,
) -> None:
    """Add one build's figures to the Prometheus text file at ``path`` (created if absent).

    ``images_total``: images the build wrote (rendered or taken from the
    cache); ``cache_hits``: how many of those came from the cache (so
    ``images_total - cache_hits`` were rendered); ``image_latencies_s``: render
    seconds of each rendered image; ``gpu_energy_joules`` / ``gpu_memory_peak_bytes``: ``None`` when not
    measured (no GPU), in which case those series are left out rather than
    reported as zero.
    """
    from filelock import FileLock

    labels = _validate(
        manifest=manifest,
        model_names=model_names,
        images_total=images_total,
        build_seconds=build_seconds,
        image_latencies_s=image_latencies_s,
        cache_hits=cache_hits,
        gpu_energy_joules=gpu_energy_joules,
        gpu_memory_peak_bytes=gpu_memory_peak_bytes,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        series = _read_series(path)
        current = series.setdefault(labels, _Series())
        current.images += images_total
        current.builds += 1
        current.cache_hits += cache_hits
        if gpu_energy_joules is not None:
            current.energy_joules = (current.energy_joules or 0.0) + gpu_energy_joules
        current.build_seconds = build_seconds
        # A gauge of the latest build: an unmeasured build must not leave an older value standing.
        current.memory_peak_bytes = None if gpu_memory_peak_bytes is None else float(gpu_memory_peak_bytes)
        current.last_build_timestamp = time.time()
        _add_latencies(current, image_latencies_s)
        _write(path, series)


def _validate(
    *,
    manifest: str,
    model_names: Sequence[str],
    images_total: int,
    build_seconds: float,
    image_latencies_s: Sequence[float],
    cache_hits: int,
    gpu_energy_joules: float | None,
    gpu_memory_peak_bytes: int | None,
) -> tuple[str, str]:
    if not isinstance(manifest, str) or not manifest:
        raise ValueError(f"manifest {manifest!r}: pass the manifest's name, a non-empty string")
    if isinstance(model_names, str) or not all(isinstance(name, str) and name for name in model_names):
        raise ValueError(f"model_names {model_names!r}: pass a list of non-empty model names")
    for name, value in (("images_total", images_total), ("cache_hits", cache_hits)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} {value!r}: expected a non-negative integer")
    if cache_hits > images_total:
        raise ValueError(f"cache_hits {cache_hits} > images_total {images_total}: cache hits are counted among the images")
    if gpu_memory_peak_bytes is not None and (
        isinstance(gpu_memory_peak_bytes, bool) or not isinstance(gpu_memory_peak_bytes, int) or gpu_memory_peak_bytes < 0
    ):
        raise ValueError(f"gpu_memory_peak_bytes {gpu_memory_peak_bytes!r}: expected a non-negative integer or None")
    for name, number in (("build_seconds", build_seconds), ("gpu_energy_joules", gpu_energy_joules)):
        if number is not None and not _non_negative(number):
            raise ValueError(f"{name} {number!r}: expected a finite, non-negative number")
    bad = [value for value in image_latencies_s if not _non_negative(value)]
    if bad:
        raise ValueError(f"image_latencies_s holds {bad[:3]!r}: latencies must be finite, non-negative seconds")
    return manifest, ",".join(sorted(set(model_names)))


def _non_negative(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _add_latencies(series: _Series, latencies: Sequence[float]) -> None:
    bounds = [*LATENCY_BUCKETS, math.inf]
    if set(series.buckets) != set(bounds):
        # No history, or buckets from another pixelgen version: counts cannot be merged.
        series.buckets = {bound: 0.0 for bound in bounds}
        series.latency_sum = 0.0
    for bound in bounds:
        series.buckets[bound] += sum(1 for value in latencies if value <= bound)
    series.latency_sum += float(sum(latencies))


def _read_series(path: Path) -> dict[tuple[str, str], _Series]:
    """The series already in ``path``; refuses a file holding metrics that are not pixelgen's."""
    if not path.exists():
        return {}
    from prometheus_client.parser import text_string_to_metric_families

    try:
        families = list(text_string_to_metric_families(path.read_text("utf-8")))
    except (ValueError, UnicodeDecodeError) as error:
        raise MetricsFileError(f"--metrics-file {path} is not a Prometheus text file ({error}); point the metrics file elsewhere or delete it") from None
    series: dict[tuple[str, str], _Series] = {}
    for family in families:
        if not family.name.startswith(PREFIX):
            raise MetricsFileError(
                f"--metrics-file {path} holds {family.name!r}, which pixelgen did not write; give pixelgen a .prom file of its own"
            )
        for sample in family.samples:
            key = (sample.labels.get("manifest", ""), sample.labels.get("model", ""))
            entry = series.setdefault(key, _Series())
            value = float(sample.value)
            if sample.name == _IMAGES:
                entry.images = value
            elif sample.name == _BUILDS:
                entry.builds = value
            elif sample.name == _CACHE_HITS:
                entry.cache_hits = value
            elif sample.name == _ENERGY:
                entry.energy_joules = value
            elif sample.name == _BUILD_SECONDS:
                entry.build_seconds = value
            elif sample.name == _MEMORY:
                entry.memory_peak_bytes = value
            elif sample.name == _LAST_BUILD:
                entry.last_build_timestamp = value
            elif sample.name == _LATENCY + "_bucket":
                entry.buckets[float(sample.labels["le"])] = value
            elif sample.name == _LATENCY + "_sum":
                entry.latency_sum = value
    return series


def _write(path: Path, series: dict[tuple[str, str], _Series]) -> None:
    from prometheus_client import CollectorRegistry, write_to_textfile
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    keys = sorted(series)
    images = CounterMetricFamily(_IMAGES, "Images written by pixelgen builds, rendered or from the cache.", labels=LABELS)
    builds = CounterMetricFamily(_BUILDS, "pixelgen builds that wrote these metrics.", labels=LABELS)
    hits = CounterMetricFamily(_CACHE_HITS, "Images served from pixelgen's content-addressed cache.", labels=LABELS)
    energy = CounterMetricFamily(_ENERGY, "GPU energy spent by pixelgen builds, joules (NVML).", labels=LABELS)
    seconds = GaugeMetricFamily(_BUILD_SECONDS, "Wall time of the latest build, seconds.", labels=LABELS)
    memory = GaugeMetricFamily(_MEMORY, "Peak GPU memory of the latest build, bytes.", labels=LABELS)
    last = GaugeMetricFamily(_LAST_BUILD, "Unix time the latest build finished.", labels=LABELS)
    latency = HistogramMetricFamily(_LATENCY, "Render time per image, seconds.", labels=LABELS)
    for key in keys:
        entry = series[key]
        values = list(key)
        images.add_metric(values, entry.images)
        builds.add_metric(values, entry.builds)
        hits.add_metric(values, entry.cache_hits)
        if entry.energy_joules is not None:
            energy.add_metric(values, entry.energy_joules)
        if entry.build_seconds is not None:
            seconds.add_metric(values, entry.build_seconds)
        if entry.memory_peak_bytes is not None:
            memory.add_metric(values, entry.memory_peak_bytes)
        if entry.last_build_timestamp is not None:
            last.add_metric(values, entry.last_build_timestamp)
        if entry.buckets:
            buckets = [("+Inf" if math.isinf(bound) else repr(bound), entry.buckets[bound]) for bound in sorted(entry.buckets)]
            latency.add_metric(values, buckets, entry.latency_sum)

    families = [images, builds, hits, energy, seconds, memory, last, latency]

    class _Collector:
        def collect(self) -> list[Any]:
            return [family for family in families if family.samples]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    write_to_textfile(str(path), registry)
