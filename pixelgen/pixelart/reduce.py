"""Collapse each grid cell of a render to one pixel, and fit the result to a size."""

from __future__ import annotations

import numpy as np

from .checks import check_image
from .grid import GridResult

__all__ = ["ANCHORS", "REDUCE_METHODS", "fit_to_size", "reduce_cells"]

from .options import ANCHORS, REDUCE_METHODS

# At most this many sample positions per cell axis: a cell's inner area is
# sampled on a regular sub-grid, which keeps the work per cell bounded (and
# vectorisable as one array) whatever the cell size.
_SAMPLES_PER_AXIS = 5
_KMEANS_ITERATIONS = 4
# Bounds (uint8 levels) on the per-channel sample range under which a cell is
# flat and its plain mean is used instead of 2-means.
_FLAT_SPREAD_MIN = 12
_FLAT_SPREAD_MAX = 48


_check_image = check_image


def _sample_positions(cuts: np.ndarray, border: float) -> np.ndarray:
    """(cells, S) pixel indices spread over each cell's inner band."""
    starts = cuts[:-1].astype(np.float64)
    widths = np.diff(cuts).astype(np.float64)
    band = np.floor(widths * border)
    # Always keep at least one pixel: tiny cells have no room for a border band.
    band = np.minimum(band, np.floor((widths - 1) / 2))
    inner_start = starts + band
    inner_width = np.maximum(widths - 2 * band, 1.0)
    count = _SAMPLES_PER_AXIS
    fractions = (np.arange(count) + 0.5) / count
    positions = np.floor(
        inner_start[:, None] + fractions[None, :] * inner_width[:, None]
    )
    return positions.astype(np.intp)


