"""Plan and no-op build time for generated manifests of 100 / 1,000 / 10,000 assets.

    python bench/nullbuild.py [--sizes 100,1000,10000] [--repeats 5]

The set-up build uses a synthetic generator (flat colour images) because this
measures pixelgen's own bookkeeping — manifest load, resolve, plan, status
against the lock and OUT — not rendering. Prints medians; the CLI figures
include interpreter start-up and imports, the in-process ones do not.

CLI columns, each a fresh ``python`` process, measured in the same run:

* ``floor``: a script that reads the manifest, hashes it, parses its YAML
  (libyaml when present) and stats every output: the least a no-op check can do
  while still reading the manifest;
* ``CLI no-op``: ``pixelgen build`` with nothing to do, answered by the no-op
  stamp (pixelgen/core/noop.py: manifest digest + output stats);
* ``CLI full``: the same with the stamp removed first: the whole recipe
  (load, validate, resolve, plan, re-hash every output, re-check records).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pixelgen.commands.build import build
from pixelgen.commands.status import compute_status
from pixelgen.core import noop
from pixelgen.core.workspace import BuildOptions, open_workspace


class FlatColourGenerator:
    """Stands in for the diffusion model in the set-up build only."""

    def render(self, jobs):
        return [np.full((job.height, job.width, 3), job.seed % 251, dtype=np.uint8) for job in jobs]


def write_manifest(folder: Path, count: int) -> Path:
    lines = [
        "version: 1",
        f"name: bench{count}",
        "models:",
        "  tiny: {builtin: tiny-sdxl}",
        "palettes:",
        "  pico: {builtin: pico-8}",
        "defaults:",
        "  model: tiny",
        "  size: [8, 8]",
        "  render: {width: 64, height: 64, steps: 2}",
        "  palette: pico",
        "  pixelart: {cell: 8}",
        "assets:",
    ]
    for index in range(count):
        lines += [f"  - id: sprite{index:05d}", "    kind: sprite", f"    prompt: sprite number {index}", f"    seed: {index}"]
    path = folder / "manifests" / f"bench{count}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


FLOOR_SCRIPT = """
import hashlib, os, sys, yaml
manifest, out = sys.argv[1], sys.argv[2]
raw = open(manifest, "rb").read()
hashlib.sha256(raw).hexdigest()
data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
for asset in data["assets"]:
    os.stat(os.path.join(out, asset["id"], "default.png"))
"""


def median_seconds(func, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'assets':>7} {'setup s':>8} {'plan ms':>8} {'status ms':>9} {'null build ms':>13} "
          f"{'floor ms':>9} {'CLI no-op ms':>12} {'÷ floor':>7} {'CLI full ms':>11}")
    for count in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            manifest = write_manifest(folder, count)
            options = BuildOptions(out=folder / "out", progress=False)
            started = time.perf_counter()
            first = build(manifest, options, make_generator=lambda ws: FlatColourGenerator())
            setup = time.perf_counter() - started
            assert first.built == count and not first.failed, first
            plan_s = median_seconds(lambda: open_workspace(manifest, options), args.repeats)

            def status() -> None:
                ws = open_workspace(manifest, options)
                compute_status(ws.plan, ws.lock, ws.out_dir)

            status_s = median_seconds(status, args.repeats)

            def null_build() -> None:
                noop.forget(manifest)  # the whole recipe in-process, not the stamp
                summary = build(manifest, options)
                assert summary.built == 0 and summary.rendered == 0

            null_s = median_seconds(null_build, args.repeats)
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            command = [sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(folder / "out")]
            floor = [sys.executable, "-c", FLOOR_SCRIPT, str(manifest), str(folder / "out" / f"bench{count}")]
            cli_repeats = max(3, args.repeats)

            def run(argv: list[str]) -> None:
                subprocess.run(argv, check=True, capture_output=True, env=env)

            run(command)  # stamps
            floor_s = median_seconds(lambda: run(floor), cli_repeats)
            cli_s = median_seconds(lambda: run(command), cli_repeats)

            def full() -> None:
                noop.forget(manifest)
                run(command)

            full_s = median_seconds(full, max(3, args.repeats // 2))
            print(f"{count:>7} {setup:>8.1f} {plan_s * 1e3:>8.0f} {status_s * 1e3:>9.0f} {null_s * 1e3:>13.0f} "
                  f"{floor_s * 1e3:>9.0f} {cli_s * 1e3:>12.0f} {cli_s / floor_s:>7.2f} {full_s * 1e3:>11.0f}", flush=True)


if __name__ == "__main__":
    main()
