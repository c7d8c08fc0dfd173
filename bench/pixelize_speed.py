"""Whole-call time of pixelize on the 1024x1024 real renders: decode, pixelize (auto colours,
background removal), encode a PNG; one thread, one warm-up pass, then ``--repeat`` timed passes.

    python bench/pixelize_speed.py [--images bench/real/images] [--repeat 3]

Prints the median over renders of each render's process (CPU) and wall milliseconds,
and the median of each stage the report times. With ``--repeat`` above 1 a
render's time is its fastest pass: on a shared VM other work only ever adds
time, so the minimum is the steadiest estimate of what the call costs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pixelize_real import decode, encode  # noqa: E402

from pixelgen.pixelart import GridDetectionError, pixelize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=Path, default=ROOT / "bench" / "real_renders.json")
    parser.add_argument("--images", type=Path, default=ROOT / "bench" / "real" / "images")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes; each render keeps its fastest")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    entries = [e for e in json.loads(args.renders.read_text()) if (e["width"], e["height"]) == (1024, 1024)]
    cpu = [float("inf")] * len(entries)
    wall = [float("inf")] * len(entries)
    stages: dict[str, list[float]] = {}
    for timed_pass in range(1 + args.repeat):
        for index, entry in enumerate(entries):
            c0, w0 = time.process_time(), time.perf_counter()
            pixels = decode(args.images / entry["file"])
            try:
                result = pixelize(pixels, size=None, palette=None, background="transparent")
                encode(result.image)
            except GridDetectionError:
                result = None
            if timed_pass:
                cpu[index] = min(cpu[index], (time.process_time() - c0) * 1000)
                wall[index] = min(wall[index], (time.perf_counter() - w0) * 1000)
                if timed_pass == 1:
                    for stage, ms in (result.report["timings"].items() if result else ()):
                        stages.setdefault(stage, []).append(ms)
    fastest = f", each render's fastest of {args.repeat} passes" if args.repeat > 1 else ""
    print(f"{len(cpu)} renders of 1024x1024{fastest}: median whole call {statistics.median(cpu):.1f} ms CPU, "
          f"{statistics.median(wall):.1f} ms wall")
    print("median per stage (pixelize's report, first timed pass): " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
