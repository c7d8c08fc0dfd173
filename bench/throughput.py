"""Throughput, latency, memory and energy of pixelgen's renderer, against a bare diffusers loop.

    python bench/throughput.py                                   # tiny model, 128², CPU or GPU
    python bench/throughput.py --model stabilityai/stable-diffusion-xl-base-1.0 \\
        --variant fp16 --size 1024 --steps 30 --batch 1,2,4,8 --device cuda

What is timed: one ``DiffusersGenerator.render(jobs)`` call per batch (the
renderer ``pixelgen build`` uses; post-processing is not included), wall time
by ``time.perf_counter``. The same prompts, seeds and batch sizes then go
through a *bare loop*: ``StableDiffusionXLPipeline.from_pretrained`` and direct
``pipe(...)`` calls with the same per-image ``torch.Generator`` seeds and
``output_type="np"``; the overhead ratio is pixelgen latency / bare latency,
both measured in the same process and run.

Design: ``--runs`` independent runs; in each, for every batch size, ``--warmup``
untimed calls then ``--repeats`` timed calls, pixelgen phase and bare phase.
Odd runs time pixelgen first, even runs the bare loop first, so a slow drift
(thermals) does not bias the ratio. Run 1's pixelgen phase happens before the
bare pipeline is loaded, so its memory peaks are pixelgen's alone. Statistics:
see bench/_stats.py (t-interval of per-run means; two-level bootstrap for
percentiles).

Energy: on a CUDA device with NVML (``nvidia-ml-py``), a background thread
samples board power at 10 Hz for the whole bench; the energy of each timed
window is the trapezoid integral of that trace over the window. Without NVML
``energy`` is null with the reason.

Writes into ``--out`` (default bench/out/<run id>): metrics.json, power.csv,
config.lock.json, report.csv, run.log and throughput.png (needs matplotlib, the
``bench`` extra).

This is a bench script, not part of the package: it imports torch and
diffusers directly for the bare loop.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import re
import resource
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stats

from pixelgen.core.plan import RenderJob
from pixelgen.files.fsutil import (
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from pixelgen.files.hashing import content_key
from pixelgen.manifest.model import ModelSpec
from pixelgen.records.envinfo import environment_fingerprint, git_info

METRICS_SCHEMA = "pixelgen-bench-throughput/1"
MODEL_NAME = "bench"
TINY = "builtin:tiny-sdxl"
PROMPTS: tuple[str, ...] = (
    "pixel art, a knight hero with a sword, side view, game asset",
    "pixel art, a green slime monster, game asset",
    "pixel art, a spinning gold coin, game asset",
    "pixel art, top-down grass ground texture, seamless",
    "pixel art, a wooden treasure chest, game asset",
    "pixel art, a red health potion bottle, game asset",
    "pixel art, a stone castle tower, side view",
    "pixel art, a blue crystal gem, game asset",
)
NEGATIVE = "blurry, photo, 3d render"
POWER_SAMPLE_HZ = 10.0
IDLE_BASELINE_S = 1.0
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

log = logging.getLogger("bench.throughput")


# -- configuration -----------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    model: str
    model_kind: str
    model_source: str
    revision: str | None
    variant: str | None
    single_file_config: str | None
    size: int
    steps: int
    guidance: float
    scheduler: str
    batches: tuple[int, ...]
    warmup: int
    repeats: int
    runs: int
    device: str
    dtype: str
    seed_base: int
    prompts: tuple[str, ...]
    negative: str
    cache_dir: str
    clocks_locked_declared: bool
    torch_threads: int | None = None


def parse_batches(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--batch {text!r}: expected comma-separated positive integers such as 1,2,4,8") from None
    if not values or any(value < 1 for value in values):
        raise ValueError(f"--batch {text!r}: expected comma-separated positive integers such as 1,2,4,8")
    return tuple(sorted(set(values)))


def model_spec_from_argument(
    model: str, *, revision: str | None = None, variant: str | None = None, config: str | None = None
) -> ModelSpec:
    """``builtin:tiny-sdxl``, a local diffusers folder or checkpoint file, or a Hugging Face repo id."""
    if model.startswith("builtin:"):
        name = model.split(":", 1)[1]
        if name != "tiny-sdxl":
            raise ValueError(f"--model {model!r}: the only builtin model is {TINY}")
        return ModelSpec(name=MODEL_NAME, kind="builtin", source=name)
    path = Path(model).expanduser()
    if path.is_dir():
        return ModelSpec(name=MODEL_NAME, kind="diffusers_dir", source=str(path.resolve()), variant=variant)
    if path.is_file():
        return ModelSpec(name=MODEL_NAME, kind="single_file", source=str(path.resolve()), config=config)
    if _REPO_ID.match(model):
        return ModelSpec(name=MODEL_NAME, kind="hub", source=model, revision=revision, variant=variant)
    raise ValueError(
        f"--model {model!r} is neither {TINY}, an existing local path, nor a Hugging Face repo id (owner/name)"
    )


def make_jobs(config: BenchConfig, batch: int, call_index: int) -> list[RenderJob]:
    """The jobs of one call: prompts and seeds cycle through a fixed list, the same for both loops."""
    jobs = []
    for slot in range(batch):
        item = (call_index * batch + slot) % len(config.prompts)
        prompt, seed = config.prompts[item], config.seed_base + item
        payload = {"bench": 1, "prompt": prompt, "seed": seed, "size": config.size, "steps": config.steps}
        jobs.append(
            RenderJob(
                key=content_key(payload),
                model=MODEL_NAME,
                loras=(),
                prompt=prompt,
                negative=config.negative,
                seed=seed,
                width=config.size,
                height=config.size,
                steps=config.steps,
                guidance=config.guidance,
                scheduler=config.scheduler,
                seamless=False,
            )
        )
    return jobs


# -- the two loops -------------------------------------------------------------------


class PixelgenLoop:
    name = "pixelgen"

    def __init__(self, config: BenchConfig, spec: ModelSpec) -> None:
        from pixelgen.render.diffusers_backend import DiffusersGenerator

        self.config = config
        self.generator = DiffusersGenerator(
            models={MODEL_NAME: spec},
            loras={},
            cache_dir=Path(config.cache_dir),
            device=config.device,
            dtype=config.dtype if config.device != "cpu" else None,
        )
        started = time.perf_counter()
        self.generator.pipeline(MODEL_NAME)
        self.load_seconds = time.perf_counter() - started

    def __call__(self, jobs: Sequence[RenderJob]) -> list[np.ndarray]:
        return self.generator.render(jobs)


class BareDiffusersLoop:
    """What a user would write by hand: load the pipeline once, call it with per-image generators."""

    name = "bare"

    def __init__(self, config: BenchConfig, spec: ModelSpec) -> None:
        import diffusers
        import torch

        # Recent diffusers deprecate torch_dtype for dtype; older supported versions
        # know only torch_dtype, which pixelgen's backend passes too.
        warnings.filterwarnings("ignore", message=".*torch_dtype.*is deprecated", category=FutureWarning)

        from pixelgen.render.diffusers_backend import SCHEDULERS

        self.torch = torch
        self.config = config
        started = time.perf_counter()
        kwargs: dict[str, Any] = {"torch_dtype": getattr(torch, config.dtype)}
        if spec.variant:
            kwargs["variant"] = spec.variant
        pipeline_class = diffusers.StableDiffusionXLPipeline
        if spec.kind == "builtin":
            from pixelgen.render.tiny import ensure_tiny_sdxl

            pipe = pipeline_class.from_pretrained(ensure_tiny_sdxl(Path(config.cache_dir)), use_safetensors=True, **kwargs)
        elif spec.kind == "hub":
            pipe = pipeline_class.from_pretrained(spec.source, revision=spec.revision, use_safetensors=True, **kwargs)
        elif spec.kind == "diffusers_dir":
            pipe = pipeline_class.from_pretrained(spec.source, use_safetensors=True, **kwargs)
        else:
            extra = {"config": spec.config} if spec.config else {}
            pipe = pipeline_class.from_single_file(spec.source, **extra, **kwargs)
        class_name, options = SCHEDULERS[config.scheduler]
        pipe.scheduler = getattr(diffusers, class_name).from_config(pipe.scheduler.config, **options)
        pipe.set_progress_bar_config(disable=True)
        pipe.to(config.device)
        self.pipe = pipe
        self.load_seconds = time.perf_counter() - started

    def __call__(self, jobs: Sequence[RenderJob]) -> np.ndarray:
        generators = [self.torch.Generator(device="cpu").manual_seed(job.seed) for job in jobs]
        result = self.pipe(
            prompt=[job.prompt for job in jobs],
            negative_prompt=[job.negative for job in jobs],
            width=self.config.size,
            height=self.config.size,
            num_inference_steps=self.config.steps,
            guidance_scale=self.config.guidance,
            generator=generators,
            output_type="np",
        )
        return result.images


def to_uint8(images: Any) -> list[np.ndarray]:
    """The bare loop's float images in pixelgen's conversion, only to check both loops render the same."""
    array = np.asarray(images, dtype=np.float32)
    return [np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8) for image in array]


# -- power sampling ------------------------------------------------------------------


@dataclass
class PowerTrace:
    times_s: list[float] = field(default_factory=list)  # perf_counter seconds
    power_w: list[float] = field(default_factory=list)
    sm_clock_mhz: list[float | None] = field(default_factory=list)
    errors: int = 0


class PowerSampler:
    """Samples one GPU's board power (and SM clock) through NVML at a fixed rate in a daemon thread."""

    def __init__(self, pynvml: Any, handle: Any, hz: float = POWER_SAMPLE_HZ) -> None:
        self.pynvml = pynvml
        self.handle = handle
        self.period = 1.0 / hz
        self.trace = PowerTrace()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nvml-power", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> PowerTrace:
        # One more period so the last timed window is followed by a sample.
        time.sleep(2 * self.period)
        self._stop.set()
        self._thread.join()
        return self.trace

    def _loop(self) -> None:
        next_tick = time.perf_counter()
        while not self._stop.is_set():
            now = time.perf_counter()
            try:
                milliwatts = self.pynvml.nvmlDeviceGetPowerUsage(self.handle)
            except Exception:  # noqa: BLE001 - one failed read is a gap, not a failed bench
                self.trace.errors += 1
            else:
                try:
                    clock: float | None = float(self.pynvml.nvmlDeviceGetClockInfo(self.handle, self.pynvml.NVML_CLOCK_SM))
                except Exception:  # noqa: BLE001 - clock reads are unsupported on some boards
                    clock = None
                self.trace.times_s.append(now)
                self.trace.power_w.append(milliwatts / 1000.0)
                self.trace.sm_clock_mhz.append(clock)
            next_tick += self.period
            self._stop.wait(max(0.0, next_tick - time.perf_counter()))


