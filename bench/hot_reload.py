"""Hot reload latency: manifest edit → new file in the game folder, through ``pixelgen watch --deploy``.

    python bench/hot_reload.py [--edits 20] [--out docs/hot-reload.md]

One sprite on the built-in tiny model (the demo's render settings: 128×128,
4 Euler steps, 32×32 output). ``pixelgen watch`` runs as a user runs it (a
separate process, polling every 0.05 s); this script edits the manifest and
polls the deployed PNG every millisecond until its bytes change. Two kinds of
edit, alternated:

* ``prompt``: a new prompt, so the asset is rendered again (render + post-process + deploy);
* ``palette``: a palette colour, so only post-processing runs (the render comes from the cache).

Each latency is from just after the edited manifest was written to the moment
the new file was seen in the game folder. The first build (model load) is not
counted. Prints a Markdown table (p50/p95 with bootstrap confidence intervals)
and, with --out, writes it into that file between markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import percentile  # noqa: E402

MANIFEST = """\
version: 1
name: hot
models:
  tiny: {{builtin: tiny-sdxl}}
palettes:
  warm: {{colors: ["#000000", "{colour}", "#ffa300", "#ffec27", "#fff1e8"]}}
defaults:
  model: tiny
  size: [32, 32]
  render: {{width: 128, height: 128, steps: 4, guidance: 5.0, scheduler: euler}}
  palette: warm
  seed: 7
assets:
  - id: hero
    kind: sprite
    prompt: "a knight hero, take {take}"
    background: transparent
"""
BEGIN, END = "<!-- hot-reload:begin -->", "<!-- hot-reload:end -->"


def wait_for_change(target: Path, previous: bytes | None, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            data = None
        if data is not None and data != previous:
            return time.perf_counter()
        time.sleep(0.001)
    raise TimeoutError(f"{target} did not change within {timeout} s")


def measure(edits: int, folder: Path) -> dict[str, list[float]]:
    manifest = folder / "hot.yaml"
    game = folder / "game" / "assets"
    target = game / "hero" / "default.png"
    colour, take = "#ff004d", 0
    manifest.write_text(MANIFEST.format(colour=colour, take=take))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "watch", str(manifest), "--deploy", str(game), "--interval", "0.05", "--device", "cpu"],
        cwd=folder, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    latencies: dict[str, list[float]] = {"prompt": [], "palette": []}
    idle = threading.Semaphore(0)  # released each time watch has finished a build and polls again
    log: list[str] = []

    def read_output() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            log.append(line.rstrip())
            if line.startswith("watching "):
                idle.release()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        wait_for_change(target, None, timeout=600)  # first build: builds/loads the tiny model
        for index in range(edits):
            # Edit only once the previous build is completely done (records written, polling again),
            # so each figure is one edit's own latency.
            if not idle.acquire(timeout=120):
                raise TimeoutError("watch did not finish its build:\n" + "\n".join(log[-20:]))
            kind = "prompt" if index % 2 == 0 else "palette"
            if kind == "prompt":
                take += 1
            else:
                colour = "#29adff" if colour == "#ff004d" else "#ff004d"
            before = target.read_bytes()
            manifest.write_text(MANIFEST.format(colour=colour, take=take))
            edited = time.perf_counter()
            seen = wait_for_change(target, before, timeout=120)
            latencies[kind].append((seen - edited) * 1e3)
    finally:
        watcher.terminate()
        try:
            watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()
    if os.environ.get("HOT_RELOAD_LOG"):
        print("\n".join(log), file=sys.stderr)
    return latencies


def bootstrap_ci(values: list[float], q: float, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the q-th percentile; edits of one watch session resampled as one sample."""
    import numpy as np

    array = np.asarray(values)
    rng = np.random.default_rng(seed)
    estimates = np.percentile(array[rng.integers(0, array.size, size=(resamples, array.size))], q, axis=1)
    low, high = np.quantile(estimates, [0.025, 0.975])
    return float(low), float(high)


def table(latencies: dict[str, list[float]]) -> str:
    rows = ["| edit | n | p50 ms (95% CI) | p95 ms (95% CI) | max ms |", "|---|---:|---:|---:|---:|"]
    for kind, values in latencies.items():
        p50 = percentile(values, 50)
        p95 = percentile(values, 95)
        ci50, ci95 = bootstrap_ci(values, 50), bootstrap_ci(values, 95)
        rows.append(f"| {kind} | {len(values)} | {p50:.0f} ({ci50[0]:.0f}–{ci50[1]:.0f}) | {p95:.0f} ({ci95[0]:.0f}–{ci95[1]:.0f}) | {max(values):.0f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--out", type=Path, help="Markdown file to update between the hot-reload markers.")
    args = parser.parse_args()
    threads = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pixelgen-hot-") as folder:
        latencies = measure(args.edits, Path(folder))
    load_after = os.getloadavg()[0]
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    text = (f"{table(latencies)}\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine} (CPU, tiny model; 1-minute load average "
            f"{load_before:.1f} before, {load_after:.1f} after), "
            f"`{threads}python bench/hot_reload.py --edits {args.edits}`.")
    print(text)
    if args.out:
        document = args.out.read_text("utf-8")
        head, _, rest = document.partition(BEGIN)
        _, _, tail = rest.partition(END)
        args.out.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", "utf-8")


if __name__ == "__main__":
    main()
