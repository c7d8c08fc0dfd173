"""Tests for pixelgen.records.report: the DOM contract, escaping, and a real headless-browser render."""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from pixelgen.quality.gates import evaluate_gates
from pixelgen.quality.scores import (
    animation_metrics,
    combine_metrics,
    pixel_metrics,
    reference_metrics,
    seam_metrics,
)
from pixelgen.records.report import (
    ReportAsset,
    asset_dom_id,
    format_metric_value,
    png_data_uri,
    render_report,
    tile_grid,
)

BODY = (230, 120, 20)  # orange: no CSS colour of the report is near it
GREEN = (40, 180, 60)
INK = (20, 20, 30)
PALETTE = np.array([BODY, GREEN, INK], dtype=np.uint8)
THRESHOLDS = {"max_colors": 2, "max_orphan_pixels": 0, "max_seam_error": 1.5, "min_ssim_vs_previous": 0.99}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """Just enough DOM: every start tag with its attributes and its text content."""

    VOID = {"img", "meta", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if self._open:
            self._open[-1].children.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def parse(page: str) -> list[Element]:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.elements


def find(elements: list[Element], tag: str | None = None, **attrs: str) -> list[Element]:
    return [
        e
        for e in elements
        if (tag is None or e.tag == tag) and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
    ]


# --------------------------------------------------------------------------- fixtures


def sprite(colour: tuple[int, int, int] = BODY, *, speck: bool = False) -> np.ndarray:
    image = np.zeros((16, 16, 4), dtype=np.uint8)
    image[3:13, 4:12] = (*colour, 255)
    image[3, 4:12] = (*INK, 255)
    if speck:
        image[0, 15] = (*GREEN, 255)
    return image


def gradient_tile() -> np.ndarray:
    tile = np.zeros((8, 8, 4), dtype=np.uint8)
    tile[..., 1] = (np.arange(8) * 30)[None, :]
    tile[..., 3] = 255
    return tile


def write_png(root: Path, rel: str, image: np.ndarray) -> str:
    from PIL import Image

    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return rel


def build_page(root: Path) -> tuple[str, list[ReportAsset], list]:
    """A report over real PNG/GIF files: a changed sprite, a seamless tile, an animation."""
    from PIL import Image

    hero, hero_before = sprite(speck=True), sprite(GREEN)
    tile = gradient_tile()
    frames = [np.roll(sprite(), shift, axis=1) for shift in range(3)]
    write_png(root, "sprites/hero <1>.png", hero)
    write_png(root, "previous/sprites/hero <1>.png", hero_before)
    write_png(root, "tiles/grass.png", tile)
    write_png(root, "anim/walk_0.png", frames[0])
    Image.fromarray(frames[0]).save(
        root / "anim" / "walk.gif", save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]], loop=0
    )

    metrics = {
        'hero <b>"&': combine_metrics(
            pixel=pixel_metrics(hero, palette=PALETTE, outline_color=INK),
            vs_previous=reference_metrics(hero, hero_before),
        ),
        "tiles/grass": combine_metrics(pixel=pixel_metrics(tile, palette=PALETTE), seam=seam_metrics(tile)),
        "walk": combine_metrics(pixel=pixel_metrics(frames[0], palette=PALETTE), animation=animation_metrics(frames)),
    }
    violations, skipped = [], []
    for asset_id, m in metrics.items():
        result = evaluate_gates(asset_id, m, THRESHOLDS)
        violations += result.violations
        skipped += result.skipped
    def embedded(*paths: str) -> dict[str, str]:
        kind = {".png": "png", ".gif": "gif"}
        return {p: f"data:image/{kind[Path(p).suffix]};base64," + base64.b64encode((root / p).read_bytes()).decode() for p in paths}

    assets = [
        ReportAsset('hero <b>"&', "sprite", ["sprites/hero <1>.png"], metrics['hero <b>"&'], True,
                    ["previous/sprites/hero <1>.png"], sources=embedded("sprites/hero <1>.png")),
        ReportAsset("tiles/grass", "tile", ["tiles/grass.png"], metrics["tiles/grass"], False, sources=embedded("tiles/grass.png")),
        ReportAsset("walk", "animation", ["anim/walk_0.png"], metrics["walk"], False,
                    animation_previews=["anim/walk.gif"], sources=embedded("anim/walk_0.png", "anim/walk.gif")),
    ]  # fmt: skip
    page = render_report(
        manifest_name="demo <script>alert(1)</script>",
        assets=assets,
        palettes={"main": ["#c82828", "28B43C", "#14141e"]},
        violations=violations,
        build_summary={"jobs": 3, "cached": 1, "seconds": 1.5},
        skipped=skipped,
    )
    return page, assets, violations


