"""Benchmark pixelgen's pixelize against its PyPI peers on the synthetic corpus.

    python bench/pixelize.py --n 200 --seed 0 --size 1024

Every tool sees the same renders (bench/pixelart_corpus.py). Scores:

* size: the tool's cell grid has exactly the truth's size (w x h cells);
  for pixelgen, fallbacks to the declared size are counted separately.
* exact RGBA: share of truth pixels reproduced exactly (transparent truth
  pixels must come out transparent), over size-matched cases.
* exact RGB (opaque): share of opaque truth pixels whose colour matches,
  over size-matched cases; peers' outputs are first mapped to the truth
  palette with pixelgen's ``quantize`` (they cannot take a palette), so this
  isolates grid + cell sampling.
* palette-clean: share of opaque output pixels whose colour is in the truth
  palette, as the tool returns them.
* alpha agreement: share of pixels whose opacity matches the truth (only
  tools that output alpha).
* ms: median wall time of the tool's call per render, one thread.

Peers (``pixel-snapper``, ``perfect-pixel``; MIT) run when importable:
``pip install pixel-snapper perfect-pixel``.
"""

from __future__ import annotations

import os

# One core for every tool, set before numpy (or a peer) starts its thread pools.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import argparse
import contextlib
import io
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pixelart_corpus import Case, generate

from pixelgen.files.fsutil import write_json_atomic
from pixelgen.pixelart import GridDetectionError, pixelize, quantize
from pixelgen.pixelart.options import PixelArtOptions