@dataclass
class Nvml:
    pynvml: Any
    handle: Any
    how_matched: str


def open_nvml(torch: Any) -> tuple[Nvml | None, str | None]:
    """NVML handle of the CUDA device torch renders on, or ``(None, reason)``."""
    if not torch.cuda.is_available():
        return None, "no CUDA device: energy is measured on NVIDIA GPUs through NVML only"
    try:
        import pynvml  # provided by the nvidia-ml-py package
    except ImportError:
        return None, "pynvml not importable: pip install -e '.[gpu]' (the nvidia-ml-py package)"
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - NVMLError or OSError without libnvidia-ml
        return None, f"NVML initialisation failed: {error}"
    index = torch.cuda.current_device()
    wanted = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    try:
        if wanted is not None:
            for nvml_index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
                uuid = pynvml.nvmlDeviceGetUUID(handle)
                uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
                if uuid.endswith(str(wanted)):
                    return Nvml(pynvml, handle, f"UUID {uuid}"), None
        # CUDA and NVML number devices alike only without CUDA_VISIBLE_DEVICES reordering.
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        pynvml.nvmlDeviceGetPowerUsage(handle)
        return Nvml(pynvml, handle, f"index {index} (no UUID match; check CUDA_VISIBLE_DEVICES)"), None
    except Exception as error:  # noqa: BLE001 - power readings unsupported on this board
        return None, f"NVML power reading failed: {error}"