# --------------------------------------------------------------------------- DOM contract


def test_every_asset_and_score_is_addressable(tmp_path: Path) -> None:
    page, assets, violations = build_page(tmp_path)
    elements = parse(page)
    assert_dom_contract(elements, assets, violations)


def assert_dom_contract(elements: list[Element], assets: list[ReportAsset], violations: list) -> None:
    failing = {(v.asset, v.metric) for v in violations}
    assert failing, "fixture should break some gates"
    for asset in assets:
        cards = find(elements, "article", id=asset_dom_id(asset.asset_id))
        assert len(cards) == 1, asset.asset_id
        assert cards[0].attrs["data-asset"] == asset.asset_id
        assert ("failing" in cards[0].attrs["class"]) == any(a == asset.asset_id for a, _ in failing)
        for key, value in asset.metrics.items():
            if key.endswith("_reason"):
                continue
            cells = find(elements, "td", data_asset=asset.asset_id, data_metric=key)
            assert len(cells) == 1, (asset.asset_id, key)
            assert cells[0].text == format_metric_value(value)
            assert ("fail" in cells[0].attrs.get("class", "").split()) == ((asset.asset_id, key) in failing)
    status = find(elements, "p", id="status")[0]
    assert status.attrs["data-violations"] == str(len(violations))
    assert status.text.startswith("FAIL")


def test_page_is_escaped_and_offline(tmp_path: Path) -> None:
    page, _, _ = build_page(tmp_path)
    assert "<script" not in page  # the manifest name is text, not markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page
    assert "http:" not in page and "https:" not in page
    assert "Content-Security-Policy" in page
    elements = parse(page)
    srcs = [e.attrs["src"] for e in elements if e.tag == "img"]
    # Self-contained: every image the page shows is embedded (the previous version, given as a path, is escaped).
    assert "sprites/hero%20%3C1%3E.png" not in srcs
    assert "previous/sprites/hero%20%3C1%3E.png" in srcs  # percent-encoded relative path
    assert sum(s.startswith("data:image/") for s in srcs) == len(srcs) - 1
    assert all(not s.startswith("/") for s in srcs)


def tile_images(element):
    found = [element] if element.tag == "img" else []
    for child in element.children:
        found += tile_images(child)
    return found


def test_previews_tiles_animations_and_palettes(tmp_path: Path) -> None:
    page, _, _ = build_page(tmp_path)
    elements = parse(page)
    hero = find(elements, "article", id=asset_dom_id('hero <b>"&'))[0]
    before_after = [c for c in hero.children if c.attrs.get("data-preview") == "before-after"]
    assert len(before_after) == 1
    assert "before: previous/sprites/hero <1>.png" in before_after[0].text
    tile = find(elements, "article", id=asset_dom_id("tiles/grass"))[0]
    tiling = [c for c in tile.children if c.attrs.get("data-preview") == "tiling"]
    assert len(tiling) == 1
    assert tiling[0].text.startswith("3×3 tiling")
    grid_imgs = [e for e in elements if e.tag == "img" and e.attrs.get("src", "").startswith("data:image/png") and e in tile_images(tile)]
    assert len(grid_imgs) == 2 + 9  # 1× and 4× views plus the 3×3 grid
    walk = find(elements, "article", id=asset_dom_id("walk"))[0]
    assert any(c.attrs.get("data-preview") == "animation" for c in walk.children)
    assert [e.attrs["data-color"] for e in find(elements, "li", **{"class": "swatch"})] == [
        "#c82828",
        "#28b43c",
        "#14141e",
    ]
    # Unchanged assets get no before/after block.
    assert not any(c.attrs.get("data-preview") == "before-after" for c in tile.children)


def test_explicit_tiled_preview_data_uri() -> None:
    tile = gradient_tile()
    grid = tile_grid(tile)
    assert grid.shape == (24, 24, 4)
    assert np.array_equal(grid[8:16, 16:24], tile)
    uri = png_data_uri(grid)
    assert uri.startswith("data:image/png;base64,")
    page = render_report(
        manifest_name="m",
        assets=[ReportAsset("t", "tile", ["t.png"], {"seam_error": 1.0}, False, tiled_preview=uri)],
        palettes={},
        violations=[],
        build_summary={},
    )
    assert uri in page
    assert "PASS" in page
    assert page.count('src="t.png"') == 2  # no CSS grid when a preview is given


