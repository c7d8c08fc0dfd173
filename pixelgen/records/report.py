"""The static HTML build report (``report.html``).

Rendered from ``pixelgen/templates/report.html.j2`` by Jinja2 with
autoescaping, so asset ids, prompts and messages are always text, never markup.
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

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np

from pixelgen.quality.gates import GateViolation, SkippedGate

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
    poses: Mapping[str, str] = field(default_factory=dict)
    """``data:`` URIs of the pose (OpenPose drawing) each frame was rendered in, by the frame's path."""


@dataclass(frozen=True)
class ReportTraining:
    """What the report shows for one trained LoRA: its loss curve, validation grid and scores."""

    lora: str
    key: str
    images: int
    steps: int
    seconds: float | None
    metrics: dict[str, Any]
    losses: list[float]
    validation: list[dict[str, Any]] = field(default_factory=list)  # per prompt: prompt, "with"/"without" scores
    grid: str | None = None  # data: URI of the validation grid (training image | without | with, per prompt)
    history: list[dict[str, Any]] = field(default_factory=list)  # validation summaries by step (validation.every)

    def loss_points(self, width: int = 480, height: int = 120, most: int = 480) -> str:
        """The loss curve as SVG polyline points (binned to at most ``most`` points)."""
        losses = np.asarray(self.losses, dtype=np.float64)
        if losses.size < 2:
            return ""
        bins = np.array_split(losses, min(most, losses.size))
        means = np.array([b.mean() for b in bins])
        low, high = float(means.min()), float(means.max())
        span = high - low or 1.0
        xs = np.linspace(0, width, means.size)
        ys = height - (means - low) / span * height
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))


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
    """A ``src`` value (escaped by the template): a data:image URI, or a relative path, percent-encoded."""
    if path.startswith("data:image/"):
        return path
    if "\\" in path or path.startswith("/") or urlsplit(path).scheme or urlsplit(path).netloc:
        raise ValueError(
            f"report image {path!r} must be a relative POSIX path inside the build output "
            "(or a data:image/ URI); absolute paths and URLs would break or leak when the report moves"
        )
    return quote(path, safe="/")


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
    trainings: Sequence[ReportTraining] = (),
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

    status_text = (
        f"FAIL: {len(violations)} quality gate violation{'s' if len(violations) != 1 else ''}"
        if violations
        else "PASS: all quality gates met"
    )
    checked_palettes = [(name, [_hex_color(color, name) for color in colors]) for name, colors in palettes.items()]
    return _template().render(
        title=f"pixelgen report: {manifest_name}",
        css=_CSS,
        status_text=status_text,
        build_summary=[(key, _summary_value(value)) for key, value in build_summary.items()],
        assets=list(assets),
        # *_reason keys explain null metrics: shown as the cell's tooltip, not as columns.
        metric_keys=sorted({k for a in assets for k in a.metrics if not k.endswith("_reason")}),
        failing_by_asset=failing_by_asset,
        failing_by_metric=failing_by_metric,
        violations=violations,
        skipped=skipped,
        palettes=checked_palettes,
        trainings=list(trainings),
        zip_longest=zip_longest,
    ) + "\n"


def _template() -> Any:
    """The page template, autoescaping every value (asset ids, prompts and messages are user text)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    environment = Environment(loader=PackageLoader("pixelgen", "templates"), autoescape=select_autoescape(["html", "j2"]),
                              undefined=StrictUndefined, keep_trailing_newline=False)
    environment.filters.update(
        src=_src,
        dom_id=asset_dom_id,
        metric=format_metric_value,
        tojson_sorted=lambda value: json.dumps(value, sort_keys=True),
    )
    # The CSS is this module's constant, not user text.
    environment.globals["css_markup"] = Markup
    return environment.get_template("report.html.j2")

