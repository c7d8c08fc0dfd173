"""Render-farm scaling: a stand-in generator with a fixed per-image latency on K Ray workers.

    python bench/scale.py [--images 64] [--latency 0.5] [--workers 1,2] [--driver-size 1024]

1. Efficiency: ``--images`` render jobs (one per image) go through the Ray
   executor's actor pool with K actors on a local Ray instance of K CPUs. Each
   actor's generator sleeps ``--latency`` seconds per image (a GPU's time,
   which leaves the CPU free) and returns a small image. Efficiency is the
   ideal time ``images × latency ÷ K`` over the measured wall time of the
   render level, actor start-up included.
2. The driver's own cost per image, measured in this process without Ray:
   what the driver does for every image with the Ray executor (hash and store
   the render's PNG, which the actor encoded, then store the post-processed
   PNG; each write is a temp file, fsync and rename), on a ``--driver-size``²
   render of noise (the worst case for PNG size). The driver becomes the
   bottleneck when K workers deliver images faster than it stores them:
   K > latency ÷ cost. Encoding that render is shown too: the work the
   actors take off the driver.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from pixelgen.core.plan import RenderJob  # noqa: E402


class LatencyGenerator:
    """Sleeps a fixed time per image, as a GPU would keep the worker busy, and returns a flat image."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def render(self, jobs):
        time.sleep(self.latency * len(jobs))
        return [np.full((job.height, job.width, 3), job.seed % 251, dtype=np.uint8) for job in jobs]


def _jobs(count: int, size: int = 64) -> list[RenderJob]:
    return [
        RenderJob(key=f"{index:064x}", model="stand-in", loras=(), prompt=f"image {index}", negative="", seed=index,
                  width=size, height=size, steps=1, guidance=1.0, scheduler="euler", seamless=False)
        for index in range(count)
    ]


def _make_generator(latency: float):
    return LatencyGenerator(latency)


def measure_efficiency(images: int, latency: float, workers: int) -> tuple[float, float]:
    """(wall seconds of the render level, efficiency) with ``workers`` actors."""
    import functools

    import ray

    from pixelgen.core.ray_executor import RayExecutor

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        executor = RayExecutor(functools.partial(_make_generator, latency), actors=workers)
        batches = [[job] for job in _jobs(images)]
        started = time.perf_counter()
        done = sum(1 for _, result, _ in executor.render(batches) if not isinstance(result, BaseException))
        wall = time.perf_counter() - started
        assert done == images, f"{images - done} batches failed"
    finally:
        ray.shutdown()
    return wall, images * latency / workers / wall


def measure_driver(size: int, repeats: int = 20) -> tuple[float, float]:
    """(seconds the driver spends per image storing an encoded render and the final PNG, seconds to encode the render)."""
    from pixelgen.core.store import Store
    from pixelgen.formats.png import encode_png

    rng = np.random.default_rng(0)
    render = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    encode_samples = []
    for _ in range(max(3, repeats // 4)):
        started = time.perf_counter()
        encoded = encode_png(render)
        encode_samples.append(time.perf_counter() - started)
    final = encode_png(rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8))
    samples = []
    with tempfile.TemporaryDirectory() as folder:
        store = Store(folder)
        for index in range(repeats):
            started = time.perf_counter()
            store.put("render", f"{index:064x}", encoded + index.to_bytes(4, "big"), {"batch_size": 1})  # distinct objects
            store.put("post", f"{index + repeats:064x}", final, {"metrics": {}})
            samples.append(time.perf_counter() - started)
    return statistics.median(samples), statistics.median(encode_samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per image of the stand-in generator")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--driver-size", type=int, default=1024, help="render side in pixels for the driver's cost")
    args = parser.parse_args()
    print(f"{'workers':>7} {'images':>6} {'latency s':>9} {'ideal s':>8} {'wall s':>7} {'efficiency':>10}")
    for workers in (int(w) for w in args.workers.split(",")):
        wall, efficiency = measure_efficiency(args.images, args.latency, workers)
        print(f"{workers:>7} {args.images:>6} {args.latency:>9.2f} {args.images * args.latency / workers:>8.1f} {wall:>7.1f} {efficiency:>10.2f}",
              flush=True)
    cost, encode = measure_driver(args.driver_size)
    print(f"driver per image ({args.driver_size}² render): {cost * 1e3:.1f} ms → at most {1 / cost:.0f} images/s; "
          f"with {args.latency:g} s per image a worker, the driver saturates at about {args.latency / cost:.0f} workers "
          f"(PNG-encoding the render, done by the actors: {encode * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