def _kcentroid(samples: np.ndarray) -> np.ndarray:
    """Mean of the dominant cluster of a 2-means split, per cell.

    ``samples`` is (C, n, cells) float32. Centres start at the darkest and
    brightest sample (deterministic); ties in cluster size go to the cluster
    holding the sample nearest the cell centre. Returns (cells, C).
    Every sum here is of whole numbers (counts, and sample values far under
    2^24), exact in float32 in any order: the layout changes no bit.
    """
    channels, n, cells = samples.shape
    rows = np.arange(cells)
    weights = [1.0, 1.0, 1.0, 2.0][:channels]  # an alpha jump matters more than a shade
    luma = samples[0] + samples[1] + samples[2]
    if channels == 4:
        luma = luma + samples[3] * 4.0
    lo = np.argmin(luma, axis=0)
    hi = np.argmax(luma, axis=0)
    c0 = samples[:, lo, rows]  # (C, cells)
    c1 = samples[:, hi, rows]
    total = samples.sum(axis=1)
    # Each cell's 2-means is its own: a cell whose clusters did not change is
    # at a fixed point (same clusters, same centres), so it leaves the loop
    # with what every later pass would give it, and the rest go on alone.
    active = np.arange(cells)
    work, work_total = samples, total
    centres0, centres1 = c0.copy(), c1.copy()
    final_n1 = np.empty(cells, dtype=np.float32)
    final_n0 = np.empty(cells, dtype=np.float32)
    final_centre = np.empty(cells, dtype=bool)
    previous = None
    for _ in range(_KMEANS_ITERATIONS):
        d0 = d1 = None
        for channel in range(channels):
            plane = work[channel]
            weight = weights[channel]
            squares = []
            for centre in (c0, c1):
                diff = plane - centre[channel]
                # weight * diff * diff, in place; a weight of 1 changes no bit and is skipped.
                weighted = diff * weight if weight != 1.0 else diff
                np.multiply(weighted, diff, out=weighted)
                squares.append(weighted)
            if d0 is None:
                d0, d1 = squares
            else:
                d0 += squares[0]
                d1 += squares[1]
        in1 = (d1 < d0).astype(np.float32)  # (n, cells)
        if previous is not None:
            settled = ~np.any(in1 != previous, axis=0)
            if settled.any():
                done = active[settled]
                counts = in1[:, settled].sum(axis=0)
                final_n1[done] = counts
                final_n0[done] = n - counts
                final_centre[done] = in1[n // 2, settled] > 0
                going = ~settled
                active, work, work_total = active[going], work[:, :, going], work_total[:, going]
                in1, c0, c1 = in1[:, going], c0[:, going], c1[:, going]
                if active.size == 0:
                    break
        previous = in1
        n1 = in1.sum(axis=0)
        n0 = n - n1
        s1 = np.einsum("knc,nc->kc", work, in1)
        s0 = work_total - s1
        c0 = np.where(n0 > 0, s0 / np.maximum(n0, 1), c0)
        c1 = np.where(n1 > 0, s1 / np.maximum(n1, 1), c1)
        centres0[:, active] = c0
        centres1[:, active] = c1
    if active.size:
        final_n1[active] = n1
        final_n0[active] = n0
        final_centre[active] = in1[n // 2] > 0
    choose1 = (final_n1 > final_n0) | ((final_n1 == final_n0) & final_centre)
    return np.where(choose1[None, :], centres1, centres0).T


def _mode(samples: np.ndarray) -> np.ndarray:
    """Most frequent exact colour per cell; ties go to the earliest sample."""
    cells, n, channels = samples.shape
    keys = np.zeros((cells, n), dtype=np.uint64)
    for channel in range(channels):
        keys = (keys << np.uint64(8)) | samples[..., channel].astype(np.uint64)
    counts = (keys[:, :, None] == keys[:, None, :]).sum(axis=2)
    winner = np.argmax(counts, axis=1)
    return samples[np.arange(cells), winner]


def _reduce_kcentroid(samples: np.ndarray) -> np.ndarray:
    """k-centroid for (C, n, cells) uint8 samples, returning (cells, C) float32.

    Most cells of pixel art are flat: when every channel's sample range is
    within the image's own noise level the plain mean is the answer, and
    2-means runs only on the remaining (edge) cells.
    """
    channels, _, cells = samples.shape
    spread = (samples.max(axis=1) - samples.min(axis=1)).max(axis=0)
    # In a sprite most cells are flat, so the median spread is the noise
    # level; twice it separates "noise" from "two colours". Bounded so a
    # render made mostly of busy cells cannot declare real edges flat.
    limit = min(_FLAT_SPREAD_MAX, max(_FLAT_SPREAD_MIN, 2 * int(np.median(spread))))
    flat = spread <= limit
    out = np.empty((cells, channels), dtype=np.float32)
    if flat.any():
        out[flat] = samples[:, :, flat].mean(axis=1, dtype=np.float32).T
    busy = ~flat
    if busy.any():
        out[busy] = _kcentroid(samples[:, :, busy].astype(np.float32))
    return out


def reduce_cells(
    image: np.ndarray,
    grid: GridResult,
    *,
    method: str = "kcentroid",
    border: float = 0.2,
) -> np.ndarray:
    """One pixel per grid cell (same channel count as ``image``).

    A band of ``border`` x cell size along each cell edge is ignored: that is
    where anti-aliasing and blur live. ``method``: "kcentroid" (2-means inside
    the cell, mean of the dominant cluster; robust to a sliver of a
    neighbouring colour), "median" (per channel) or "mode" (most frequent
    exact colour among the samples).
    """
    _check_image(image)
    if method not in REDUCE_METHODS:
        raise ValueError(
            f"unknown reduce method {method!r}; allowed: {', '.join(REDUCE_METHODS)}"
        )
    if not 0.0 <= border < 0.5:
        raise ValueError(f"border must be in [0, 0.5), got {border}")
    height, width = image.shape[:2]
    cuts_x = np.asarray(grid.cuts_x, dtype=np.int64)
    cuts_y = np.asarray(grid.cuts_y, dtype=np.int64)
    if cuts_x[0] != 0 or cuts_x[-1] != width or cuts_y[0] != 0 or cuts_y[-1] != height:
        raise ValueError(
            f"grid cuts span {cuts_x[-1]}x{cuts_y[-1]} but the image is {width}x{height}; "
            "detect the grid on this image"
        )
    if np.any(np.diff(cuts_x) <= 0) or np.any(np.diff(cuts_y) <= 0):
        raise ValueError("grid cuts must be strictly increasing")
    if grid.wrap and (grid.offset[0] or grid.offset[1]):
        image = np.roll(image, (-grid.offset[1], -grid.offset[0]), axis=(0, 1))
    xs = _sample_positions(cuts_x, border)
    ys = _sample_positions(cuts_y, border)
    ny, nx = ys.shape[0], xs.shape[0]
    sy, sx = ys.shape[1], xs.shape[1]
    channels = image.shape[2]
    # Two 1-D takes (rows, then columns) gather every cell's sample sub-grid,
    # then one transpose makes it (C, samples, cells): per-cell reductions
    # then run over long rows of cells, not over rows of a few samples.
    gathered = np.take(np.take(image, ys.reshape(-1), axis=0), xs.reshape(-1), axis=1)
    samples = np.ascontiguousarray(
        gathered.reshape(ny, sy, nx, sx, channels).transpose(4, 1, 3, 0, 2)
    ).reshape(channels, sy * sx, ny * nx)
    if method == "mode":
        out = _mode(np.ascontiguousarray(samples.transpose(2, 1, 0)))
    elif method == "median":
        out = np.median(samples, axis=1).T
    else:
        out = _reduce_kcentroid(samples)
    if out.dtype != np.uint8:
        out = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
    return out.reshape(ny, nx, channels)


def _anchor_split(anchor: str, excess: int, axis: str) -> int:
    """How much of ``excess`` goes before the content along ``axis`` ("x"/"y")."""
    vertical, _, horizontal = (
        anchor.partition("-") if "-" in anchor else (anchor, "", anchor)
    )
    side = horizontal if axis == "x" else vertical
    if side in ("left", "top"):
        return 0
    if side in ("right", "bottom"):
        return excess
    return excess // 2


def _crop_or_pad(
    image: np.ndarray, target: int, axis: int, anchor: str, transparent_pad: bool
) -> np.ndarray:
    current = image.shape[axis]
    axis_name = "x" if axis == 1 else "y"
    if current > target:
        start = _anchor_split(anchor, current - target, axis_name)
        index = [slice(None)] * 3
        index[axis] = slice(start, start + target)
        return image[tuple(index)]
    if current < target:
        before = _anchor_split(anchor, target - current, axis_name)
        after = target - current - before
        pad = [(0, 0)] * 3
        pad[axis] = (before, after)
        if transparent_pad:
            return np.pad(image, pad, mode="constant", constant_values=0)
        return np.pad(image, pad, mode="edge")
    return image


def _nearest_resample(image: np.ndarray, width: int, height: int) -> np.ndarray:
    src_h, src_w = image.shape[:2]
    cols = np.minimum(
        ((np.arange(width) + 0.5) * src_w / width).astype(np.intp), src_w - 1
    )
    rows = np.minimum(
        ((np.arange(height) + 0.5) * src_h / height).astype(np.intp), src_h - 1
    )
    return image[rows[:, None], cols[None, :]]


# Size mismatches up to this share of the target are fixed by cropping or
# padding (a cell or two lost to a sliver); beyond it the grid is off by a
# factor and only resampling can make the asset fit.
_CROP_PAD_SHARE = 0.15


def fit_to_size(
    image: np.ndarray, *, size: tuple[int, int], anchor: str
) -> tuple[np.ndarray, str | None]:
    """Bring a cell-level image to ``size`` (w, h) on the cell grid, nearest-neighbour only.

    In order of preference: trim a transparent or flat background border that
    is in excess; crop/pad around ``anchor`` when the mismatch is small (pads
    are transparent for RGBA, edge-replicated for RGB); otherwise resample
    nearest-neighbour. Returns the image and a note saying what was done, or
    None when it already had the size.
    """
    _check_image(image)
    if anchor not in ANCHORS:
        raise ValueError(f"unknown anchor {anchor!r}; allowed: {', '.join(ANCHORS)}")
    target_w, target_h = int(size[0]), int(size[1])
    if target_w < 1 or target_h < 1:
        raise ValueError(f"size must be positive, got {size}")
    height, width = image.shape[:2]
    if (width, height) == (target_w, target_h):
        return image, None
    rgba = image.shape[2] == 4
    notes = []
    work = image
    # 1. Excess border that is pure background (transparent, or the corner
    # colour of an opaque image) can go without losing content.
    if width > target_w or height > target_h:
        if rgba:
            content = work[..., 3] > 0
        else:
            content = np.any(work != work[0, 0], axis=2)
        if content.any():
            ys, xs = np.nonzero(content)
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        else:
            x0, x1, y0, y1 = 0, width, 0, height
        if width > target_w and x1 - x0 <= target_w:
            left = _anchor_split(anchor, width - target_w, "x")
            left = int(np.clip(left, max(0, x1 - target_w), min(x0, width - target_w)))
            work = work[:, left : left + target_w]
            notes.append(f"cropped {width - target_w} background column(s)")
        if height > target_h and y1 - y0 <= target_h:
            top = _anchor_split(anchor, height - target_h, "y")
            top = int(np.clip(top, max(0, y1 - target_h), min(y0, height - target_h)))
            work = work[top : top + target_h]
            notes.append(f"cropped {height - target_h} background row(s)")
    h2, w2 = work.shape[:2]
    if (w2, h2) != (target_w, target_h):
        close = abs(w2 - target_w) <= max(2, _CROP_PAD_SHARE * target_w) and abs(
            h2 - target_h
        ) <= max(2, _CROP_PAD_SHARE * target_h)
        if close:
            before = work
            work = _crop_or_pad(work, target_w, 1, anchor, rgba)
            work = _crop_or_pad(work, target_h, 0, anchor, rgba)
            notes.append(
                f"{'cropped/padded'} {before.shape[1]}x{before.shape[0]} to {target_w}x{target_h} around {anchor}"
            )
        else:
            notes.append(
                f"resampled {w2}x{h2} to {target_w}x{target_h} nearest-neighbour "
                "(grid and size disagree by more than 15%)"
            )
            work = _nearest_resample(work, target_w, target_h)
    note = (
        f"grid gave {width}x{height} cells, asset size is {target_w}x{target_h}: "
        + "; ".join(notes)
    )
    return np.ascontiguousarray(work), note


def nine_slice_fit(image: np.ndarray, *, size: tuple[int, int], border: tuple[int, int, int, int]) -> np.ndarray:
    """Resize a 9-slice UI element to ``size`` (w, h) without touching its corners and edges' depth.

    ``border`` is (left, top, right, bottom) in output pixels. The border bands
    are copied as they are; only the centre band is stretched or shrunk, by
    repeating or dropping whole rows/columns (nearest neighbour), which is
    exactly what a 9-slice renderer does in the engine.
    """
    _check_image(image)
    left, top, right, bottom = (int(v) for v in border)
    target_w, target_h = int(size[0]), int(size[1])
    height, width = image.shape[:2]
    if left + right >= min(width, target_w) or top + bottom >= min(height, target_h):
        raise ValueError(f"border {border} leaves no centre in a {width}x{height} image resized to {target_w}x{target_h}")

    def axis_index(length: int, target: int, start: int, end: int) -> np.ndarray:
        centre = length - start - end
        wanted = target - start - end
        middle = start + (np.arange(wanted) * centre) // wanted
        return np.concatenate([np.arange(start), middle, np.arange(length - end, length)])

    rows = axis_index(height, target_h, top, bottom)
    columns = axis_index(width, target_w, left, right)
    return np.ascontiguousarray(image[rows][:, columns])
