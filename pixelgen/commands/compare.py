"""``pixelgen compare``: a grid of assets across variations of the manifest (an X/Y/Z plot).

Each ``--vary KEY=V1,V2,…`` names a setting of every asset and the values to
try; the grid has one column per combination of values (in the order given,
the first key varying slowest) and one row per image of the selected assets.
Keys: ``model``, ``lora.NAME.weight`` (adds the LoRA where an asset lacks it),
or any asset key, dotted for nested ones (``seed``, ``palette``,
``render.steps``, ``pixelart.dither``, …).

Every cell is an ordinary render + post-process job of a variant of the
manifest, so it is keyed and cached exactly like a build (same store, same
keys: a cell that equals a built asset is not rendered again, and a second
compare renders nothing). Nothing is written to the build outputs or the lock;
the grid goes to ``OUT/<name>/compare/``: ``grid.png``, ``index.html`` with
the scores per cell, and ``compare.json``.
"""

from __future__ import annotations

import copy
import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pixelgen.errors import InputError

CELL = 96  # px: each image is scaled up by a whole factor to fit
GAP = 4
LABEL_HEIGHT = 28  # one header row of column labels
LABEL_WIDTH = 120  # one column of row labels
BACKGROUND = (32, 32, 40, 255)
INK = (235, 235, 235, 255)
SCORE_KEYS = ("palette_compliance", "colors_used", "grid_confidence", "partial_alpha_share", "orphan_pixels", "seam_error")


@dataclass(frozen=True)
class Variation:
    key: str
    values: tuple[Any, ...]


@dataclass
class CompareResult:
    grid: Path
    page: Path
    columns: list[str]
    rows: list[str]
    rendered: int = 0
    cached: int = 0
    cells: list[dict[str, Any]] = field(default_factory=list)


def parse_variation(text: str) -> Variation:
    """``KEY=V1,V2`` → Variation; values read as YAML scalars (0.6 is a number, tiny a name)."""
    import yaml

    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise InputError(f"--vary {text!r}: write KEY=VALUE1,VALUE2, e.g. --vary lora.house.weight=0,0.6,1.2")
    parsed = []
    for raw in values.split(","):
        try:
            parsed.append(yaml.safe_load(raw.strip()))
        except yaml.YAMLError:
            raise InputError(f"--vary {text!r}: {raw!r} is not a value") from None
    if key.startswith("lora.") and (len(key.split(".")) != 3 or not key.endswith(".weight")):
        raise InputError(f"--vary {text!r}: a LoRA is varied as lora.NAME.weight")
    return Variation(key, tuple(parsed))


def _set(asset: dict[str, Any], defaults: dict[str, Any], key: str, value: Any) -> None:
    if key.startswith("lora."):
        name = key.split(".")[1]
        loras = copy.deepcopy(asset.get("loras", defaults.get("loras", [])))
        for use in loras:
            if use.get("name") == name:
                use["weight"] = value
                break
        else:
            loras.append({"name": name, "weight": value})
        asset["loras"] = loras
        return
    *parents, last = key.split(".")
    node = asset
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise InputError(f"--vary {key}: {part!r} is not a mapping in asset {asset.get('id')!r}")
    node[last] = value


def variant_text(data: dict[str, Any], settings: Sequence[tuple[str, Any]]) -> str:
    """The manifest with every asset changed by ``settings`` (key, value)."""
    import yaml

    variant = copy.deepcopy(data)
    defaults = variant.get("defaults", {}) or {}
    for asset in variant.get("assets", []):
        for key, value in settings:
            _set(asset, defaults, key, value)
    return yaml.safe_dump(variant, sort_keys=False, allow_unicode=True)


def column_label(settings: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings)


def grid_size(columns: int, rows: int) -> tuple[int, int]:
    """(width, height) of the grid PNG."""
    return LABEL_WIDTH + columns * (CELL + GAP) + GAP, LABEL_HEIGHT + rows * (CELL + GAP) + GAP


