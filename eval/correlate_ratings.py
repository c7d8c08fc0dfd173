#!/usr/bin/env python3
"""Rank-correlate human ratings with an automatic metric.

    python eval/correlate_ratings.py ratings.csv metrics.json [--metric lpips] [--json]

``ratings.csv`` has a header ``path,rater,readability,palette`` (scores 1-5,
see ``eval/human_rubric.md``); ``metrics.json`` is the ``--json`` output of
``eval/compare_folders.py``. For each rubric criterion the per-image mean
rating is compared with the metric by Spearman's rho and Kendall's tau (with
p-values), over the images that have both. Inter-rater agreement is the mean
pairwise Spearman rho between raters who rated the same images.

Distances (lpips, clip_distance) should correlate *negatively* with ratings,
similarities (ssim, psnr) positively.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from pixelgen.files.fsutil import dump_json  # noqa: E402

CRITERIA = ("readability", "palette")
MIN_ITEMS = 3  # a rank correlation over fewer items is meaningless


def read_ratings(path: Path) -> dict[str, dict[str, dict[str, int]]]:
    """{criterion: {rater: {image path: score}}}; raises ValueError on a bad row."""
    ratings: dict[str, dict[str, dict[str, int]]] = {c: {} for c in CRITERIA}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "rater", *CRITERIA} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected path,rater,{','.join(CRITERIA)}")
        for line, row in enumerate(reader, start=2):
            for criterion in CRITERIA:
                try:
                    score = int(row[criterion])
                except ValueError:
                    raise ValueError(f"{path}:{line}: {criterion} {row[criterion]!r} is not an integer 1-5") from None
                if not 1 <= score <= 5:
                    raise ValueError(f"{path}:{line}: {criterion} {score} is outside 1-5")
                ratings[criterion].setdefault(row["rater"], {})[row["path"]] = score
    return ratings


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def correlate(ratings: dict[str, dict[str, dict[str, int]]], metric: dict[str, float]) -> dict[str, Any]:
    from scipy.stats import kendalltau, spearmanr

    result: dict[str, Any] = {}
    for criterion, by_rater in ratings.items():
        per_image: dict[str, list[int]] = {}
        for scores in by_rater.values():
            for image, score in scores.items():
                per_image.setdefault(image, []).append(score)
        common = sorted(set(per_image) & set(metric))
        entry: dict[str, Any] = {"items": len(common)}
        if len(common) >= MIN_ITEMS:
            human = [statistics.fmean(per_image[p]) for p in common]
            machine = [metric[p] for p in common]
            rho = spearmanr(human, machine)
            tau = kendalltau(human, machine)
            entry.update(
                spearman_rho=_clean(rho.statistic),
                spearman_p=_clean(rho.pvalue),
                kendall_tau=_clean(tau.statistic),
                kendall_p=_clean(tau.pvalue),
            )
        else:
            entry["reason"] = f"fewer than {MIN_ITEMS} images have both a rating and the metric"
        pairwise = []
        for a, b in itertools.combinations(sorted(by_rater), 2):
            shared = sorted(set(by_rater[a]) & set(by_rater[b]))
            if len(shared) >= MIN_ITEMS:
                value = spearmanr([by_rater[a][p] for p in shared], [by_rater[b][p] for p in shared]).statistic
                if math.isfinite(value):
                    pairwise.append(value)
        entry["inter_rater_rho"] = _clean(statistics.fmean(pairwise)) if pairwise else None
        result[criterion] = entry
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ratings", type=Path, help="CSV: path,rater,readability,palette")
    parser.add_argument("metrics", type=Path, help="JSON from eval/compare_folders.py --json")
    parser.add_argument("--metric", default="lpips", help="metric key in each pair (default: lpips)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    try:
        ratings = read_ratings(args.ratings)
    except ValueError as exc:
        parser.error(str(exc))
    pairs = json.loads(args.metrics.read_text(encoding="utf-8"))["pairs"]
    metric = {p["path"]: p[args.metric] for p in pairs if isinstance(p.get(args.metric), (int, float))}
    if not metric:
        print(f"no image has a value for metric {args.metric!r} in {args.metrics}", file=sys.stderr)
        return 2
    result = {"metric": args.metric, "criteria": correlate(ratings, metric)}
    if args.json:
        print(dump_json(result), end="")
        return 0
    print(f"metric: {args.metric}")
    for criterion, entry in result["criteria"].items():
        stats = ", ".join(f"{k}={v}" for k, v in entry.items())
        print(f"  {criterion}: {stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