@dataclass
class Tally:
    name: str
    cases: int = 0
    size_ok: int = 0
    fallbacks: int = 0
    errors: int = 0
    exact_rgba: list[float] = field(default_factory=list)
    exact_rgb: list[float] = field(default_factory=list)
    palette_clean: list[float] = field(default_factory=list)
    alpha_agree: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _keys(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.reshape(-1, 3)
    return (
        (rgb[:, 0].astype(np.uint32) << 16)
        | (rgb[:, 1].astype(np.uint32) << 8)
        | rgb[:, 2]
    )


def _score(
    tally: Tally,
    case: Case,
    out: np.ndarray | None,
    ms: float,
    *,
    has_alpha: bool,
    fallback: bool = False,
    grid_size: tuple[int, int] | None = None,
) -> None:
    """``grid_size``: the cells the tool's grid gave, when its output was resized after."""
    tally.cases += 1
    tally.ms.append(ms)
    if out is None:
        tally.errors += 1
        tally.failures.append(f"{case.name}: no output")
        return
    if out.shape[2] == 3:
        out = np.concatenate(
            [out, np.full(out.shape[:2] + (1,), 255, np.uint8)], axis=2
        )
    truth = case.truth
    opaque_out = out[..., 3] > 0
    if opaque_out.any():
        in_palette = np.isin(_keys(out[..., :3][opaque_out]), _keys(case.palette))
        tally.palette_clean.append(float(in_palette.mean()))
    got = grid_size if grid_size is not None else (out.shape[1], out.shape[0])
    if tuple(got) != case.size or out.shape[:2] != truth.shape[:2]:
        tally.failures.append(
            f"{case.name}: grid {got[0]}x{got[1]} != {case.size[0]}x{case.size[1]} (cell {case.cell:.2f})"
        )
        return
    if fallback:
        tally.fallbacks += 1
    else:
        tally.size_ok += 1
    mapped = quantize(out, case.palette)
    truth_opaque = truth[..., 3] > 0
    rgb_equal = np.all(mapped[..., :3] == truth[..., :3], axis=2)
    tally.exact_rgb.append(
        float((rgb_equal & truth_opaque).sum() / max(1, truth_opaque.sum()))
    )
    if has_alpha:
        match = np.where(
            truth_opaque,
            opaque_out & np.all(out[..., :3] == truth[..., :3], axis=2),
            ~opaque_out,
        )
        tally.exact_rgba.append(float(match.mean()))
        tally.alpha_agree.append(float((opaque_out == truth_opaque).mean()))


# --no-prior: detect the grid without the declared size (pixelize's automatic mode).
USE_PRIOR = True
DETECTION_ONLY = PixelArtOptions(min_confidence=0.0)


def run_pixelgen(case: Case, tally: Tally) -> None:
    t0 = time.perf_counter()
    # min_confidence 0: the detected grid always, so the figures measure detection, not the even-cut fallback.
    try:
        result = pixelize(
            case.render, size=case.size if USE_PRIOR else None, palette=case.palette, background=case.background,
            options=DETECTION_ONLY,
        )
    except GridDetectionError:
        # Refused as having no periodic grid, though every case has one: a miss ("no output").
        _score(tally, case, None, (time.perf_counter() - t0) * 1000.0, has_alpha=True)
        return
    ms = (time.perf_counter() - t0) * 1000.0
    report = result.report
    # The grid's own size counts, not the size fit_to_size forced afterwards.
    _score(
        tally,
        case,
        result.image,
        ms,
        has_alpha=True,
        fallback=report["fallback"] is not None,
        grid_size=tuple(report["cells"]),
    )


def _load_pixel_snapper():
    try:
        import pixel_snapper
    except ImportError:
        return None

    from PIL import Image

    def run(case: Case, tally: Tally) -> None:
        buffer = io.BytesIO()
        Image.fromarray(case.render).save(buffer, format="PNG")
        data = buffer.getvalue()
        config = pixel_snapper.PixelSnapperConfig(k_colors=len(case.palette))
        t0 = time.perf_counter()
        try:
            result = pixel_snapper.process_image(data, config)
        except Exception as exc:  # noqa: BLE001 - a peer failing on a case is a score, not a crash
            tally.failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            _score(
                tally, case, None, (time.perf_counter() - t0) * 1000.0, has_alpha=True
            )
            return
        ms = (time.perf_counter() - t0) * 1000.0
        out = np.asarray(Image.open(io.BytesIO(bytes(result))).convert("RGBA"))
        _score(tally, case, out, ms, has_alpha=case.render.shape[2] == 4)

    return run


def _load_perfect_pixel():
    try:
        from perfect_pixel import get_perfect_pixel
    except ImportError:
        return None

    def run(case: Case, tally: Tally) -> None:
        rgb = np.ascontiguousarray(case.render[..., :3])
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                w, _, out = get_perfect_pixel(rgb)
        except Exception as exc:  # noqa: BLE001 - as above
            tally.failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            _score(
                tally, case, None, (time.perf_counter() - t0) * 1000.0, has_alpha=False
            )
            return
        ms = (time.perf_counter() - t0) * 1000.0
        if w is None:
            _score(tally, case, None, ms, has_alpha=False)
            return
        _score(
            tally, case, np.ascontiguousarray(out, dtype=np.uint8), ms, has_alpha=False
        )

    return run


def _pct(values: list[float]) -> str:
    return f"{100.0 * statistics.fmean(values):.2f} %" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description="pixelize benchmark")
    parser.add_argument("--n", type=int, default=100, help="corpus cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=1024, help="render long side in px")
    parser.add_argument("--no-peers", action="store_true", help="only run pixelgen")
    parser.add_argument("--profile", choices=["standard", "small", "hard"], default="standard",
                        help="corpus settings: small = 4-px cells with blur + JPEG; hard = stronger blur/JPEG, crops, non-square canvases")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--show-failures",
        type=int,
        default=0,
        help="list this many failed cases per tool",
    )
    parser.add_argument("--no-prior", action="store_true", help="pixelgen detects without the declared size")
    args = parser.parse_args()
    global USE_PRIOR
    USE_PRIOR = not args.no_prior

    tools = {"pixelgen": run_pixelgen}
    if not args.no_peers:
        for name, loader in (
            ("pixel-snapper", _load_pixel_snapper),
            ("perfect-pixel", _load_perfect_pixel),
        ):
            runner = loader()
            if runner is None:
                print(f"{name}: not importable, skipped", file=sys.stderr)
            else:
                tools[name] = runner
    tallies = {name: Tally(name) for name in tools}
    cases = list(generate(args.n, seed=args.seed, render_size=args.size, profile=args.profile))
    # Warm-up (imports, caches) outside the timings.
    for name, runner in tools.items():
        runner(cases[0], Tally(name))
    for case in cases:
        for name, runner in tools.items():
            runner(case, tallies[name])

    base_ms = statistics.median(tallies["pixelgen"].ms)
    rows = []
    for tally in tallies.values():
        n = max(1, tally.cases)
        median_ms = statistics.median(tally.ms) if tally.ms else float("nan")
        rows.append(
            {
                "tool": tally.name,
                "cases": tally.cases,
                "size_recovered": tally.size_ok / n,
                "declared_fallback": tally.fallbacks / n,
                "errors": tally.errors,
                "exact_rgba": statistics.fmean(tally.exact_rgba)
                if tally.exact_rgba
                else None,
                "exact_rgb_opaque": statistics.fmean(tally.exact_rgb)
                if tally.exact_rgb
                else None,
                "palette_clean": statistics.fmean(tally.palette_clean)
                if tally.palette_clean
                else None,
                "alpha_agreement": statistics.fmean(tally.alpha_agree)
                if tally.alpha_agree
                else None,
                "median_ms": median_ms,
                "ms_ratio_vs_pixelgen": median_ms / base_ms,
            }
        )
    print(
        f"corpus: n={args.n} seed={args.seed} size={args.size} profile={args.profile}; machine: {platform.machine()} "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"
    )
    header = "| tool | size recovered | declared fallback | exact RGBA | exact RGB (opaque) | palette-clean | alpha agreement | median ms | ms vs pixelgen |"
    print(header)
    print("|" + "---|" * 9)
    for row in rows:
        print(
            f"| {row['tool']} | {100 * row['size_recovered']:.1f} % | {100 * row['declared_fallback']:.1f} % | "
            f"{_fmt(row['exact_rgba'])} | {_fmt(row['exact_rgb_opaque'])} | {_fmt(row['palette_clean'])} | "
            f"{_fmt(row['alpha_agreement'])} | {row['median_ms']:.1f} | {row['ms_ratio_vs_pixelgen']:.2f}x |"
        )
    if args.show_failures:
        for tally in tallies.values():
            for line in tally.failures[: args.show_failures]:
                print(f"  {tally.name}: {line}")
    if args.json:
        write_json_atomic(
            args.json, {"args": vars(args) | {"json": str(args.json)}, "rows": rows}
        )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f} %"


if __name__ == "__main__":
    main()