def compare(manifest_path: Path, variations: Sequence[Variation], options: Any, *, assets: Sequence[str] = (),
            make_generator: Any = None) -> CompareResult:
    import yaml

    from pixelgen.commands.build import diffusers_generator_factory
    from pixelgen.core.outputs import manifest_out_dir
    from pixelgen.core.plan import make_plan
    from pixelgen.core.resolve import resolve
    from pixelgen.core.run import Runner
    from pixelgen.core.workspace import DEFAULT_OUT
    from pixelgen.files.hashing import FileDigestCache
    from pixelgen.formats.png import decode_png
    from pixelgen.manifest import load_manifest
    from pixelgen.manifest.edit import load_text

    manifest_path = Path(manifest_path)
    if not variations:
        raise InputError("compare needs at least one --vary KEY=V1,V2")
    base = load_manifest(manifest_path)
    known = [asset.id for asset in base.assets]
    unknown = sorted(set(assets) - set(known))
    if unknown:
        raise InputError(f"--assets names assets the manifest does not have: {', '.join(unknown)} (it has: {', '.join(known)})")
    selected = frozenset(assets) if assets else None
    data = yaml.safe_load(manifest_path.read_text("utf-8"))
    from pixelgen.core.remote_store import cache_location, open_store

    cache_dir, shared_cache = cache_location(manifest_path, options.cache_dir)
    store = open_store(cache_dir, shared_cache)
    digests = FileDigestCache(cache_dir / "file-digests.json")

    combos = [tuple(zip([v.key for v in variations], values)) for values in itertools.product(*(v.values for v in variations))]
    factory = make_generator or diffusers_generator_factory(options)
    generator: list[Any] = []  # one generator for every column: pipelines stay loaded

    class _GeneratorInputs:  # the parts of a Workspace a generator factory reads
        manifest = base
        cache_dir = store.root

    def shared_generator() -> Any:
        if not generator:
            generator.append(factory(_GeneratorInputs()))
        return generator[0]

    columns: list[str] = []
    cells: dict[tuple[str, int], tuple[np.ndarray, dict[str, Any], str]] = {}
    rows: list[str] = []
    result_counts = {"rendered": 0, "cached": 0}
    for column, settings in enumerate(combos):
        variant = load_text(manifest_path, variant_text(data, settings))
        resolved = resolve(variant, digests)
        plan = make_plan(variant, resolved, only=selected)
        runner = Runner(store, shared_generator, resolved, batch_size=options.batch_size)
        run = runner.run(plan, plan.posts)
        if run.failures:
            asset_id, message = next(iter(run.failures.items()))
            raise InputError(f"compare: {column_label(settings)}: {asset_id}: {message}")
        result_counts["rendered"] += run.rendered
        result_counts["cached"] += run.posts_cached
        for post in plan.posts:
            produced = run.produced[post.key]
            if post.output not in rows:
                rows.append(post.output)
            cells[(post.output, column)] = (decode_png(produced.data), produced.meta.get("metrics", {}), post.key)
        columns.append(column_label(settings))
    digests.save()

    out_root = Path(options.out) if options.out else Path(DEFAULT_OUT)
    folder = manifest_out_dir(out_root, base.name) / "compare"
    grid = _grid_image(columns, rows, cells)
    cell_records = [
        {"row": row, "column": columns[c], "job": cells[(row, c)][2],
         "scores": {k: cells[(row, c)][1].get(k) for k in SCORE_KEYS if k in cells[(row, c)][1]}}
        for row in rows for c in range(len(columns)) if (row, c) in cells
    ]
    _write(folder, grid, _page(base.name, columns, rows, cells, [v.key for v in variations]),
           {"manifest": base.name, "vary": [{"key": v.key, "values": list(v.values)} for v in variations],
            "columns": columns, "rows": rows, "cells": cell_records})
    return CompareResult(grid=folder / "grid.png", page=folder / "index.html", columns=columns, rows=rows,
                         rendered=result_counts["rendered"], cached=result_counts["cached"], cells=cell_records)