def test_asset_dom_ids_are_unique_and_safe() -> None:
    ids = ["a/b", "a_b", "a b", "a_2f_b", "ü"]
    dom_ids = [asset_dom_id(i) for i in ids]
    assert len(set(dom_ids)) == len(ids)
    assert all(d.startswith("asset-") and " " not in d and "/" not in d for d in dom_ids)
    assert asset_dom_id("hero.idle-1") == "asset-hero.idle-1"


def test_bad_inputs_are_rejected() -> None:
    def render(asset: ReportAsset, palettes: dict | None = None) -> str:
        return render_report(
            manifest_name="m", assets=[asset], palettes=palettes or {}, violations=[], build_summary={}
        )

    with pytest.raises(ValueError, match="relative POSIX path"):
        render(ReportAsset("a", "sprite", ["/abs/a.png"], {}, False))
    with pytest.raises(ValueError, match="relative POSIX path"):
        render(ReportAsset("a", "sprite", ["https://example.invalid/a.png"], {}, False))
    with pytest.raises(ValueError, match="relative POSIX path"):
        render(ReportAsset("a", "sprite", ["javascript:alert(1)"], {}, False))
    with pytest.raises(ValueError, match="not #RRGGBB"):
        render(ReportAsset("a", "sprite", [], {}, False), {"p": ["red; background:url(x)"]})
    with pytest.raises(ValueError, match="appears twice"):
        render_report(
            manifest_name="m",
            assets=[ReportAsset("a", "s", [], {}, False)] * 2,
            palettes={},
            violations=[],
            build_summary={},
        )
    with pytest.raises(TypeError):
        png_data_uri(np.zeros((2, 2, 4), dtype=np.float32))


def test_format_metric_value() -> None:
    assert format_metric_value(None) == "—"
    assert format_metric_value(3) == "3"
    assert format_metric_value(0.745014) == "0.745"
    assert format_metric_value(1.0) == "1"
    assert format_metric_value(20.852342) == "20.8523"
    assert format_metric_value(-0.00001) == "0"
    assert format_metric_value(True) == "yes"


# --------------------------------------------------------------------------- real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--window-size=1200,900",
]


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium) - browser render not tested"
)
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    from PIL import Image

    site = tmp_path / "build"
    page, assets, violations = build_page(site)
    report = site / "report.html"
    report.write_text(page, encoding="utf-8")
    common = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]

    dom = subprocess.run(
        [*common, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert_dom_contract(parse(dom), assets, violations)

    shot = tmp_path / "shot.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=60, check=True
    )
    assert shot.is_file()
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (900, 1200, 3)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, "screenshot is blank"
    # The sprites really loaded: at 4× a sprite pixel is a 4×4 block, so the
    # hero's orange body (8×9 pixels, plus its 1× copy) covers well over 900 screen pixels.
    body = np.all(np.abs(pixels.astype(int) - BODY) <= 3, axis=2).sum()
    assert body >= 8 * 9 * 16, f"only {body} body-coloured pixels: sprite images did not render"


def test_trained_loras_show_their_loss_curve_grid_and_scores() -> None:
    from pixelgen.records.report import ReportTraining

    training = ReportTraining(
        lora="house", key="f" * 64, images=12, steps=4, seconds=1.5, metrics={"final_loss": 0.5, "ssim_gain": None},
        losses=[1.0, 0.8, 0.9, 0.5], grid=png_data_uri(np.zeros((4, 12, 3), np.uint8)),
        validation=[{"prompt": "a <slime>", "with": {"ssim": 0.5, "psnr": 12.0, "palette_distance": 3.0},
                     "without": {"ssim": 0.4, "psnr": 11.0, "palette_distance": 4.0}}],
    )
    assert training.loss_points(width=300, height=100).split() == ["0.0,0.0", "100.0,40.0", "200.0,20.0", "300.0,100.0"]
    page = render_report(manifest_name="m", assets=[], palettes={}, violations=[], build_summary={}, trainings=[training])
    elements = parse(page)
    (article,) = find(elements, "article", data_lora="house")
    assert find(elements, "dd", data_lora="house", data_metric="final_loss")[0].text == format_metric_value(0.5)
    assert len(find(elements, "polyline")) == 1 and len(find(elements, "img", **{"class": "pixel validation-grid"})) == 1
    assert "a &lt;slime&gt;" in page and "<slime>" not in page
    assert 'id="trainings"' not in render_report(manifest_name="m", assets=[], palettes={}, violations=[], build_summary={})
