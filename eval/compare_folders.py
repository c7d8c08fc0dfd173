#!/usr/bin/env python3
"""Compare a folder of generated images with a folder of references.

Images are matched by relative path (``outputs/a/b.png`` ↔ ``references/a/b.png``).
For each pair: SSIM and PSNR (always), LPIPS and CLIP text-image distance
(only when the packages and their weights are already on this machine;
otherwise the reason is printed instead of a number).

    python eval/compare_folders.py OUTPUTS REFERENCES [--prompts prompts.json] [--json] [--no-learned]

``prompts.json`` maps relative paths to prompts, for the CLIP distance.
Exit status: 0 when at least one pair was compared, 2 when none was (or on
bad arguments).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make the repository importable.
_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import numpy as np  # noqa: E402

from pixelgen.files.fsutil import dump_json  # noqa: E402
from pixelgen.quality.scores import optional_metrics, reference_metrics  # noqa: E402

IMAGE_SUFFIXES = (".png", ".webp", ".bmp", ".gif", ".jpg", ".jpeg")


def _images(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }


def load_rgba(path: Path) -> np.ndarray:
    """First frame of an image file as H×W×4 uint8."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA"), dtype=np.uint8).copy()


def compare(
    outputs: Path, references: Path, *, prompts: dict[str, str] | None = None, learned: bool = True
) -> dict[str, Any]:
    """Metrics for every matched pair, plus the unmatched paths and means."""
    prompts = prompts or {}
    out_files = _images(outputs)
    ref_files = _images(references)
    pairs = []
    for rel in sorted(out_files.keys() & ref_files.keys()):
        image = load_rgba(out_files[rel])
        reference = load_rgba(ref_files[rel])
        row: dict[str, Any] = {"path": rel, **reference_metrics(image, reference)}
        if learned:
            row.update(optional_metrics(image, prompt=prompts.get(rel), reference=reference))
        pairs.append(row)

    def mean(key: str) -> float | None:
        values = [row[key] for row in pairs if isinstance(row.get(key), (int, float))]
        return round(statistics.fmean(values), 6) if values else None

    summary: dict[str, Any] = {"pairs": len(pairs), "mean_ssim": mean("ssim"), "mean_psnr": mean("psnr")}
    if learned:
        summary["mean_lpips"] = mean("lpips")
        summary["mean_clip_distance"] = mean("clip_distance")
    return {
        "outputs": str(outputs),
        "references": str(references),
        "pairs": pairs,
        "only_in_outputs": sorted(out_files.keys() - ref_files.keys()),
        "only_in_references": sorted(ref_files.keys() - out_files.keys()),
        "summary": summary,
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def format_table(result: dict[str, Any]) -> str:
    columns = ["path", "ssim", "psnr"]
    if "mean_lpips" in result["summary"]:
        columns += ["lpips", "clip_distance"]
    rows = [[_cell(row.get(c)) for c in columns] for row in result["pairs"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    # Group reasons: "not computed: …" repeats for every image.
    reasons: dict[tuple[str, str], list[str]] = {}
    for row in result["pairs"]:
        for key, label in (("reason", "ssim/psnr"), ("lpips_reason", "lpips"), ("clip_distance_reason", "clip")):
            if row.get(key):
                reasons.setdefault((label, row[key]), []).append(row["path"])
    if reasons:
        lines += ["", "notes:"]
        for (label, text), paths in reasons.items():
            shown = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
            lines.append(f"  {label}: {text} [{len(paths)} image(s): {shown}]")
    for key in ("only_in_outputs", "only_in_references"):
        if result[key]:
            lines.append(f"{key.replace('_', ' ')}: {', '.join(result[key])}")
    s = result["summary"]
    lines.append("")
    lines.append("summary: " + ", ".join(f"{k}={_cell(v)}" for k, v in s.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outputs", type=Path, help="folder of generated images")
    parser.add_argument("references", type=Path, help="folder of reference images (same relative paths)")
    parser.add_argument("--prompts", type=Path, help="JSON file mapping relative path -> prompt (for CLIP)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--no-learned", action="store_true", help="skip LPIPS and CLIP (no torch import; SSIM/PSNR only)"
    )
    args = parser.parse_args(argv)
    for folder in (args.outputs, args.references):
        if not folder.is_dir():
            parser.error(f"{folder} is not a directory")
    prompts = None
    if args.prompts:
        prompts = json.loads(args.prompts.read_text(encoding="utf-8"))
        if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
            parser.error(f"{args.prompts} must hold a JSON object mapping relative paths to prompt strings")
    result = compare(args.outputs, args.references, prompts=prompts, learned=not args.no_learned)
    print(dump_json(result) if args.json else format_table(result), end="" if args.json else "\n")
    if not result["pairs"]:
        print("no image has a counterpart with the same relative path", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