def _write(folder: Path, grid: np.ndarray, page: str, record: dict[str, Any]) -> None:
    from pixelgen.files.fsutil import dump_json, write_bytes_atomic, write_text_atomic
    from pixelgen.formats.png import encode_png

    data = encode_png(grid)
    target = folder / "grid.png"
    # Same cells, same bytes: leave an unchanged grid alone (no mtime churn for watchers).
    if not (target.is_file() and target.read_bytes() == data):
        write_bytes_atomic(target, data)
    write_text_atomic(folder / "index.html", page)
    write_text_atomic(folder / "compare.json", dump_json(record))


def _fit(image: np.ndarray) -> np.ndarray:
    scale = max(1, CELL // max(image.shape[0], image.shape[1]))
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def _grid_image(columns: list[str], rows: list[str], cells: dict) -> np.ndarray:
    from PIL import Image, ImageDraw

    width, height = grid_size(len(columns), len(rows))
    canvas = Image.new("RGBA", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(columns):
        x = LABEL_WIDTH + GAP + c * (CELL + GAP)
        draw.multiline_text((x, 2), _wrap(label, CELL), fill=INK, spacing=1)
    for r, row in enumerate(rows):
        y = LABEL_HEIGHT + GAP + r * (CELL + GAP)
        draw.multiline_text((4, y + 2), _wrap(row, LABEL_WIDTH - 8), fill=INK, spacing=1)
        for c in range(len(columns)):
            if (row, c) not in cells:
                continue
            tile = Image.fromarray(_fit(cells[(row, c)][0]))
            x = LABEL_WIDTH + GAP + c * (CELL + GAP)
            offset = ((CELL - tile.width) // 2, (CELL - tile.height) // 2)
            canvas.alpha_composite(tile.convert("RGBA"), (x + offset[0], y + offset[1]))
    return np.asarray(canvas, dtype=np.uint8)


def _wrap(text: str, width_px: int) -> str:
    per_line = max(4, width_px // 6)  # Pillow's default bitmap font is ~6 px per character
    parts = [text[i:i + per_line] for i in range(0, len(text), per_line)]
    return "\n".join(parts[:2])


def _page(name: str, columns: list[str], rows: list[str], cells: dict, keys: list[str]) -> str:
    from pixelgen.records.report import png_data_uri

    head = "".join(f"<th scope=col>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        tds = []
        for c in range(len(columns)):
            if (row, c) not in cells:
                tds.append("<td></td>")
                continue
            image, scores, key = cells[(row, c)]
            listed = "".join(f"<div><dt>{html.escape(k)}</dt><dd>{_score(scores[k])}</dd></div>" for k in SCORE_KEYS if k in scores)
            tds.append(f'<td><img src="{png_data_uri(image)}" alt="{html.escape(row)} at {html.escape(columns[c])}" '
                       f'width="{image.shape[1] * 4}" height="{image.shape[0] * 4}" title="job {key[:12]}"><dl>{listed}</dl></td>')
        body.append(f"<tr><th scope=row>{html.escape(row)}</th>{''.join(tds)}</tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)}: compare {html.escape(', '.join(keys))}</title>
<style>
body {{ font: 14px system-ui, sans-serif; background: #1e1e26; color: #eee; margin: 1.5rem; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #444; padding: .4rem; vertical-align: top; text-align: center; }}
img {{ image-rendering: pixelated; background: repeating-conic-gradient(#555 0 25%, #333 0 50%) 0 0 / 16px 16px; }}
dl {{ margin: .3rem 0 0; font-size: 12px; text-align: left; }} dl div {{ display: flex; justify-content: space-between; gap: .6rem; }}
dt {{ color: #aaa; }} dd {{ margin: 0; font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>{html.escape(name)}: {html.escape(' × '.join(keys))}</h1>
<table><thead><tr><th></th>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table></body></html>
"""


def _score(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))
