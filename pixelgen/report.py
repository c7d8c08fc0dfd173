"""The static HTML build report (``report.html``).

One self-contained page, no scripts, no network: CSS is inline and every
image is an inline ``data:`` URI (``ReportAsset.sources``), so the page can be
mailed or attached to a CI run on its own. A Content-Security-Policy forbids
every fetch except data URIs.

DOM contract (tests and tools rely on it):

* every asset card is ``<article class="asset" id="{asset_dom_id(id)}" data-asset="{id}">``;
* every score cell is ``<td data-asset="{id}" data-metric="{key}" data-value="{json}">``,
  with class ``fail`` when a gate on that metric failed for that asset;
* the overall status is ``<p id="status" data-violations="{n}">``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np

from pixelgen.gates import GateViolation, SkippedGate

_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_ID_SAFE = re.compile(r"[A-Za-z0-9.-]")


@dataclass(frozen=True)
class ReportAsset:
    """What the report shows for one asset. Paths are relative to ``report.html``."""

    asset_id: str
    kind: str
    files: list[str]
    metrics: dict[str, Any]
    changed: bool
    previous_files: list[str] | None = None
    tiled_preview: str | None = None
    animation_previews: list[str] = field(default_factory=list)
    sources: Mapping[str, str] = field(default_factory=dict)
    """``data:`` URIs of the files above by path, so the page needs no other file."""


def asset_dom_id(asset_id: str) -> str:
    """A stable, unique HTML id for an asset: ``asset-`` plus the id with unsafe characters escaped.

    Characters other than ASCII letters, digits, ``.`` and ``-`` become
    ``_<hex code point>_`` (``_`` included), so two different asset ids never
    share a DOM id.
    """
    return "asset-" + "".join(c if _ID_SAFE.fullmatch(c) else f"_{ord(c):x}_" for c in asset_id)


def format_metric_value(value: Any) -> str:
    """How a metric reads in the scores table (plain text, not yet escaped)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def png_data_uri(image: np.ndarray) -> str:
    """Encode an RGBA/RGB uint8 image as a ``data:image/png;base64,…`` URI (in memory)."""
    import base64
    import io

    from PIL import Image

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("image must be a uint8 numpy array")
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be H×W×4 RGBA or H×W×3 RGB, got shape {image.shape}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tile_grid(tile: np.ndarray, *, repeat: int = 3) -> np.ndarray:
    """``repeat``×``repeat`` copies of a tile side by side, to eyeball its seams."""
    if not isinstance(tile, np.ndarray) or tile.dtype != np.uint8:
        raise TypeError("tile must be a uint8 numpy array")
    if tile.ndim != 3 or tile.shape[2] not in (3, 4):
        raise ValueError(f"tile must be H×W×4 RGBA or H×W×3 RGB, got shape {tile.shape}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    return np.tile(tile, (repeat, repeat, 1))


def _src(path: str) -> str:
    """An escaped ``src`` value: a data:image URI or a relative path (percent-encoded)."""
    if path.startswith("data:image/"):
        return html.escape(path, quote=True)
    if "\\" in path or path.startswith("/") or urlsplit(path).scheme or urlsplit(path).netloc:
        raise ValueError(
            f"report image {path!r} must be a relative POSIX path inside the build output "
            "(or a data:image/ URI); absolute paths and URLs would break or leak when the report moves"
        )
    return html.escape(quote(path, safe="/"), quote=True)


def _hex_color(value: str, palette: str) -> str:
    if not isinstance(value, str) or not _HEX_COLOR.match(value):
        raise ValueError(f"palette {palette!r}: colour {value!r} is not #RRGGBB or #RRGGBBAA hex")
    return "#" + value.lstrip("#").lower()


_CSS = """
:root { color-scheme: light; --fail: #c62828; --pass: #2e7d32; --line: #d0d0d0; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 48px; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 22px; margin: 20px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 0 0 6px; word-break: break-all; }
h4 { font-size: 12px; margin: 12px 0 4px; color: #444; }
nav a { margin-right: 14px; }
.status { display: inline-block; padding: 4px 10px; border-radius: 4px; color: #fff; font-weight: 600; }
.status.pass { background: var(--pass); }
.status.fail { background: var(--fail); }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 10px 0; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.palette ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px; padding: 0; margin: 0 0 12px; }
.swatch { width: 56px; font: 10px ui-monospace, monospace; text-align: center; }
.swatch span { display: block; height: 32px; border: 1px solid #0003; border-radius: 3px; }
.sheet { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
.asset { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px; max-width: 100%; }
.asset.failing { border: 2px solid var(--fail); }
.asset .kind { color: #666; margin: 0 0 6px; font-size: 12px; }
.asset .changed { color: #8a5a00; font-weight: 600; }
.views { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; }
figure { margin: 0; }
figcaption { font-size: 11px; color: #555; word-break: break-all; max-width: 280px; }
.frame { width: fit-content; overflow: auto; max-width: 560px; max-height: 560px; line-height: 0;
  /* checkerboard so transparent pixels read as transparent */
  background: repeating-conic-gradient(#ddd 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
img { image-rendering: pixelated; image-rendering: crisp-edges; }
img.x4 { zoom: 4; }
img.x2 { zoom: 2; }
.tiling .grid { display: grid; grid-template-columns: repeat(3, max-content); gap: 0; line-height: 0; }
.before-after { display: flex; gap: 10px; align-items: flex-end; }
.gate-failures { color: var(--fail); margin: 6px 0 0; padding-left: 18px; font-size: 12px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-size: 12px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: right; white-space: nowrap; }
th:first-child, td.text { text-align: left; }
thead th { background: #eee; position: sticky; top: 0; text-align: left; }
td.fail { background: #ffebee; color: var(--fail); font-weight: 700; }
td.null { color: #999; }
"""


def _attr(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=False)


def _image_figure(src: str, caption: str, *, zoom: str = "x4") -> str:
    return (
        f'<figure><div class="frame"><img class="{zoom}" src="{_src(src)}" alt="{_attr(caption)}"></div>'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


def _asset_card(asset: ReportAsset, failures: Sequence[GateViolation]) -> str:
    classes = "asset failing" if failures else "asset"
    parts = [
        f'<article class="{classes}" id="{asset_dom_id(asset.asset_id)}" '
        f'data-asset="{_attr(asset.asset_id)}" data-kind="{_attr(asset.kind)}">',
        f"<h3>{_text(asset.asset_id)}</h3>",
        f'<p class="kind">{_text(asset.kind)}'
        + (' · <span class="changed">changed</span>' if asset.changed else "")
        + "</p>",
        '<div class="views">',
    ]
    def source(path: str) -> str:
        return asset.sources.get(path, path)

    for path in asset.files:
        parts.append(_image_figure(source(path), f"{path} (1×)", zoom="x1"))
        parts.append(_image_figure(source(path), f"{path} (4×)"))
    parts.append("</div>")

    if asset.tiled_preview is not None:
        parts.append(
            '<div class="tiling" data-preview="tiling"><h4>3×3 tiling</h4>'
            + _image_figure(source(asset.tiled_preview), "tiled preview", zoom="x2")
            + "</div>"
        )
    elif asset.metrics.get("seam_error") is not None and asset.files:
        # Seamless tile without a rendered preview: let the browser lay the
        # tile out 3×3, which needs no knowledge of its size.
        cell = f'<img class="x2" src="{_src(source(asset.files[0]))}" alt="">'
        parts.append(
            '<div class="tiling" data-preview="tiling"><h4>3×3 tiling</h4>'
            f'<div class="frame"><div class="grid">{cell * 9}</div></div></div>'
        )

    if asset.animation_previews:
        parts.append('<div class="animations" data-preview="animation"><h4>Animation</h4><div class="views">')
        # The GIF previews are already enlarged 4× when packed.
        parts.extend(_image_figure(source(path), path, zoom="x1") for path in asset.animation_previews)
        parts.append("</div></div>")

    if asset.changed and asset.previous_files:
        parts.append('<div class="comparison" data-preview="before-after"><h4>Before / after</h4>')
        for before, after in zip_longest(asset.previous_files, asset.files):
            parts.append('<div class="before-after">')
            parts.append(_image_figure(before, "before" if before.startswith("data:") else f"before: {before}") if before else "<figure>(new)</figure>")
            parts.append(_image_figure(source(after), f"after: {after}") if after else "<figure>(removed)</figure>")
            parts.append("</div>")
        parts.append("</div>")

    if failures:
        parts.append('<ul class="gate-failures">')
        parts.extend(f"<li>{_text(v.message)}</li>" for v in failures)
        parts.append("</ul>")
    parts.append("</article>")
    return "\n".join(parts)


def _scores_table(assets: Sequence[ReportAsset], failing: Mapping[tuple[str, str], list[GateViolation]]) -> str:
    # *_reason keys explain null metrics: shown as the cell's tooltip, not as columns.
    keys = sorted({k for a in assets for k in a.metrics if not k.endswith("_reason")})
    head = "".join(f'<th data-metric="{_attr(k)}">{_text(k)}</th>' for k in keys)
    rows = []
    for asset in assets:
        cells = [f'<th><a href="#{asset_dom_id(asset.asset_id)}">{_text(asset.asset_id)}</a></th>']
        for key in keys:
            value = asset.metrics.get(key)
            classes = []
            title = ""
            broken = failing.get((asset.asset_id, key))
            if broken:
                classes.append("fail")
                title = "; ".join(v.message for v in broken)
            elif value is None:
                classes.append("null")
                title = str(asset.metrics.get(f"{key}_reason") or "not computed")
            if isinstance(value, str):
                classes.append("text")
            cells.append(
                f'<td data-asset="{_attr(asset.asset_id)}" data-metric="{_attr(key)}" '
                f'data-value="{_attr(json.dumps(value, sort_keys=True))}"'
                + (f' class="{" ".join(classes)}"' if classes else "")
                + (f' title="{_attr(title)}"' if title else "")
                + f">{_text(format_metric_value(value))}</td>"
            )
        rows.append(f'<tr data-asset="{_attr(asset.asset_id)}">' + "".join(cells) + "</tr>")
    return (
        '<div class="scroll"><table class="scores"><thead><tr><th>asset</th>'
        + head
        + "</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _gates_section(violations: Sequence[GateViolation], skipped: Sequence[SkippedGate]) -> str:
    parts = ['<section id="gates"><h2>Quality gates</h2>']
    if violations:
        parts.append(
            '<table class="violations"><thead><tr><th>asset</th><th>gate</th><th>metric</th>'
            "<th>value</th><th>threshold</th><th>message</th></tr></thead><tbody>"
        )
        for v in violations:
            parts.append(
                f'<tr data-asset="{_attr(v.asset)}" data-gate="{_attr(v.gate)}">'
                f'<td class="text"><a href="#{asset_dom_id(v.asset)}">{_text(v.asset)}</a></td>'
                f'<td class="text">{_text(v.gate)}</td><td class="text">{_text(v.metric)}</td>'
                f"<td>{_text(format_metric_value(v.value))}</td>"
                f"<td>{_text(format_metric_value(v.threshold))}</td>"
                f'<td class="text">{_text(v.message)}</td></tr>'
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>Every asset passes its quality gates.</p>")
    if skipped:
        parts.append("<h3>Skipped gates</h3><ul>")
        parts.extend(
            f'<li data-asset="{_attr(s.asset)}" data-gate="{_attr(s.gate)}">'
            f"{_text(s.asset)}: {_text(s.gate)}: {_text(s.reason)}</li>"
            for s in skipped
        )
        parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _summary_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_metric_value(value)
    return json.dumps(value, sort_keys=True)


def render_report(
    *,
    manifest_name: str,
    assets: Sequence[ReportAsset],
    palettes: Mapping[str, list[str]],
    violations: Iterable[GateViolation],
    build_summary: Mapping[str, Any],
    skipped: Iterable[SkippedGate] = (),
) -> str:
    """The whole ``report.html`` as a string (write it with ``fsutil.write_text_atomic``).

    ``palettes`` maps a palette name to ``#RRGGBB`` colours; ``build_summary``
    is shown as a key/value list (values JSON-encoded unless strings or
    numbers). Raises ``ValueError`` on duplicate asset ids, a bad colour or
    an image path that is not relative.
    """
    violations = list(violations)
    skipped = list(skipped)
    seen: set[str] = set()
    for asset in assets:
        if asset.asset_id in seen:
            raise ValueError(f"asset id {asset.asset_id!r} appears twice in the report")
        seen.add(asset.asset_id)

    failing_by_metric: dict[tuple[str, str], list[GateViolation]] = {}
    failing_by_asset: dict[str, list[GateViolation]] = {}
    for v in violations:
        failing_by_metric.setdefault((v.asset, v.metric), []).append(v)
        failing_by_asset.setdefault(v.asset, []).append(v)

    status_class = "fail" if violations else "pass"
    status_text = (
        f"FAIL: {len(violations)} quality gate violation{'s' if len(violations) != 1 else ''}"
        if violations
        else "PASS: all quality gates met"
    )
    summary_rows = "".join(
        f"<dt>{_text(key)}</dt><dd>{_text(_summary_value(value))}</dd>" for key, value in build_summary.items()
    )

    palette_blocks = []
    for name, colors in palettes.items():
        swatches = "".join(
            f'<li class="swatch" data-color="{c}"><span style="background:{c}"></span>{c}</li>'
            for c in (_hex_color(color, name) for color in colors)
        )
        palette_blocks.append(
            f'<div class="palette" data-palette="{_attr(name)}"><h3>{_text(name)} '
            f"({len(colors)} colours)</h3><ul>{swatches}</ul></div>"
        )

    title = f"pixelgen report: {manifest_name}"
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No script, no network: images only from this folder or inline.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f'<header><h1>{_text(title)}</h1><p id="status" class="status {status_class}" '
        f'data-violations="{len(violations)}">{_text(status_text)}</p>',
        f'<dl class="summary" id="summary">{summary_rows}</dl>',
        '<nav><a href="#contact-sheet">Contact sheet</a><a href="#scores">Scores</a>'
        '<a href="#gates">Quality gates</a><a href="#palettes">Palettes</a></nav></header>',
        f'<section id="contact-sheet"><h2>Contact sheet ({len(assets)} assets)</h2><div class="sheet">',
        *(_asset_card(a, failing_by_asset.get(a.asset_id, [])) for a in assets),
        "</div></section>",
        '<section id="scores"><h2>Scores</h2>',
        _scores_table(assets, failing_by_metric) if assets else "<p>No assets.</p>",
        "</section>",
        _gates_section(violations, skipped),
        '<section id="palettes"><h2>Palettes</h2>',
        "\n".join(palette_blocks) or "<p>No palettes.</p>",
        "</section>",
        "</body></html>",
    ]
    return "\n".join(body) + "\n"