def energy_counter_mj(nvml: Nvml | None) -> int | None:
    """The board's cumulative energy counter (mJ, Volta and later), for a cross-check of the integral."""
    if nvml is None:
        return None
    try:
        return int(nvml.pynvml.nvmlDeviceGetTotalEnergyConsumption(nvml.handle))
    except Exception:  # noqa: BLE001 - not supported on every board
        return None


# -- measurement conditions ------------------------------------------------------------


def _read_sys(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _nvml_value(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception:  # noqa: BLE001 - unsupported query: unknown, not fatal
        return None


def measurement_controls(config: BenchConfig, nvml: Nvml | None, torch: Any) -> dict[str, Any]:
    """What was (and was not) held fixed. Anything the bench cannot fix itself is marked "unlocked"."""
    governor = _read_sys("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    controls: dict[str, Any] = {
        "seeds": "fixed",
        "prompts": "fixed",
        "cpu_governor": "unknown (no cpufreq in sysfs)"
        if governor is None
        else ("fixed (performance)" if governor == "performance" else f"unlocked ({governor})"),
        "torch_threads": int(torch.get_num_threads()),
        "gpu_clocks": "not applicable (CPU)" if nvml is None and config.device == "cpu" else "unlocked",
        "gpu_power_limit": "not applicable (CPU)" if nvml is None and config.device == "cpu" else "unknown",
    }
    if nvml is None:
        return controls
    pynvml, handle = nvml.pynvml, nvml.handle
    # NVML has no getter for clocks locked with `nvidia-smi -lgc`; the operator declares it.
    controls["gpu_clocks"] = "locked (declared with --clocks-locked)" if config.clocks_locked_declared else "unlocked"
    enforced = _nvml_value(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    default = _nvml_value(pynvml.nvmlDeviceGetPowerManagementDefaultLimit, handle)
    controls["gpu_power_limit"] = {
        "enforced_w": None if enforced is None else enforced / 1000.0,
        "default_w": None if default is None else default / 1000.0,
        "state": "unknown" if enforced is None or default is None else ("default" if enforced == default else "changed"),
    }
    controls["gpu_persistence_mode"] = _nvml_value(pynvml.nvmlDeviceGetPersistenceMode, handle)
    controls["gpu_applications_clock_sm_mhz"] = _nvml_value(
        pynvml.nvmlDeviceGetApplicationsClock, handle, pynvml.NVML_CLOCK_SM
    )
    controls["gpu_default_applications_clock_sm_mhz"] = _nvml_value(
        pynvml.nvmlDeviceGetDefaultApplicationsClock, handle, pynvml.NVML_CLOCK_SM
    )
    controls["nvml_device"] = nvml.how_matched
    return controls


# -- memory ----------------------------------------------------------------------------


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (lifetime peak, never reset)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024


# -- the bench -------------------------------------------------------------------------


@dataclass
class Window:
    impl: str
    run: int
    batch: int
    start_s: float
    end_s: float
    images: int
    energy_counter_mj: tuple[int, int] | None


@dataclass
class Measurements:
    # latencies[impl][batch] = one list of per-call seconds per run
    latencies: dict[str, dict[int, list[list[float]]]]
    windows: list[Window] = field(default_factory=list)
    memory: dict[int, dict[str, Any]] = field(default_factory=dict)
    max_abs_diff_vs_bare: dict[int, int] = field(default_factory=dict)
    first_outputs: dict[tuple[str, int], list[np.ndarray]] = field(default_factory=dict)


def measure_phase(
    loop: Any,
    config: BenchConfig,
    run: int,
    measurements: Measurements,
    nvml: Nvml | None,
    torch: Any,
    *,
    record_memory: bool,
) -> None:
    cuda = config.device == "cuda"
    for batch in config.batches:
        if record_memory and cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        for call in range(config.warmup):
            loop(make_jobs(config, batch, call))
        if cuda:
            torch.cuda.synchronize()
        samples: list[float] = []
        counter_start = energy_counter_mj(nvml)
        window_start = time.perf_counter()
        for call in range(config.repeats):
            jobs = make_jobs(config, batch, call)
            started = time.perf_counter()
            images = loop(jobs)
            if cuda:
                torch.cuda.synchronize()
            samples.append(time.perf_counter() - started)
            if run == 1 and call == 0:
                measurements.first_outputs[(loop.name, batch)] = (
                    list(images) if loop.name == "pixelgen" else to_uint8(images)
                )
        window_end = time.perf_counter()
        counter_end = energy_counter_mj(nvml)
        measurements.latencies[loop.name][batch].append(samples)
        measurements.windows.append(
            Window(
                loop.name,
                run,
                batch,
                window_start,
                window_end,
                batch * config.repeats,
                None if counter_start is None or counter_end is None else (counter_start, counter_end),
            )
        )
        if record_memory:
            if cuda:
                measurements.memory[batch] = {
                    "source": "torch.cuda.max_memory_allocated/reserved, reset before this batch size, run 1, "
                    "bare pipeline not yet loaded",
                    "peak_allocated_bytes": int(torch.cuda.max_memory_allocated()),
                    "peak_reserved_bytes": int(torch.cuda.max_memory_reserved()),
                }
            else:
                measurements.memory[batch] = {
                    "source": "resource.getrusage ru_maxrss: process-lifetime peak RSS so far (model loading "
                    "included), read after this batch size in run 1, bare pipeline not yet loaded",
                    "peak_rss_bytes": peak_rss_bytes(),
                }
        log.info(
            "run %d %-8s batch %2d: %d calls, median %.4f s/call, %.3f img/s",
            run,
            loop.name,
            batch,
            len(samples),
            float(np.median(samples)),
            batch * len(samples) / sum(samples),
        )


def run_bench(config: BenchConfig, spec: ModelSpec) -> tuple[Measurements, dict[str, Any]]:
    import torch

    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    measurements = Measurements(latencies={name: {b: [] for b in config.batches} for name in ("pixelgen", "bare")})
    info: dict[str, Any] = {}
    log.info("loading pixelgen's pipeline (%s, %s on %s)", config.model, config.dtype, config.device)
    pixelgen_loop = PixelgenLoop(config, spec)
    info["pixelgen_load_seconds"] = pixelgen_loop.load_seconds
    nvml, nvml_reason = open_nvml(torch) if config.device == "cuda" else (None, "device is CPU: no GPU power to sample")
    info["nvml_reason"] = nvml_reason
    info["controls"] = measurement_controls(config, nvml, torch)
    sampler = PowerSampler(nvml.pynvml, nvml.handle) if nvml else None
    idle_window: tuple[float, float] | None = None
    if sampler:
        sampler.start()
        idle_start = time.perf_counter()
        time.sleep(IDLE_BASELINE_S)
        idle_window = (idle_start, time.perf_counter())
    bare_loop: BareDiffusersLoop | None = None
    try:
        for run in range(1, config.runs + 1):
            order = ("pixelgen", "bare") if run % 2 == 1 else ("bare", "pixelgen")
            for name in order:
                if name == "pixelgen":
                    measure_phase(pixelgen_loop, config, run, measurements, nvml, torch, record_memory=run == 1)
                    continue
                if bare_loop is None:
                    log.info("loading the bare diffusers pipeline")
                    bare_loop = BareDiffusersLoop(config, spec)
                    info["bare_load_seconds"] = bare_loop.load_seconds
                measure_phase(bare_loop, config, run, measurements, nvml, torch, record_memory=False)
    finally:
        trace = sampler.stop() if sampler else None
        if nvml:
            try:
                nvml.pynvml.nvmlShutdown()
            except Exception:  # noqa: BLE001, S110 - nothing to undo
                pass
    info["power_trace"] = trace
    info["idle_window"] = idle_window
    info["process_peak_rss_bytes"] = peak_rss_bytes()
    for batch in config.batches:
        ours = measurements.first_outputs.get(("pixelgen", batch))
        theirs = measurements.first_outputs.get(("bare", batch))
        if ours is not None and theirs is not None:
            measurements.max_abs_diff_vs_bare[batch] = max(
                int(np.max(np.abs(a.astype(np.int16) - b.astype(np.int16)))) for a, b in zip(ours, theirs)
            )
            for image in ours:
                if image.dtype != np.uint8 or image.shape != (config.size, config.size, 3):
                    raise RuntimeError(f"pixelgen returned {image.dtype} {image.shape}, expected uint8 {config.size}²×3")
    return measurements, info


# -- analysis ----------------------------------------------------------------------------


def _per_image(runs: list[list[float]], batch: int) -> list[list[float]]:
    return [[value / batch for value in run] for run in runs]


def _images_per_second(runs: list[list[float]], batch: int) -> list[float]:
    return [batch * len(run) / sum(run) for run in runs]


def energy_per_run(
    config: BenchConfig, windows: list[Window], trace: PowerTrace | None
) -> dict[int, dict[str, list[float] | None]]:
    """Joules per image for each run of each batch size (pixelgen windows), by trapezoid and by counter."""
    result: dict[int, dict[str, list[float] | None]] = {}
    for batch in config.batches:
        ours = sorted((w for w in windows if w.impl == "pixelgen" and w.batch == batch), key=lambda w: w.run)
        integral = [
            _stats.trapezoid_energy_joules(trace.times_s, trace.power_w, w.start_s, w.end_s) / w.images for w in ours
        ] if trace is not None else None
        counters = (
            [(w.energy_counter_mj[1] - w.energy_counter_mj[0]) / 1000.0 / w.images for w in ours]
            if ours and all(w.energy_counter_mj is not None for w in ours)
            else None
        )
        result[batch] = {"trapezoid": integral, "counter": counters}
    return result


def analyse(config: BenchConfig, measurements: Measurements, info: dict[str, Any]) -> dict[str, Any]:
    trace: PowerTrace | None = info["power_trace"]
    if trace is not None and len(trace.times_s) < 2:
        info["nvml_reason"] = f"NVML gave {len(trace.times_s)} power samples ({trace.errors} failed reads)"
        trace = None
    ours, bare = measurements.latencies["pixelgen"], measurements.latencies["bare"]
    reference = config.batches[0]
    reference_ips = _images_per_second(ours[reference], reference)
    energy = energy_per_run(config, measurements.windows, trace) if trace is not None else None
    by_batch: dict[str, Any] = {}
    for batch in config.batches:
        ips = _images_per_second(ours[batch], batch)
        bare_ips = _images_per_second(bare[batch], batch)
        entry: dict[str, Any] = {
            "latency_per_image_s": _stats.latency_summary(_per_image(ours[batch], batch)),
            "latency_per_batch_s": _stats.latency_summary(ours[batch]),
            "images_per_second": _stats.mean_with_ci(ips),
            "images_per_minute": _stats.mean_with_ci([value * 60.0 for value in ips]),
            "batch_efficiency": _stats.mean_with_ci([a / b for a, b in zip(ips, reference_ips)]),
            "bare_latency_per_image_s": _stats.latency_summary(_per_image(bare[batch], batch)),
            "bare_images_per_second": _stats.mean_with_ci(bare_ips),
            "overhead_ratio": _stats.mean_with_ci(
                [float(np.mean(a)) / float(np.mean(b)) for a, b in zip(ours[batch], bare[batch])]
            ),
            "max_abs_pixel_diff_vs_bare": measurements.max_abs_diff_vs_bare.get(batch),
            "memory": measurements.memory.get(batch),
            "energy": None,
            "samples": {
                "pixelgen_batch_latency_s": ours[batch],
                "bare_batch_latency_s": bare[batch],
            },
        }
        if energy is not None and energy[batch]["trapezoid"]:
            joules = energy[batch]["trapezoid"]
            entry["energy"] = {
                "joules_per_image": _stats.mean_with_ci(joules),
                "kwh_per_image": _stats.mean_with_ci([value / _stats.JOULES_PER_KWH for value in joules]),
                "counter_joules_per_image": None
                if energy[batch]["counter"] is None
                else _stats.mean_with_ci(energy[batch]["counter"]),
            }
        by_batch[str(batch)] = entry

    largest = str(config.batches[-1])
    first = str(reference)
    memory_peak = None
    if measurements.memory:
        key = "peak_allocated_bytes" if config.device == "cuda" else "peak_rss_bytes"
        memory_peak = {
            "bytes": max(m[key] for m in measurements.memory.values()),
            "kind": "gpu_peak_allocated" if config.device == "cuda" else "process_peak_rss",
        }
        if config.device == "cuda":
            memory_peak["reserved_bytes"] = max(m["peak_reserved_bytes"] for m in measurements.memory.values())

    if trace is None:
        energy_block: dict[str, Any] | None = None
        energy_reason = info.get("nvml_reason") or "no power samples"
    else:
        idle = info["idle_window"]
        idle_w = (
            _stats.trapezoid_energy_joules(trace.times_s, trace.power_w, idle[0], idle[1]) / (idle[1] - idle[0])
            if idle
            else None
        )
        energy_block = {
            "method": "NVML board power (nvmlDeviceGetPowerUsage) sampled at 10 Hz, trapezoid rule over each "
            "timed pixelgen window; whole-board power, idle draw included",
            "joules_per_image_batch_reference": by_batch[first]["energy"]["joules_per_image"]["mean"]
            if by_batch[first]["energy"]
            else None,
            "kwh_per_image_batch_reference": by_batch[first]["energy"]["kwh_per_image"]["mean"]
            if by_batch[first]["energy"]
            else None,
            "joules_per_image_batch_largest": by_batch[largest]["energy"]["joules_per_image"]["mean"]
            if by_batch[largest]["energy"]
            else None,
            "kwh_per_image_batch_largest": by_batch[largest]["energy"]["kwh_per_image"]["mean"]
            if by_batch[largest]["energy"]
            else None,
            "idle_power_w": idle_w,
            "samples": len(trace.times_s),
            "sample_errors": trace.errors,
            "achieved_hz": (len(trace.times_s) - 1) / (trace.times_s[-1] - trace.times_s[0])
            if len(trace.times_s) > 1
            else None,
        }
        timed = [w for w in measurements.windows if w.impl == "pixelgen"]
        clocks = [
            clock
            for t, clock in zip(trace.times_s, trace.sm_clock_mhz)
            if clock is not None and any(w.start_s <= t <= w.end_s for w in timed)
        ]
        if clocks:
            info["controls"]["observed_sm_clock_mhz_in_timed_windows"] = {
                "min": min(clocks),
                "max": max(clocks),
                "mean": float(np.mean(clocks)),
            }
        energy_reason = None

    headline = {
        "reference_batch": reference,
        "largest_batch": config.batches[-1],
        "latency_s_per_image_reference_batch": by_batch[first]["latency_per_image_s"],
        "images_per_minute_largest_batch": by_batch[largest]["images_per_minute"]["mean"],
        "batch_efficiency_largest_batch": by_batch[largest]["batch_efficiency"]["mean"],
        "overhead_ratio_reference_batch": by_batch[first]["overhead_ratio"]["mean"],
        "memory_peak": memory_peak,
    }
    return {
        "by_batch": by_batch,
        "headline": headline,
        "energy": energy_block,
        "energy_unavailable_reason": energy_reason,
        "memory_peak": memory_peak,
        "targets": evaluate_targets(config, by_batch, memory_peak, energy_block),
    }


def evaluate_targets(
    config: BenchConfig,
    by_batch: dict[str, Any],
    memory_peak: dict[str, Any] | None,
    energy_block: dict[str, Any] | None,
) -> dict[str, Any]:
    """The project's targets (docs/metrics.md); they apply to SDXL at 1024² on a GPU only."""
    applicable = config.device == "cuda" and config.size == 1024 and config.model_kind != "builtin"
    one, eight = by_batch.get("1"), by_batch.get("8")

    def check(value: float | None, target: float, higher_is_better: bool) -> dict[str, Any]:
        met = None if value is None or not applicable else (value >= target if higher_is_better else value <= target)
        return {"value": value, "target": target, "met": met}

    return {
        "applicable": applicable,
        "why_not": None if applicable else "targets are for SDXL at 1024² on a GPU; this run is "
        f"{config.model} at {config.size}² on {config.device}",
        "latency_s_per_image_batch1": check(one and one["latency_per_image_s"]["mean"], 3.0, False),
        "images_per_minute_batch8": check(eight and eight["images_per_minute"]["mean"], 15.0, True),
        "batch8_over_batch1": check(
            eight and one and eight["images_per_second"]["mean"] / one["images_per_second"]["mean"], 2.5, True
        ),
        "memory_peak_bytes": check(memory_peak and memory_peak["bytes"], 100e9, False),
        "kwh_per_image_batch8": check(
            eight and eight["energy"] and eight["energy"]["kwh_per_image"]["mean"], 0.0002, False
        ),
    }


# -- outputs -------------------------------------------------------------------------


def write_power_csv(path: Path, trace: PowerTrace | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["t_s", "power_w"])
    if trace is not None and trace.times_s:
        origin = trace.times_s[0]
        for t, watts in zip(trace.times_s, trace.power_w):
            writer.writerow([f"{t - origin:.4f}", f"{watts:.3f}"])
    write_text_atomic(path, buffer.getvalue())


REPORT_COLUMNS = (
    "impl",
    "batch",
    "latency_mean_s_per_image",
    "latency_mean_ci95_low",
    "latency_mean_ci95_high",
    "latency_p50_s_per_image",
    "latency_p95_s_per_image",
    "images_per_second",
    "images_per_second_ci95_low",
    "images_per_second_ci95_high",
    "batch_efficiency",
    "overhead_ratio",
    "memory_peak_bytes",
    "joules_per_image",
    "kwh_per_image",
)


def write_report_csv(path: Path, results: dict[str, Any], device: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    memory_key = "peak_allocated_bytes" if device == "cuda" else "peak_rss_bytes"
    for batch, entry in results["by_batch"].items():
        for impl, latency, ips in (
            ("pixelgen", entry["latency_per_image_s"], entry["images_per_second"]),
            ("bare", entry["bare_latency_per_image_s"], entry["bare_images_per_second"]),
        ):
            energy = entry["energy"] if impl == "pixelgen" else None
            memory = entry["memory"] if impl == "pixelgen" else None
            writer.writerow(
                [
                    impl,
                    batch,
                    f"{latency['mean']:.6f}",
                    f"{latency['ci95']['mean'][0]:.6f}",
                    f"{latency['ci95']['mean'][1]:.6f}",
                    f"{latency['p50']:.6f}",
                    f"{latency['p95']:.6f}",
                    f"{ips['mean']:.4f}",
                    f"{ips['ci95'][0]:.4f}",
                    f"{ips['ci95'][1]:.4f}",
                    f"{entry['batch_efficiency']['mean']:.4f}" if impl == "pixelgen" else "",
                    f"{entry['overhead_ratio']['mean']:.4f}" if impl == "pixelgen" else "",
                    memory[memory_key] if memory else "",
                    f"{energy['joules_per_image']['mean']:.3f}" if energy else "",
                    f"{energy['kwh_per_image']['mean']:.3e}" if energy else "",
                ]
            )
    write_text_atomic(path, buffer.getvalue())


def write_plot(path: Path, config: BenchConfig, results: dict[str, Any]) -> bool:
    """Latency distribution per batch size and throughput vs batch size; False when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed (pip install -e '.[bench]'): throughput.png skipped")
        return False
    batches = [str(b) for b in config.batches]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    positions, data, colours = [], [], []
    for index, batch in enumerate(batches):
        samples = results["by_batch"][batch]["samples"]
        for offset, (impl, colour) in enumerate((("pixelgen", "tab:blue"), ("bare", "tab:orange"))):
            runs = samples[f"{impl}_batch_latency_s"]
            data.append([value / int(batch) for run in runs for value in run])
            positions.append(index * 3 + offset)
            colours.append(colour)
    boxes = left.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=True)
    for patch, colour in zip(boxes["boxes"], colours):
        patch.set_facecolor(colour)
        patch.set_alpha(0.6)
    left.set_xticks([index * 3 + 0.5 for index in range(len(batches))], batches)
    left.set_xlabel("batch size")
    left.set_ylabel("seconds per image")
    left.set_title("latency per image (blue: pixelgen, orange: bare diffusers)")
    for impl, key, colour in (("pixelgen", "images_per_second", "tab:blue"), ("bare", "bare_images_per_second", "tab:orange")):
        means = [results["by_batch"][b][key]["mean"] for b in batches]
        lows = [means[i] - results["by_batch"][b][key]["ci95"][0] for i, b in enumerate(batches)]
        highs = [results["by_batch"][b][key]["ci95"][1] - means[i] for i, b in enumerate(batches)]
        right.errorbar([int(b) for b in batches], means, yerr=[lows, highs], marker="o", capsize=4, label=impl, color=colour)
    right.set_xscale("log", base=2)
    right.set_xticks([int(b) for b in batches], batches)
    right.set_xlabel("batch size")
    right.set_ylabel("images per second (95 % CI)")
    right.set_title("throughput vs batch size")
    right.legend()
    figure.suptitle(f"{config.model} {config.size}² {config.steps} steps, {config.device} {config.dtype}", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    write_bytes_atomic(path, buffer.getvalue())
    return True


def _format_bytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**30:.2f} GiB"


def print_summary(config: BenchConfig, results: dict[str, Any]) -> None:
    log.info("")
    log.info(
        "%s %d² %d steps guidance %.1f on %s %s — %d runs × %d calls (warm-up %d)",
        config.model,
        config.size,
        config.steps,
        config.guidance,
        config.device,
        config.dtype,
        config.runs,
        config.repeats,
        config.warmup,
    )
    log.info(
        "%5s  %-28s %8s %8s  %-22s %6s  %-20s %s",
        "batch",
        "s/img mean [95% CI]",
        "p50",
        "p95",
        "img/s [95% CI]",
        "eff.",
        "overhead vs bare",
        "J/img",
    )
    for batch, entry in results["by_batch"].items():
        latency, ips, overhead = entry["latency_per_image_s"], entry["images_per_second"], entry["overhead_ratio"]
        energy = entry["energy"]
        log.info(
            "%5s  %.4f [%.4f, %.4f]    %8.4f %8.4f  %.3f [%.3f, %.3f]   %6.2f  %.3f [%.3f, %.3f]  %s",
            batch,
            latency["mean"],
            *latency["ci95"]["mean"],
            latency["p50"],
            latency["p95"],
            ips["mean"],
            *ips["ci95"],
            entry["batch_efficiency"]["mean"],
            overhead["mean"],
            *overhead["ci95"],
            "n/a" if energy is None else f"{energy['joules_per_image']['mean']:.1f}",
        )
    peak = results["memory_peak"]
    log.info("memory peak: %s (%s)", _format_bytes(peak and peak["bytes"]), peak and peak["kind"])
    if results["energy"] is None:
        log.info("energy: null (%s)", results["energy_unavailable_reason"])
    log.info("pixel max |pixelgen - bare|: %s", {b: e["max_abs_pixel_diff_vs_bare"] for b, e in results["by_batch"].items()})


# -- command line ----------------------------------------------------------------------


def build_config(args: argparse.Namespace) -> tuple[BenchConfig, ModelSpec]:
    from pixelgen.render.diffusers_backend import SCHEDULERS, select_device

    spec = model_spec_from_argument(args.model, revision=args.revision, variant=args.variant, config=args.config)
    tiny = spec.kind == "builtin"
    size = args.size or (128 if tiny else 1024)
    if size % 8:
        raise ValueError(f"--size {size}: must be a multiple of 8 (the VAE downsamples by 8)")
    if args.runs < 2:
        raise ValueError(f"--runs {args.runs}: confidence intervals need at least 2 runs (3 or more recommended)")
    if args.repeats < 1 or args.warmup < 0:
        raise ValueError("--repeats must be >= 1 and --warmup >= 0")
    if args.scheduler not in SCHEDULERS:
        raise ValueError(f"--scheduler {args.scheduler!r}: choose one of {', '.join(SCHEDULERS)}")
    device, dtype = select_device(args.device, args.dtype)
    cache_dir = Path(args.cache_dir or os.environ.get("PIXELGEN_CACHE") or REPO / ".pixelgen" / "cache").resolve()
    config = BenchConfig(
        model=args.model,
        model_kind=spec.kind,
        model_source=spec.source,
        revision=spec.revision,
        variant=spec.variant,
        single_file_config=spec.config,
        size=size,
        steps=args.steps or (4 if tiny else 30),
        guidance=args.guidance,
        scheduler=args.scheduler,
        batches=parse_batches(args.batch),
        warmup=args.warmup,
        repeats=args.repeats,
        runs=args.runs,
        device=device,
        dtype=dtype,
        seed_base=args.seed,
        prompts=PROMPTS,
        negative=NEGATIVE,
        cache_dir=str(cache_dir),
        clocks_locked_declared=args.clocks_locked,
        torch_threads=args.threads,
    )
    return config, spec


def make_run_id() -> str:
    git = git_info(REPO)
    sha = git["commit"][:8] if git else "nogit"
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{sha}"


def setup_logging(log_path: Path) -> None:
    log.handlers.clear()
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(log_path, encoding="utf-8")):
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=TINY, help=f"{TINY}, a local diffusers folder or .safetensors, or a hub repo id")
    parser.add_argument("--revision", help="hub commit to load (hub models)")
    parser.add_argument("--variant", help="weights variant, e.g. fp16 (hub or folder models)")
    parser.add_argument("--config", help="pipeline config folder or repo id for a single-file checkpoint")
    parser.add_argument("--size", type=int, help="square image side (default 128 for the tiny model, 1024 otherwise)")
    parser.add_argument("--steps", type=int, help="inference steps (default 4 for the tiny model, 30 otherwise)")
    parser.add_argument("--guidance", type=float, default=7.0)
    parser.add_argument("--scheduler", default="euler")
    parser.add_argument("--batch", default="1,2,4,8", help="comma-separated batch sizes (default 1,2,4,8)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per batch size, run and loop")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per batch size, run and loop")
    parser.add_argument("--runs", type=int, default=3, help="independent runs (CIs are across runs; >= 2)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=("float16", "bfloat16"), help="GPU precision (default float16; CPU: float32)")
    parser.add_argument("--seed", type=int, default=1234, help="first seed; prompt i uses seed + i")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--cache-dir", help="pixelgen cache (tiny model lives here; default PIXELGEN_CACHE or .pixelgen/cache)")
    parser.add_argument("--clocks-locked", action="store_true", help="declare that GPU clocks were locked (nvidia-smi -lgc)")
    parser.add_argument("--out", type=Path, help="output folder (default bench/out/<run id>)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config, spec = build_config(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run_id = make_run_id()
    out = (args.out or REPO / "bench" / "out" / run_id).resolve()
    out.mkdir(parents=True, exist_ok=True)
    setup_logging(out / "run.log")
    log.info("pixelgen throughput bench, run %s → %s", run_id, out)
    config_record = asdict(config)
    write_json_atomic(out / "config.lock.json", {"run_id": run_id, "config": config_record, "config_key": content_key(config_record)})

    started = time.perf_counter()
    measurements, info = run_bench(config, spec)
    results = analyse(config, measurements, info)
    fingerprint = environment_fingerprint(project_dir=REPO, seeds=[config.seed_base + i for i in range(len(config.prompts))])
    metrics = {
        "schema": METRICS_SCHEMA,
        "run_id": run_id,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": fingerprint,
        "controls": info["controls"],
        "config": config_record,
        "config_key": content_key(config_record),
        "methods": {
            "timer": "time.perf_counter around one render call (torch.cuda.synchronize on CUDA)",
            "mean_ci": "Student t-interval over per-run means (df = runs - 1)",
            "percentile_ci": f"two-level percentile bootstrap (runs, then calls), {_stats.BOOTSTRAP_RESAMPLES} "
            f"resamples, seed {_stats.BOOTSTRAP_SEED}",
            "throughput_ci": "Student t-interval over per-run images/second",
            "batch_efficiency": f"per-run images/second at batch B / at batch {config.batches[0]} (same run)",
            "overhead_ratio": "per-run mean pixelgen call latency / mean bare diffusers call latency",
            "energy": "trapezoid rule over NVML power samples within each timed window",
        },
        "load_seconds": {"pixelgen": info["pixelgen_load_seconds"], "bare": info.get("bare_load_seconds")},
        "process_peak_rss_bytes": info["process_peak_rss_bytes"],
        "wall_seconds": time.perf_counter() - started,
        **results,
    }
    write_json_atomic(out / "metrics.json", metrics)
    write_power_csv(out / "power.csv", info["power_trace"])
    write_report_csv(out / "report.csv", results, config.device)
    write_plot(out / "throughput.png", config, results)
    print_summary(config, results)
    log.info("wrote %s", ", ".join(sorted(p.name for p in out.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
