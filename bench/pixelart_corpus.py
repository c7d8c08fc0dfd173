"""Seeded corpus of synthetic "pseudo pixel art" renders with ground truth.

Each case is a procedural sprite (the truth: one pixel per cell, RGBA, few
colours) degraded the way an SDXL pixel-art LoRA render is:

* upscaled by a cell size of 4-16 px, usually non-integer, with a random
  phase and per-line jitter (uneven cell widths),
* per-cell colour jitter, a near-flat background with a faint gradient,
* slight Gaussian blur (soft, anti-aliased edges), Gaussian noise,
* a JPEG round-trip (Pillow), and for RGBA cases a soft (blurred) alpha.

Geometry convention (shared with ``detect_grid``): the render holds
``n = round(W / cell)`` cells; the slack ``W - n * cell`` (under half a cell)
is split between the two borders. Positive slack leaves background slivers
narrower than half a cell (not cells); negative slack crops the border cells
to more than half a cell (still cells). So the truth is always ``n`` cells.

Everything is a pure function of ``(seed, index, render_size)``.
Run ``python bench/pixelart_corpus.py --n 4 --out DIR`` to dump PNGs to look at.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pixelgen.pixelart.color import srgb_to_oklab


@dataclass(frozen=True)
class Case:
    name: str
    render: np.ndarray  # uint8 (H, W, 3) or (H, W, 4)
    truth: np.ndarray  # uint8 (h, w, 4), one pixel per cell
    palette: np.ndarray  # (N, 3) uint8, every opaque truth colour
    cell: float
    phase: tuple[float, float]
    background: str  # pixelize option: "transparent" or "keep"
    params: dict = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.truth.shape[1]), int(self.truth.shape[0]))


def _random_palette(rng: np.random.Generator, count: int) -> np.ndarray:
    """Colours at least 0.1 apart in OKLab, so the truth is unambiguous after noise."""
    colours: list[np.ndarray] = []
    labs: list[np.ndarray] = []
    attempts = 0
    threshold = 0.12
    while len(colours) < count:
        attempts += 1
        if attempts % 400 == 0:
            threshold *= 0.9
        candidate = rng.integers(0, 256, 3, dtype=np.uint8)
        lab = srgb_to_oklab(candidate)
        if all(float(np.linalg.norm(lab - other)) >= threshold for other in labs):
            colours.append(candidate)
            labs.append(lab)
    palette = np.stack(colours)
    order = np.argsort(srgb_to_oklab(palette)[:, 0], kind="stable")  # dark -> light
    return palette[order]


def _blob_mask(rng: np.random.Generator, h: int, w: int, symmetric: bool) -> np.ndarray:
    from scipy.ndimage import binary_fill_holes, gaussian_filter, label

    noise = gaussian_filter(rng.normal(size=(h, w)), sigma=max(h, w) / 10.0)
    yy, xx = np.mgrid[0:h, 0:w]
    falloff = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
    field_ = noise / (noise.std() + 1e-9) - 2.2 * falloff
    if symmetric:
        field_ = (field_ + field_[:, ::-1]) / 2
    mask = field_ > np.quantile(field_, 0.55)
    labels, count = label(mask)
    if count > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        mask = labels == int(np.argmax(sizes))
    return binary_fill_holes(mask)


def make_sprite(
    rng: np.random.Generator, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Procedural sprite: outlined, shaded blobs with single-pixel details.

    Returns (truth RGBA, palette, transparent_background).
    """
    from scipy.ndimage import binary_dilation, binary_erosion

    n_colours = int(rng.integers(4, 17))
    palette = _random_palette(rng, n_colours)
    transparent = bool(rng.random() < 0.5)
    # palette[0] is the darkest: the outline. The lightest that is not used by
    # the body serves as a flat background in opaque cases.
    background_index = n_colours - 1
    body_indices = np.arange(1, n_colours - (0 if transparent else 1))
    if body_indices.size == 0:
        body_indices = np.array([1])
    truth_index = np.full(
        (ny, nx), -1 if transparent else background_index, dtype=np.int64
    )
    margin = 2
    n_objects = int(rng.integers(1, 4))
    for _ in range(n_objects):
        bw = int(rng.integers(max(8, nx // 4), max(9, nx - 2 * margin)))
        bh = int(rng.integers(max(8, ny // 4), max(9, ny - 2 * margin)))
        x0 = int(rng.integers(margin, max(margin + 1, nx - margin - bw + 1)))
        y0 = int(rng.integers(margin, max(margin + 1, ny - margin - bh + 1)))
        bw = min(bw, nx - margin - x0)
        bh = min(bh, ny - margin - y0)
        mask = np.zeros((ny, nx), dtype=bool)
        mask[y0 + 1 : y0 + bh - 1, x0 + 1 : x0 + bw - 1] = _blob_mask(
            rng, bh - 2, bw - 2, symmetric=bool(rng.random() < 0.5)
        )
        if not mask.any():
            continue
        # Shading: a ramp of up to 4 body colours by depth from the top-left light.
        ramp = rng.choice(body_indices, size=min(4, body_indices.size), replace=False)
        yy, xx = np.mgrid[0:ny, 0:nx]
        light = (yy - y0) / max(bh, 1) + (xx - x0) / max(bw, 1)
        band = np.clip((light * len(ramp) / 2.0).astype(int), 0, len(ramp) - 1)
        # Interior highlight rim one cell inside the silhouette.
        inner = binary_erosion(mask)
        rim = mask & ~binary_erosion(inner)
        object_index = ramp[band]
        object_index = np.where(rim & ~inner, ramp[-1], object_index)
        # Dithered region: a checkerboard of two ramp colours.
        if rng.random() < 0.5 and len(ramp) >= 2:
            checker = ((yy + xx) % 2 == 0) & (band == 0)
            object_index = np.where(checker & inner, ramp[1], object_index)
        truth_index = np.where(inner, object_index, truth_index)
        outline = binary_dilation(inner) & ~inner
        truth_index = np.where(outline, 0, truth_index)
        # Single-pixel details (eyes, sparkles) strictly inside.
        deep = binary_erosion(inner, iterations=2)
        spots = np.argwhere(deep)
        if spots.size:
            for y, x in spots[
                rng.choice(
                    len(spots),
                    size=min(len(spots), int(rng.integers(2, 12))),
                    replace=False,
                )
            ]:
                truth_index[y, x] = int(
                    rng.choice(np.arange(n_colours - (0 if transparent else 1)))
                )
    truth = np.zeros((ny, nx, 4), dtype=np.uint8)
    opaque = truth_index >= 0
    truth[opaque, :3] = palette[truth_index[opaque]]
    truth[opaque, 3] = 255
    used = np.unique(truth_index[opaque])
    return truth, palette[used], transparent


def _cell_edges(
    rng: np.random.Generator, length: int, n: int, cell: float, jitter: float
) -> np.ndarray:
    """Integer cut positions of n cells over ``length`` pixels (see module doc)."""
    slack = length - n * cell
    phase = rng.uniform(min(0.0, slack), max(0.0, slack)) if slack != 0 else 0.0
    lines = phase + cell * np.arange(n + 1)
    if jitter > 0:
        lines[1:-1] += np.clip(
            rng.normal(0.0, jitter * cell, n - 1), -0.2 * cell, 0.2 * cell
        )
    return np.floor(lines + 0.5).astype(np.int64), phase


def _upscale(
    truth: np.ndarray,
    edges_x: np.ndarray,
    edges_y: np.ndarray,
    w: int,
    h: int,
    fill: np.ndarray,
) -> np.ndarray:
    """Nearest upscale along integer cuts; pixels outside all cells get ``fill``."""
    col = np.searchsorted(edges_x, np.arange(w), side="right") - 1
    row = np.searchsorted(edges_y, np.arange(h), side="right") - 1
    inside_x = (col >= 0) & (col < truth.shape[1])
    inside_y = (row >= 0) & (row < truth.shape[0])
    out = truth[
        np.clip(row, 0, truth.shape[0] - 1)[:, None],
        np.clip(col, 0, truth.shape[1] - 1)[None, :],
    ].copy()
    outside = ~(inside_y[:, None] & inside_x[None, :])
    out[outside] = fill
    return out


# Harder settings than the corpus the detector was first written with, for a
# held-out check: "small" is 4-px cells with blur and JPEG; "hard" adds
# stronger blur and compression, crops and non-square canvases.
PROFILES = ("standard", "small", "hard")


def make_case(seed: int, index: int, *, render_size: int = 1024, profile: str = "standard") -> Case:
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    rng = np.random.default_rng([seed, index] if profile == "standard" else [seed, index, PROFILES.index(profile)])
    width = render_size
    height = (
        render_size
        if rng.random() < 0.75
        else int(render_size * rng.choice([0.75, 0.625]))
    )
    if profile == "hard":
        # Non-square canvases either way, and a crop: any aspect 0.5-1.5.
        width, height = render_size, int(render_size * rng.uniform(0.5, 1.0))
        if rng.random() < 0.5:
            width, height = height, width
    cell = float(rng.choice([rng.integers(4, 17), rng.uniform(4.0, 16.0)]))
    if profile == "small":
        cell = 4.0
    nx = round(width / cell)
    ny = round(height / cell)
    truth, palette, transparent = make_sprite(rng, nx, ny)
    jitter = float(rng.choice([0.0, 0.05, 0.1]))
    edges_x, phase_x = _cell_edges(rng, width, nx, cell, jitter)
    edges_y, phase_y = _cell_edges(rng, height, ny, cell, jitter)

    # Per-cell colour jitter, then the background colour for transparent truth.
    cells = truth.astype(np.float32)
    cells[..., :3] += rng.normal(0.0, float(rng.uniform(1.0, 5.0)), size=(ny, nx, 3))
    rgba_render = transparent and rng.random() < 0.4
    if transparent and not rgba_render:
        # A flat backdrop far from the outline colour (palette is sorted dark->light,
        # the outline is the darkest), like the plain studio background SDXL paints.
        backdrop = (
            np.array([235.0, 235.0, 235.0])
            if srgb_to_oklab(palette[0])[0] < 0.6
            else np.array([20.0, 20.0, 20.0])
        )
        backdrop += rng.normal(0, 6, 3)
        see_through = truth[..., 3] == 0
        cells[see_through, :3] = backdrop
        cells[see_through, 3] = 255
        fill = np.append(backdrop, 255.0)
    elif transparent:
        fill = np.array([0, 0, 0, 0], dtype=np.float32)
    else:
        fill = cells[0, 0].copy()
    render = _upscale(cells, edges_x, edges_y, width, height, fill.astype(np.float32))

    # Near-flat background: a faint gradient over the whole render.
    gradient = np.linspace(-1.0, 1.0, width)[None, :, None] * float(rng.uniform(0, 4))
    render[..., :3] += gradient.astype(np.float32)
    blur = float(rng.uniform(0.3, 1.0) if profile == "standard" else rng.uniform(0.6, 1.2) if profile == "hard" else rng.uniform(0.5, 0.9))
    render[..., :3] = gaussian_filter(render[..., :3], sigma=(blur, blur, 0))
    if rgba_render:
        render[..., 3] = gaussian_filter(
            render[..., 3], sigma=float(rng.uniform(0.7, 2.0))
        )
        # Colour under soft alpha bleeds from the sprite like a matting model's output.
    noise_sigma = float(rng.uniform(1.0, 4.0))
    render[..., :3] += rng.normal(0.0, noise_sigma, size=render[..., :3].shape).astype(
        np.float32
    )
    render8 = np.clip(np.rint(render), 0, 255).astype(np.uint8)
    quality = int(rng.integers(75, 96) if profile == "standard" else rng.integers(60, 86))
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(render8[..., :3])).save(
        buffer, format="JPEG", quality=quality
    )
    rgb = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    if rgba_render:
        final = np.concatenate([rgb, render8[..., 3:4]], axis=2)
    else:
        final = np.ascontiguousarray(rgb)
    return Case(
        name=f"s{seed}-{index:04d}" if profile == "standard" else f"{profile}-s{seed}-{index:04d}",
        render=final,
        truth=truth,
        palette=palette,
        cell=cell,
        phase=(float(phase_x), float(phase_y)),
        background="transparent" if (transparent and not rgba_render) else "keep",
        params={
            "cell": round(cell, 3),
            "jitter": jitter,
            "blur": round(blur, 3),
            "noise": round(noise_sigma, 3),
            "jpeg_quality": quality,
            "rgba_render": bool(rgba_render),
            "transparent": transparent,
            "colours": len(palette),
            "render": [width, height],
        },
    )


def generate(n: int, *, seed: int = 0, render_size: int = 1024, profile: str = "standard"):
    """Yield ``n`` cases; case i depends only on (seed, i, render_size, profile)."""
    for index in range(n):
        yield make_case(seed, index, render_size=render_size, profile=profile)


def main() -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for case in generate(args.n, seed=args.seed, render_size=args.size):
        Image.fromarray(case.render).save(args.out / f"{case.name}-render.png")
        Image.fromarray(case.truth).save(args.out / f"{case.name}-truth.png")
        print(case.name, case.size, case.params)


if __name__ == "__main__":
    main()
