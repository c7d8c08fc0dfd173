"""Find the pseudo-pixel grid of an upscaled, degraded pixel-art render.

Detection is hypothesis generation followed by model selection:

1. **Edge profiles.** Per axis, the summed absolute colour difference between
   neighbouring columns (rows): every cell boundary becomes a peak. The
   profile's median is subtracted (flat-region noise), and JPEG's 8-px block
   edges are damped when they stand out.
2. **Candidate periods** from three independent estimators per axis: the
   peaks of the edge profile's spectrum (a comb fit, ``|S(f)| / sum(p)``,
   zero-padded so non-integer cells such as 12.6 px are resolved), the peaks
   of its autocorrelation, and the most common spacing between strong edges.
   Each candidate's harmonics (x2, x3, /2, /3) and the caller's priors (a
   declared cell, or the cell implied by a declared size) join the list, so
   the true cell is among the candidates even when an estimator locks onto a
   harmonic. Estimators start at 2.75 px; when both axes' spectra show a
   square lattice under that floor, a second pass starts them at 2.25 px and
   its answer is taken only when it is such a square fine lattice and sure.
3. **Hypotheses.** Every candidate is refined on each axis to the nearest
   spectrum peak; each axis lattice is paired with the other axis's nearest
   period (pseudo-pixels are square in practice, up to a few percent), and
   the strongest lattice per axis is paired even when it is not square. Each hypothesis gets its phase from the spectrum and its cut
   lines snapped to the strongest nearby edges, which absorbs uneven cell
   widths and drifting grids; slivers under half a cell at a border are
   merged into their neighbour, so partial border cells count as cells only
   when more than half of them is visible.
4. **Selection by the knee of the residual.** Each hypothesis replaces
   every cell by its mean colour (from one integral image, so a hypothesis
   costs one gather per cell) and is compared with the same grid with k x k
   cells merged (k = 2, 3, every phase). The true cell is where merging
   starts to destroy information: the residual jumps far more than smooth
   content's k^2 growth, while merging half or third cells joins equal
   colours and merging double cells joins already mixed ones. Hypotheses
   whose lattice (or a divisor's) has no periodic support in the edge
   profile (by either measure of item 5) lose to any that has; a declared
   prior gets a small bonus, non-square cells a small penalty; a stronger
   lattice breaks near ties.
5. **Confidence** combines how clearly the chosen lattice stands above
   random edges of the same energy, or above the spectrum around its
   frequency when a silhouette's edges bury a faint small-cell lattice
   (periodicity), with how clearly it beats the best hypothesis of a
   different cell size (margin). Noise, photographs and smooth
   illustrations have no periodicity: ``periodic`` is false. Nor has pixel
   art drawn on an irregular grid; :func:`axis_aligned_edge_share` tells it
   from the others (its edges are steps along the axes).
   An exact nearest-neighbour upscale is recognised as such (every colour
   change on one lattice), so 2-px cells are found there.

With ``wrap=True`` the image is a seamless tile: profiles include the seam,
only periods that divide the size a whole number of times are considered, and
``cuts_*`` are expressed in the frame of the image rolled left/up by
``offset`` (see :class:`GridResult`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .checks import check_image

__all__ = [
    "GridResult",
    "axis_aligned_edge_share",
    "one_pixel_feature_share",
    "declared_grid",
    "detect_grid",
    "detect_grid_joint",
    "edge_profiles",
    "grid_for_cell",
    "shrink_exact_upscale",
]


@dataclass(frozen=True)
class GridResult:
    """A cell grid over an image.

    ``cell`` is the mean cell size (x, y) in render pixels, possibly
    fractional. ``offset`` is the lattice phase (x, y): grid lines lie near
    ``offset + k * cell`` before snapping. ``cuts_x``/``cuts_y`` are the cut
    positions, starting at 0 and ending at the width/height, so that
    consecutive cuts bound one cell. When ``wrap`` is true the cuts are in the
    frame of the image rolled by ``-offset`` (``np.roll(image, (-oy, -ox),
    (0, 1))``) so that the cell straddling the seam is whole.
    ``confidence`` is in [0, 1]; ``method`` is "detected" or "declared".
    ``hypotheses`` lists the best competing grids, best first, as
    JSON-ready dicts (cell, cells, cost per pixel relative to the best).
    ``exact``: every cell is one flat colour: with cells of 2 px or more the
    image is a nearest-neighbour upscale on this grid; with 1-px cells (set
    by pixelize for pixel art already at its own size) it is the art itself.
    """

    cell: tuple[float, float]
    offset: tuple[int, int]
    cuts_x: tuple[int, ...]
    cuts_y: tuple[int, ...]
    confidence: float
    wrap: bool = False
    method: str = "detected"
    periodic: bool = True
    hypotheses: tuple[dict, ...] = field(default=(), compare=False)
    exact: bool = field(default=False, compare=False)

    @property
    def cells(self) -> tuple[int, int]:
        """Number of cells (x, y) the grid yields."""
        return (len(self.cuts_x) - 1, len(self.cuts_y) - 1)


def _check_image(image: np.ndarray) -> None:
    check_image(image, min_side=2)


def edge_profiles(
    image: np.ndarray, *, wrap: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength between neighbouring columns and rows.

    Returns ``(px, py)`` of lengths W and H: ``px[i]`` is the summed absolute
    channel difference between column ``i - 1`` and column ``i``; ``px[0]`` is
    the seam (last vs first column) when ``wrap`` else 0. RGBA images are
    premultiplied first so colour under transparent pixels does not count.
    """
    _check_image(image)
    return _profiles(_premultiplied(image), wrap)


# Pixel art's edges are steps along the axes however irregular its cells are;
# a smooth illustration's or a photograph's edges take every direction. Edges
# counted: the strongest 5 % of Sobel magnitudes over the colour sum, and at
# least this strong (of 12 * 255, a black-white step).
_STEP_EDGE_PERCENTILE = 95.0
_STEP_EDGE_FLOOR = 60.0
_STEP_EDGE_MIN_COUNT = 256
# Within 10 degrees of an axis: |minor| <= tan(10 deg) * |major|.
_AXIS_SLOPE = math.tan(math.radians(10.0))


def axis_aligned_edge_share(image: np.ndarray) -> float:
    """Share of the image's strongest edges that run within 10 degrees of an axis.

    Edges in every direction put about 0.22 there (20 of 90 degrees); a
    pixel-art drawing's steps, on a regular grid or not, put most of its
    edges there.
    0.0 when the image has too few strong edges to say.
    """
    _check_image(image)
    planes = _colour_planes(_premultiplied(image))
    total = planes.astype(np.float32).sum(axis=0)
    if min(total.shape) < 3:
        return 0.0
    # Sobel on the interior: a [1, 2, 1] smoothing across, a central difference along.
    across = total[:-2] + 2.0 * total[1:-1] + total[2:]
    gx = across[:, 2:] - across[:, :-2]
    down = total[:, :-2] + 2.0 * total[:, 1:-1] + total[:, 2:]
    gy = down[2:] - down[:-2]
    gx, gy = np.abs(gx), np.abs(gy)
    magnitude = np.hypot(gx, gy)
    threshold = max(float(np.percentile(magnitude, _STEP_EDGE_PERCENTILE)), _STEP_EDGE_FLOOR)
    strong = magnitude > threshold
    count = int(strong.sum())
    if count < _STEP_EDGE_MIN_COUNT:
        return 0.0
    minor, major = np.minimum(gx[strong], gy[strong]), np.maximum(gx[strong], gy[strong])
    return float(np.count_nonzero(minor <= _AXIS_SLOPE * major)) / count


# A 1-px feature: a pixel that stands this far (in some channel) above or
# below both its neighbours along a row or a column; render noise stays well
# under it.
_THIN_STEP = 32


def one_pixel_feature_share(image: np.ndarray) -> float:
    """Share of the image's colour steps that belong to features one pixel wide (outlines, dots).

    A nearest-neighbour upscale by 2 px or more has none: every art pixel
    spans two render pixels, and a blur's ramps run between their ends. Pixel
    art at its own size has many. Steps count once per pixel pair that
    differs by more than the same margin.
    """
    _check_image(image)
    planes = _colour_planes(_premultiplied(image)).astype(np.int16)
    thin = 0
    steps = 0
    for axis in (2, 1):
        delta = np.diff(planes, axis=axis)
        steps += int(np.count_nonzero(np.any(np.abs(delta) > _THIN_STEP, axis=0)))
        before = np.take(delta, np.arange(delta.shape[axis] - 1), axis=axis)
        after = np.take(delta, np.arange(1, delta.shape[axis]), axis=axis)
        # Rising into the pixel and falling out of it, or the reverse, by more than the margin.
        peak = ((before > _THIN_STEP) & (after < -_THIN_STEP)) | ((before < -_THIN_STEP) & (after > _THIN_STEP))
        thin += int(np.count_nonzero(np.any(peak, axis=0)))
    return thin / steps if steps else 0.0


def _premultiplied(image: np.ndarray) -> np.ndarray:
    """The colours edges are measured on, as planes (C, H, W) of uint8.

    RGB, or for RGBA with transparency premultiplied RGB plus alpha. Planes
    rather than interleaved channels: every later pass (profiles, integral
    image, squares) then runs along long contiguous rows, several times
    faster than numpy's inner loops over 3 or 4 interleaved channels.
    """
    height, width, channels = image.shape
    if channels == 3 or image[..., 3].min() == 255:
        # Opaque RGBA (most PNG renders): alpha adds no edges and no grey, so the colours are all there is.
        planes = np.empty((3, height, width), dtype=np.uint8)
        for channel in range(3):
            planes[channel] = image[..., channel]
        return planes
    planes = np.empty((4, height, width), dtype=np.uint8)
    planes[3] = image[..., 3]
    alpha = planes[3].astype(np.uint16)
    product = np.empty((height, width), dtype=np.uint16)
    for channel in range(3):
        np.multiply(image[..., channel], alpha, out=product)
        product += 127
        planes[channel] = _over_255(product)
    return planes


def _over_255(value: np.ndarray) -> np.ndarray:
    """``value // 255`` for uint16 values up to 65152, by shifts: exact there, and far faster than integer division.

    Works in place: ``value`` is overwritten with the result.
    """
    high = value >> 8
    value += high
    value += 1
    value >>= 8
    return value


def _profiles(planes: np.ndarray, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
    _, height, width = planes.shape
    px = np.zeros(width, dtype=np.float64)
    py = np.zeros(height, dtype=np.float64)
    column_steps = np.zeros(width - 1, dtype=np.int32)
    row_steps = np.zeros(height - 1, dtype=np.int32)
    # |a - b| of uint8 as max - min stays in uint8 (no widening copy), and
    # summing into int32 per plane is far faster than numpy's default int64
    # reduction.
    for plane in planes:
        column_steps += _absolute_difference(plane[:, 1:], plane[:, :-1]).sum(axis=0, dtype=np.int32)
        row_steps += _absolute_difference(plane[1:], plane[:-1]).sum(axis=1, dtype=np.int32)
    px[1:] = column_steps
    py[1:] = row_steps
    if wrap:
        px[0] = _absolute_difference(planes[:, :, 0], planes[:, :, -1]).sum(dtype=np.int64)
        py[0] = _absolute_difference(planes[:, 0], planes[:, -1]).sum(dtype=np.int64)
    return px, py


def _absolute_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    difference = np.maximum(a, b)
    difference -= np.minimum(a, b)
    return difference


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _comb(profile: np.ndarray, freq: float) -> complex:
    positions = np.arange(profile.size, dtype=np.float64)
    return complex(np.sum(profile * np.exp(-2j * math.pi * freq * positions)))


# --------------------------------------------------------------------------- profiles

# JPEG codes 8x8 blocks (16x16 for subsampled chroma), leaving faint edges on
# every 8th column and row of the render, aligned to 0.
_JPEG_BLOCK = 8


def _clean_profile(profile: np.ndarray, *, dejpeg: bool) -> tuple[np.ndarray, float]:
    """Baseline-free edge profile and its noise level.

    The median (flat-region noise) is subtracted and negatives clipped. With
    ``dejpeg`` the typical excess on JPEG block boundaries is subtracted there
    too, so the codec's 8-px grid neither wins the period search nor
    attracts cut lines; a real 4-px (or 2-px) cell grid has edges on several
    residues mod 8 and yields no excess, so it is left alone.
    """
    centre = float(np.median(profile))
    work = profile - centre
    if dejpeg and work.size >= 4 * _JPEG_BLOCK:
        usable = (work.size // _JPEG_BLOCK) * _JPEG_BLOCK
        by_residue = np.median(work[:usable].reshape(-1, _JPEG_BLOCK)[1:], axis=0)
        excess = float(by_residue[0] - by_residue[1:].max())
        if excess > 0:
            work[_JPEG_BLOCK::_JPEG_BLOCK] -= excess
    noise = float(np.median(np.abs(work)))
    np.maximum(work, 0.0, out=work)
    return work, noise


def _jpeg_like(fit: "_Fit") -> bool:
    """A lattice that coincides with JPEG's block grid (a multiple of 8 px, phase 0 mod 8)."""
    on_block = min(fit.phase % _JPEG_BLOCK, -fit.phase % _JPEG_BLOCK) <= 1.0
    multiple = fit.period / _JPEG_BLOCK
    return on_block and round(multiple) >= 1 and abs(multiple - round(multiple)) * _JPEG_BLOCK < 0.15


# --------------------------------------------------------------------------- one axis


@dataclass(frozen=True)
class _Axis:
    """One axis's evidence: the cleaned profile and its padded spectrum."""

    work: np.ndarray
    noise: float
    total: float
    energy: float
    spectrum: np.ndarray  # complex, rfft of work zero-padded to ``pad``
    magnitude: np.ndarray  # |spectrum|, read by every refinement
    pad: int
    wrap: bool
    power_below: np.ndarray  # power_below[k]: sum of |spectrum|^2 over bins < k

    @property
    def length(self) -> int:
        return int(self.work.size)


@dataclass(frozen=True)
class _Fit:
    period: float
    phase: float
    score: float  # |S| / sum(p): share of edge energy on the lattice
    z: float  # |S| / ||p||: how far above random edges of the same energy


def _make_axis(profile: np.ndarray, wrap: bool, *, dejpeg: bool) -> _Axis:
    work, noise = _clean_profile(profile, dejpeg=dejpeg)
    length = work.size
    # Eight-fold zero padding resolves a 12.6 px period to ~0.02 px at 1024 px.
    pad = length if wrap else 1 << math.ceil(math.log2(max(length, 2) * 8))
    spectrum = np.fft.rfft(work, n=pad)
    return _Axis(
        work=work,
        noise=noise,
        total=float(work.sum()),
        energy=float(np.sqrt(np.sum(work * work))),
        spectrum=spectrum,
        magnitude=np.abs(spectrum),
        pad=pad,
        wrap=wrap,
        power_below=np.concatenate([[0.0], np.cumsum(spectrum.real**2 + spectrum.imag**2)]),
    )


def _fit_at(axis: _Axis, freq: float) -> _Fit:
    value = _comb(axis.work, freq)
    period = 1.0 / freq
    phase = (-math.atan2(value.imag, value.real) / (2.0 * math.pi * freq)) % period
    score = abs(value) / axis.total if axis.total > 0 else 0.0
    z = abs(value) / axis.energy if axis.energy > 0 else 0.0
    return _Fit(period=period, phase=phase, score=score, z=z)


def _refine(axis: _Axis, guess: float, *, lo: float, hi: float, rel: float = 0.04) -> _Fit | None:
    """The best lattice with a period within ``rel`` of ``guess`` (and in [lo, hi])."""
    if axis.total <= 0.0:
        return None
    p_lo, p_hi = max(lo, guess * (1 - rel)), min(hi, guess * (1 + rel))
    if p_lo > p_hi:
        return None
    magnitude = axis.magnitude
    if axis.wrap:
        # Only whole numbers of cells tile a torus.
        n_lo = max(1, math.ceil(axis.length / p_hi - 1e-9))
        n_hi = min(magnitude.size - 1, math.floor(axis.length / p_lo + 1e-9))
        if n_hi < n_lo:
            nearest = max(1, min(magnitude.size - 1, round(axis.length / guess)))
            n_lo = n_hi = nearest
        counts = np.arange(n_lo, n_hi + 1)
        best = int(counts[int(np.argmax(magnitude[counts]))])
        return _fit_at(axis, best / axis.length)
    b_lo = max(1, math.ceil(axis.pad / p_hi))
    b_hi = min(magnitude.size - 2, math.floor(axis.pad / p_lo))
    if b_hi < b_lo:
        return _fit_at(axis, 1.0 / min(max(guess, lo), hi))
    window = magnitude[b_lo : b_hi + 1]
    peak = b_lo + int(np.argmax(window))
    # Parabolic interpolation between the neighbouring bins.
    left, centre, right = magnitude[peak - 1], magnitude[peak], magnitude[peak + 1]
    denominator = left - 2 * centre + right
    shift = 0.5 * (left - right) / denominator if denominator < 0 else 0.0
    freq = (peak + float(np.clip(shift, -0.5, 0.5))) / axis.pad
    freq = min(max(freq, 1.0 / p_hi), 1.0 / p_lo)
    return _fit_at(axis, freq)


@dataclass(frozen=True)
class _Evidence:
    """An axis's profile as rendered and with JPEG block edges damped."""

    raw: _Axis
    damped: _Axis

    @classmethod
    def of(cls, profile: np.ndarray, wrap: bool) -> "_Evidence":
        return cls(_make_axis(profile, wrap, dejpeg=False), _make_axis(profile, wrap, dejpeg=True))

    def fit(self, guess: float, *, lo: float, hi: float, rel: float = 0.04) -> tuple[_Axis, _Fit] | None:
        """Fit on the damped profile, unless the lattice is JPEG's own block grid.

        A real cell grid on the block grid (8 or 16 px at phase 0) was damped
        with the blocks, so it is fitted on the profile as rendered; a false
        block-grid hypothesis then loses on description length.
        """
        fit = _refine(self.damped, guess, lo=lo, hi=hi, rel=rel)
        if fit is None:
            # Every edge sat on the block grid, and damping took them all.
            raw = _refine(self.raw, guess, lo=lo, hi=hi, rel=rel)
            return None if raw is None else (self.raw, raw)
        if _jpeg_like(fit):
            raw = _refine(self.raw, guess, lo=lo, hi=hi, rel=rel)
            if raw is not None:
                return self.raw, raw
        return self.damped, fit

    def candidates(self, lo: float, hi: float) -> list[float]:
        return _axis_candidates(self.raw, lo, hi) + _axis_candidates(self.damped, lo, hi)


def _local_maxima(values: np.ndarray) -> np.ndarray:
    left = np.concatenate([[-np.inf], values[:-1]])
    right = np.concatenate([values[1:], [-np.inf]])
    return np.flatnonzero((values >= left) & (values > right))


_SPECTRUM_PEAKS = 4
_AUTOCORRELATION_PEAKS = 3


def _axis_candidates(axis: _Axis, lo: float, hi: float) -> list[float]:
    """Candidate periods for one axis from three independent estimators."""
    if axis.total <= 0.0:
        return []
    found: list[float] = []
    # 1. Comb spectrum: local maxima of |S(f)| in the allowed band.
    magnitude = axis.magnitude
    bins = np.arange(magnitude.size)
    with np.errstate(divide="ignore"):
        periods = np.where(bins > 0, axis.pad / np.maximum(bins, 1), np.inf)
    band = (periods >= lo) & (periods <= hi)
    peaks = _local_maxima(np.where(band, magnitude, -1.0))
    peaks = peaks[band[peaks]]
    for peak in peaks[np.argsort(-magnitude[peaks])][:_SPECTRUM_PEAKS]:
        found.append(float(axis.pad / peak))
    # 2. Autocorrelation: the lag at which the edge pattern repeats.
    length = axis.length
    centred = axis.work - axis.work.mean()
    power = np.abs(np.fft.rfft(centred, n=2 * length)) ** 2
    autocorrelation = np.fft.irfft(power)[:length]
    if autocorrelation[0] > 0:
        lags = np.arange(length)
        # Whole lags from the first at or above lo: a 2-px lag under a 2.75 floor
        # put 2-px lattices on renders without one.
        usable = (lags >= max(2, math.ceil(lo))) & (lags <= min(hi, length / 2))
        peaks = _local_maxima(np.where(usable, autocorrelation, -np.inf))
        peaks = peaks[usable[peaks] & (autocorrelation[peaks] > 0)]
        for peak in peaks[np.argsort(-autocorrelation[peaks])][:_AUTOCORRELATION_PEAKS]:
            left, centre, right = autocorrelation[peak - 1 : peak + 2]
            denominator = left - 2 * centre + right
            shift = 0.5 * (left - right) / denominator if denominator < 0 else 0.0
            found.append(float(peak + np.clip(shift, -0.5, 0.5)))
    # 3. Spacing of strong edges: the most common distance between them.
    strong = _local_maxima(axis.work)
    strong = strong[axis.work[strong] > 6.0 * axis.noise + 1e-9]
    if strong.size >= 3:
        spacing = np.diff(strong)
        spacing = spacing[(spacing >= lo) & (spacing <= hi)]
        if spacing.size:
            counts = np.bincount(spacing)
            # Non-integer cells alternate between two widths: pool neighbours.
            pooled = counts + np.concatenate([counts[1:], [0]])
            top = int(np.argmax(pooled))
            found.append(top + counts[top + 1] / max(pooled[top], 1) if top + 1 < counts.size else float(top))
    return found


# Cut snapping: an edge must stand this many noise levels above flat regions
# to move a cut line.
_SNAP_NOISE_FACTOR = 6.0


def _snap_all(
    profile: np.ndarray,
    targets: np.ndarray,
    radius: float,
    wrap: bool,
    floor: float = 0.0,
) -> np.ndarray:
    """Move each lattice line to the strongest edge within ``radius``.

    Ties go to the position nearest the lattice line; a window whose edges
    are all at most ``floor`` (noise) leaves the line at its rounded lattice
    position, so flat regions keep the regular lattice.
    """
    length = profile.size
    reach = math.floor(radius)
    base = np.floor(targets + 0.5).astype(np.int64)
    steps = np.arange(-reach, reach + 1)
    index = base[:, None] + steps[None, :]
    if wrap:
        values = profile[index % length]
    else:
        inside = (index >= 1) & (index <= length - 1)
        values = np.where(inside, profile[np.clip(index, 0, length - 1)], -1.0)
    # Prefer the nearest position among equal maxima: a tiny distance penalty.
    scale = float(values.max()) if values.size else 0.0
    penalty = np.abs(index - targets[:, None]) * (1e-9 * max(scale, 1.0))
    best = np.argmax(values - penalty, axis=1)
    chosen = index[np.arange(index.shape[0]), best]
    empty = values.max(axis=1) <= floor
    return np.where(empty, base, chosen)


def _cut_list(lines: np.ndarray, length: int) -> list[int]:
    """0, the distinct lines strictly inside, and ``length``, in order."""
    inside = lines[(lines > 0) & (lines < length)]
    if inside.size > 1 and not bool(np.all(inside[1:] > inside[:-1])):
        # Snapped lines come in order; only a collision needs sorting out.
        inside = np.unique(inside)
    return [0, *inside.tolist(), length]


def _axis_cuts(axis: _Axis, fit: _Fit) -> tuple[int, tuple[int, ...]]:
    work, length = axis.work, axis.length
    floor = _SNAP_NOISE_FACTOR * axis.noise
    period, phase = fit.period, fit.phase
    radius = max(0.5, period / 3.0)
    if axis.wrap:
        n_cells = max(1, round(length / period))
        offset = int(_snap_all(work, np.array([phase]), radius, True, floor)[0]) % length
        rolled = np.roll(work, -offset)
        inner = (
            _snap_all(rolled, np.arange(1, n_cells) * period, radius, False, floor)
            if n_cells > 1
            else []
        )
        return offset, tuple(_cut_list(np.asarray(inner, dtype=np.int64), length))
    count = math.floor((length - phase) / period) + 1
    targets = phase + period * np.arange(count)
    targets = targets[(targets > 0) & (targets < length)]
    lines = (
        _snap_all(work, targets, radius, False, floor)
        if targets.size
        else np.array([], dtype=np.int64)
    )
    cuts = _cut_list(lines, length)
    # Slivers under half a cell at the borders are not cells of their own.
    if len(cuts) > 2 and cuts[1] - cuts[0] < period / 2.0:
        del cuts[1]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < period / 2.0:
        del cuts[-2]
    offset = round(phase) % max(1, round(period))
    return offset, tuple(cuts)


# --------------------------------------------------------------------------- selection


# Mid-grey showing through a pixel of each alpha: round(128 * (255 - alpha) / 255) as _premultiplied rounds.
_GREY_UNDER = _over_255(((255 - np.arange(256, dtype=np.uint16)) * 128 + 127).astype(np.uint16)).astype(np.uint8)


def _colour_planes(premultiplied: np.ndarray) -> np.ndarray:
    """RGB planes (3, H, W) with transparent pixels composited over mid-grey, so alpha edges count, as uint8.

    Takes :func:`_premultiplied`'s output: an opaque image's own planes are
    used as they are (no copy); for RGBA the grey shows through in
    proportion to transparency.
    """
    if premultiplied.shape[0] == 3:
        return premultiplied
    # Premultiplied colour is at most alpha, and the grey at most 255 - alpha: uint8 holds the sum.
    planes = premultiplied[:3].copy()
    planes += _GREY_UNDER[premultiplied[3]]
    return planes


# Content window: a picture on a flat backdrop or canvas is judged where it
# is. A pixel differs from the backdrop beyond this (uint8, on any channel);
# render noise and JPEG ringing on a flat backdrop stay within it.
_WINDOW_TOLERANCE = 24
# ... the backdrop colour must hold this share of the border ...
_WINDOW_BORDER_SHARE = 0.5
# ... and a row or column belongs to the picture from this many such pixels.
_WINDOW_MIN_PIXELS = 2
# The window is used when it leaves out a quarter of the image or more: a
# backdrop that thin barely dilutes the knee, and trimming a few border
# cells off a full picture only reshuffles near ties.
_WINDOW_MAX_SHARE = 0.75


def _content_window(planes: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, x1, y0, y1): the bounding box of what differs from the border's commonest colour, or None.

    None when no colour holds most of the border (a scene, a full-bleed
    tile), when nothing differs from it, or when the box is most of the image.
    """
    _, height, width = planes.shape
    border = np.concatenate([planes[:, 0, :], planes[:, -1, :], planes[:, :, 0], planes[:, :, -1]], axis=1).T
    packed = (border[:, 0].astype(np.int32) << 16) | (border[:, 1].astype(np.int32) << 8) | border[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    commonest = int(values[int(np.argmax(counts))])
    backdrop = np.array([commonest >> 16, (commonest >> 8) & 255, commonest & 255], dtype=np.int16)
    near = np.abs(border.astype(np.int16) - backdrop).max(axis=1) <= _WINDOW_TOLERANCE
    if near.mean() < _WINDOW_BORDER_SHARE:
        return None
    differs = np.zeros((height, width), dtype=bool)
    for plane, value in zip(planes, backdrop.tolist()):
        # Compared in uint8: no widened copy of a large image.
        if value - _WINDOW_TOLERANCE > 0:
            differs |= plane < value - _WINDOW_TOLERANCE
        if value + _WINDOW_TOLERANCE < 255:
            differs |= plane > value + _WINDOW_TOLERANCE
    columns = np.flatnonzero(differs.sum(axis=0, dtype=np.int32) >= _WINDOW_MIN_PIXELS)
    rows = np.flatnonzero(differs.sum(axis=1, dtype=np.int32) >= _WINDOW_MIN_PIXELS)
    if columns.size == 0 or rows.size == 0:
        return None
    x0, x1, y0, y1 = int(columns[0]), int(columns[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    if (x1 - x0) * (y1 - y0) > _WINDOW_MAX_SHARE * width * height:
        return None
    return x0, x1, y0, y1


class _CellModel:
    """Residual of replacing every cell by its mean colour, for any grid, from one integral image."""

    def __init__(self, planes: np.ndarray) -> None:
        channels, height, width = planes.shape
        self.pixels = height * width
        # int32 holds the sums of up to 8.4 M pixels of 255; larger images need int64.
        dtype = np.int32 if self.pixels * 255 < 2**31 else np.int64
        integral = np.empty((channels, height + 1, width + 1), dtype=dtype)
        integral[:, 0, :] = 0
        integral[:, :, 0] = 0
        # Plane by plane: one 3-D cumsum into the padded view ran ~4x slower.
        for channel in range(channels):
            np.cumsum(planes[channel], axis=1, dtype=dtype, out=integral[channel, 1:, 1:])
        # Rows added one by one: numpy's cumsum down a non-contiguous axis
        # walks the array with a stride per element and took 10x as long.
        for y in range(2, height + 1):
            np.add(integral[:, y], integral[:, y - 1], out=integral[:, y])
        self.integral = integral
        # Sums of squares are only ever needed over the image less a border
        # band (the inner cells): per-column and per-row totals give the
        # bands, and the four small corners are summed directly.
        # Per pixel, the sum over channels of value², at most 3 x 255² (int32).
        squares = np.zeros((height, width), dtype=np.int32)
        for plane in planes:
            value = plane.astype(np.int32)
            value *= value
            squares += value
        self.squares = squares
        self.column_squares = np.concatenate([[0], np.cumsum(squares.sum(axis=0, dtype=np.int64))])
        self.row_squares = np.concatenate([[0], np.cumsum(squares.sum(axis=1, dtype=np.int64))])

    def _square_total(self, x0: int, x1: int, y0: int, y1: int) -> float:
        height, width = self.squares.shape
        columns, rows = self.column_squares, self.row_squares
        total = int(columns[-1])
        total -= int(columns[x0]) + int(columns[width] - columns[x1])
        total -= int(rows[y0]) + int(rows[height] - rows[y1])
        # The corners were taken away twice.
        squares = self.squares
        total += int(squares[:y0, :x0].sum()) + int(squares[:y0, x1:].sum())
        total += int(squares[y1:, :x0].sum()) + int(squares[y1:, x1:].sum())
        return float(total)

    def residual(self, cuts_x: tuple[int, ...], cuts_y: tuple[int, ...]) -> float:
        """Sum of squared differences from the cell means over the region the cuts span."""
        return _Cells(self, cuts_x, cuts_y).residual()


class _Cells:
    """One grid's cells over a :class:`_CellModel`: the integral image at every crossing of its cuts.

    Merging k x k cells keeps a subset of the cuts, so the merged grids'
    residuals are read from these crossings instead of the whole integral
    image again; and they span the same region, so share its sum of squares.
    """

    def __init__(self, model: _CellModel, cuts_x: tuple[int, ...], cuts_y: tuple[int, ...]) -> None:
        self.xs, self.ys = np.asarray(cuts_x), np.asarray(cuts_y)
        # Two takes, one axis each, gather ~4x faster than one 2-D fancy index.
        self.corners = np.take(np.take(model.integral, self.ys, axis=1), self.xs, axis=2)
        self.total = model._square_total(int(self.xs[0]), int(self.xs[-1]), int(self.ys[0]), int(self.ys[-1]))

    def residual(self, keep_x: list[int] | None = None, keep_y: list[int] | None = None) -> float:
        """The residual of the grid, or of the coarser grid that keeps only the cuts at these indices."""
        corners, xs, ys = self.corners, self.xs, self.ys
        if keep_x is not None and keep_y is not None:
            corners = np.take(np.take(corners, keep_y, axis=1), keep_x, axis=2)
            xs, ys = xs[keep_x], ys[keep_y]
        # Exact in integers: each difference down a column is a non-negative partial sum.
        down = corners[:, 1:] - corners[:, :-1]
        sums = (down[:, :, 1:] - down[:, :, :-1]).astype(np.float64)
        # A cell's squared sums, over channels, divided by its area: whole
        # numbers below 2**53 stay exact, so a cell of one colour explains
        # its sum of squares exactly and an exact fit's residual is 0, not
        # float noise that depends on the order of the sum.
        sums *= sums
        explained_per_cell = sums[0]
        for channel in sums[1:]:
            explained_per_cell += channel
        explained_per_cell /= np.outer(np.diff(ys), np.diff(xs))
        return max(0.0, self.total - float(explained_per_cell.sum()))


# Selection: the true cell is where merging cells starts to destroy
# information. Merging k x k cells of the true grid (k = 2 or 3, every
# phase) mixes different colours and the residual jumps (5-25x on real
# renders); merging cells of half or a third of the true cell mostly joins
# equal colours (1.0-1.4x), and merging cells of double the true one joins
# already mixed cells (1.5-2x). So a hypothesis costs
#     -ln((R_merged + FLOOR) / (R + FLOOR))
# with R the residual per pixel of replacing every cell by its mean colour
# and R_merged the smallest residual of a 2x2 or 3x3 merge: the sharpest
# "knee" wins. A ratio needs no price per cell, so it does not depend on
# the cell size, the image size or how much of the image is flat, where a
# description length with a cost per cell (BIC-style) picked half cells
# on large cells and coarse grids on sprites with big flat backdrops.
# The floor (summed over R, G and B, ~2 uint8 levels per channel) stands for
# render noise: clean art's exact fits (R = 0 at the true cell and its
# divisors) then differ by the merges alone.
_RESIDUAL_FLOOR = 12.0
# The expected jump of a merge in smooth content is k^2 for cells of size c
# (residual ~ c^2); blur zones of real renders jump less, so half of it in
# log terms is subtracted. Tuned on the tune split.
_SMOOTH_EXPONENT = 0.5
# A hypothesis within this relative distance of a declared prior is
# preferred by this much ...
_PRIOR_NEAR = 0.03
_PRIOR_BONUS = 0.1
# ... and non-square cells pay this much (clearly non-square ones more), so
# they win only on evidence.
_NONSQUARE_PENALTY = 0.05
_SKEWED_PENALTY = 0.2
# Periodicity: |S| / ||p|| of the edge profile at the lattice. Random
# edges, photographs and smooth illustrations reach 1-2.3 at their best
# frequency (measured: noise, a blurred-noise image and the four no-grid
# real renders); the weakest axis of real grids 2.5-13. Below _Z_NOISE
# there is no periodic structure; full periodicity _Z_SPAN above it.
_Z_NOISE = 2.4
_Z_SPAN = 3.6
# A second witness of periodicity, for small cells under blur and JPEG: the
# line at the lattice over the RMS of the spectrum around it (half to one and
# a half times its frequency, the line's own lobe left out). _Z_NOISE measures
# the line against every frequency, so a sprite's low-frequency silhouette
# buries a faint 4-px lattice (z 0.8-2.3 on blurred, JPEG-coded 4-px cells of
# the synthetic corpus, whose lines stand 3-4.5 above their neighbourhood).
# Measured at the detected lattice: 0.8-2.9 on 23 of the 24 real renders
# without a grid, 3.25 on a WebP photo (its codec's ~8-px blocks), 1.2-2.5 on
# random noise and smooth noise; a random line exceeds 3.6 with odds exp(-13).
_LOCAL_Z_NOISE = 3.6
_LOCAL_BAND = 0.5
# ... and only for a lattice that carries this share of the axis's edges
# (score): 0.11-0.29 on those 4-px cells, 0.03-0.08 on codec block grids left
# in photographs and smooth renders (JPEG-coded again, at 8 and 4 px).
_LOCAL_MIN_SCORE = 0.1
# Hypotheses whose lattice (or a divisor's) has no periodic support lose to
# any that has: in a soft render, cells of a few pixels approximate the blur
# well, but nothing in the edges repeats at their period.
_UNSUPPORTED_PENALTY = 1.0
# Residual (sum of squares) under which a fit is exact: float rounding only.
_EXACT_RESIDUAL = 1e-3
# Among hypotheses with support, a stronger lattice (z) breaks near ties.
_Z_WEIGHT = 0.1
# Margin: how much cheaper the winner is than the best hypothesis with a
# different cell size, for full confidence.
_MARGIN_SURE = 0.5


@dataclass(frozen=True, eq=False)
class _AxisGrid:
    """One axis of a hypothesis: the lattice fit and its snapped cuts."""

    axis: _Axis
    fit: _Fit
    offset: int
    cuts: tuple[int, ...]
    pinned: bool = False  # an exact upscale's period, not refined
    # Every colour change along the axis lies on this lattice (a nearest-
    # neighbour upscale along it): proof of a pixel grid on its own.
    exact: bool = False
    # The lattice's line against the spectrum around it (:func:`_local_z_witness`).
    local_z: float = 0.0


@dataclass(frozen=True)
class _Hypothesis:
    x: _AxisGrid
    y: _AxisGrid
    cost: float
    residual: float

    @property
    def offset(self) -> tuple[int, int]:
        return (self.x.offset, self.y.offset)

    @property
    def cells(self) -> tuple[int, int]:
        return (len(self.x.cuts) - 1, len(self.y.cuts) - 1)

    @property
    def cell(self) -> tuple[float, float]:
        return (self.x.fit.period, self.y.fit.period)

    @property
    def exact(self) -> bool:
        """Every cell is one flat colour (up to float rounding), with cells of 2 px or more."""
        return self.residual <= _EXACT_RESIDUAL and min(self.cell) >= 2


def _dedupe(periods: list[float], rel: float = 0.015) -> list[float]:
    """Sorted periods, dropping any within ``rel`` of the last kept (refinement covers it)."""
    kept: list[float] = []
    for period in sorted(periods):
        if not kept or period > kept[-1] * (1 + rel):
            kept.append(period)
    return kept


# Estimators look for cells of at least this size: below it, periodic
# patterns in real renders are resampling and codec artefacts, not cells.
# Smaller cells are found only in exact nearest-neighbour upscales. Gemini
# image renders of 1376x768 px put about 480 cells across (2.87 px): at 3.0
# their lattice was not proposed, and under JPEG a 3.31-px period won on
# three of them. At 2.5 a spurious 2.52-px period took the y axis of
# pp_sheet.png (bench/real_renders.json); 2.75 admits the one, not the other.
_SMALLEST_CELL = 2.75
# Cells under that floor (a Gemini render resized to 512 px leaves 2.56-px
# cells) are looked for in a second pass from _SMALLEST_FINE_CELL, only when
# both axes' spectra show a line under the floor above random edges
# (_Z_NOISE) at square periods; its answer is taken only when it is a square
# lattice under the floor at confidence _FINE_MIN_CONFIDENCE or more. On the
# 351 real renders of bench/real_renders.json the look fires on 56 and three
# answers are taken: the two 2.56-px knights (200 x 200 at confidence 1.0,
# were 172 x 172 at 0.0) and a tile of 5.4 x 2.7-px cells (118 x 118 at 0.57,
# was 59 x 60; judged 59 x 118). A plain 2.25-px floor moved 34 renders,
# mostly to spurious 2.2-2.7-px periods of resampling and codecs at confidence
# 0.0-0.48, or to half cells (0.20-0.32). Set on these renders (the knights
# were known misses), not held out.
_SMALLEST_FINE_CELL = 2.25
_FINE_MIN_CONFIDENCE = 0.5


def _exact_upscale_period(profile: np.ndarray) -> int | None:
    """The factor k when every colour change along an axis lies on one k-px lattice.

    ``profile`` is the axis's edge profile: a column (row) with no change at
    all has 0 there. A nearest-neighbour upscale repeats each column (row)
    exactly k times, so the positions where one differs from the previous
    are all congruent mod k; their gcd-like spacing is k. Renders have
    noise and differ everywhere, giving None. 0 means too few changes to tell.
    """
    changes = np.flatnonzero(profile[1:] > 0) + 1
    if changes.size < 2:
        return 0  # too few changes to tell: the other axis decides
    period = int(np.gcd.reduce(np.diff(changes)))
    return period if period >= 2 else None


def _square_factor(fx: int | None, fy: int | None) -> tuple[int | None, int | None]:
    """Both axes' exact-upscale factors made consistent with square cells."""
    factor = (fx, fy)
    if 0 in factor:
        # An axis with too few changes takes the other's factor (square cells).
        other = factor[1] if factor[0] == 0 else factor[0]
        return (other, other) if other else (None, None)
    if None not in factor and factor[0] != factor[1]:
        # Runs of equal cells along one axis make its spacing a multiple:
        # square cells divide both.
        common = math.gcd(factor[0], factor[1])
        return (common, common) if common >= 2 else (None, None)
    return factor


def shrink_exact_upscale(image: np.ndarray) -> tuple[np.ndarray, int]:
    """``image`` reduced by k when it is a nearest-neighbour x k upscale (k >= 2, both axes), with k; else itself and 1.

    The same test the detector applies to an upscale (every colour change,
    alpha included, on one k-px lattice per axis, k common to both), so an
    image this leaves alone is found again at its own pixels once upscaled.
    A partial block at either border is a pixel of its own.
    """
    check_image(image)
    if min(image.shape[:2]) < 2:
        return image, 1  # one pixel across: nothing to repeat
    px, py = edge_profiles(image)
    factor = _square_factor(_exact_upscale_period(px), _exact_upscale_period(py))
    k = factor[0]
    if k is None or k < 2 or factor[1] != k:
        # One axis on a lattice is not an upscale: cutting the other by k would drop its rows.
        return image, 1
    picks = []
    for profile, length in ((px, image.shape[1]), (py, image.shape[0])):
        changes = np.flatnonzero(profile[1:] > 0) + 1
        phase = int(changes[0]) % k if changes.size else 0
        starts = np.arange(phase, length, k)
        picks.append(starts if phase == 0 else np.concatenate([[0], starts]))
    return np.ascontiguousarray(image[np.ix_(picks[1], picks[0])]), k


def _harmonics(periods: list[float], lo: float, hi: float) -> list[float]:
    out = list(periods)
    for period in periods:
        for factor in (2.0, 3.0, 0.5, 1.0 / 3.0):
            value = period * factor
            if max(lo, _SMALLEST_CELL) <= value <= hi:
                out.append(value)
    return out


def _prior_cells(
    width: int, height: int, prior_cell: float | None, prior_size: tuple[int, int] | None
) -> list[tuple[float, float]]:
    priors = []
    if prior_cell is not None:
        priors.append((float(prior_cell), float(prior_cell)))
    if prior_size is not None:
        priors.append((width / prior_size[0], height / prior_size[1]))
    return priors


def _is_near(cell: tuple[float, float], priors: list[tuple[float, float]]) -> bool:
    return any(
        abs(cell[0] / px - 1) <= _PRIOR_NEAR and abs(cell[1] / py - 1) <= _PRIOR_NEAR
        for px, py in priors
    )


# A candidate is refined within this relative distance: estimators place a
# real period within ~1 %, and a wider window lets a neighbouring peak win.
_REFINE_NEAR = 0.015
# Axis grids whose periods differ by at most this much are paired into a
# hypothesis: cells are square in practice, up to the slight anisotropy of
# a render resized to another aspect.
_PAIR_NEAR = 0.06
_SAME_PERIOD = 0.0075


def _axis_grids(
    evidence: "_Evidence", guesses: list[tuple[float, float]], lo: float, hi: float, *, factor: int | None = None
) -> list[_AxisGrid]:
    """The distinct axis grids (by cuts) that the guesses (period, window) refine to.

    ``factor`` is the axis's exact-upscale period, if any: a guess with no
    window (rel 0) that divides it is a lattice holding every colour change.
    """
    grids: dict[tuple[int, ...], _AxisGrid] = {}
    for guess, rel in guesses:
        fitted = evidence.fit(guess, lo=lo, hi=hi, rel=rel)
        if fitted is None:
            continue
        axis, fit = fitted
        offset, cuts = _axis_cuts(axis, fit)
        if cuts not in grids or fit.score > grids[cuts].fit.score:
            exact = rel == 0.0 and bool(factor) and factor % round(guess) == 0
            grids[cuts] = _AxisGrid(axis, fit, offset, cuts, pinned=rel == 0.0, exact=exact)
    # Refined periods within _SAME_PERIOD of each other are one lattice found
    # twice: the better fit stands for both (a pinned, exact period always stays).
    kept: list[_AxisGrid] = []
    for grid in sorted(grids.values(), key=lambda g: g.fit.period):
        if kept and not grid.pinned and not kept[-1].pinned and grid.fit.period <= kept[-1].fit.period * (1 + _SAME_PERIOD):
            if grid.fit.score > kept[-1].fit.score:
                kept[-1] = grid
            continue
        kept.append(grid)
    return [replace(grid, local_z=_local_z_witness(evidence.damped, grid)) for grid in kept]


def _local_z_witness(damped: _Axis, grid: _AxisGrid) -> float:
    """:func:`_local_z` on the profile with JPEG block edges damped, for a lattice that carries its share of the edges.

    A codec's block grid left in a photograph (an earlier JPEG or WebP coding,
    cropped to any phase) stands out locally as well, but carries a few per
    cent of the image's edges; a pixel grid's cell edges are most of its edges.
    """
    fit = grid.fit if grid.axis is damped else _fit_at(damped, 1.0 / grid.fit.period)
    return _local_z(damped, fit) if fit.score >= _LOCAL_MIN_SCORE else 0.0


def _spanning(lines: tuple[int, ...], start: int, end: int) -> tuple[int, ...]:
    """The lines from the last at or before ``start`` to the first at or after ``end``.

    The cells on the window's edges count: a blurred outline, the feature
    that tells a cell from twice it, lies there.
    """
    first = max(0, bisect.bisect_right(lines, start) - 1)
    last = bisect.bisect_left(lines, end)
    return lines[first : last + 1]


def _knee(
    model: "_CellModel", cuts_x: tuple[int, ...], cuts_y: tuple[int, ...], merges: tuple[int, ...] = (2, 3),
    *, every_phase: bool = True, window: tuple[int, int, int, int] | None = None, finer_axis: int | None = None,
) -> tuple[float, float]:
    """How sharply the residual jumps when k x k cells are merged, beyond a smooth image's jump.

    The smallest over k in ``merges`` and every phase of
    ln(R_merged / R) - _SMOOTH_EXPONENT * ln(k^2), residuals per pixel
    plus the floor; returned with R (the inner cells' residual, summed,
    or the window's where that is already above an exact fit's).
    With ``every_phase`` false only phase 0 is merged: a knee at least as
    high, hence a lower bound on the hypothesis's cost. With ``finer_axis``
    (0 for x, 1 for y) merges of k cells along that axis alone count too,
    less _SMOOTH_EXPONENT * ln(k).
    Only inner cells count: partial border cells (a crop, or slivers merged
    into their neighbour) would blur the comparison. In smooth content (a
    render's blur, gradients) the residual of cells of size c grows as c^2,
    so merging k x k cells multiplies it by k^2 there. With a ``window``
    (:func:`_content_window`'s box) the knee is measured over the inner
    cells that span it.
    """
    inner_x, inner_y = cuts_x[1:-1], cuts_y[1:-1]
    if len(inner_x) < 3 or len(inner_y) < 3:
        inner_x, inner_y = cuts_x, cuts_y
    whole = (inner_x, inner_y)
    if window is not None:
        # The cells that hold the picture: a flat backdrop's residual is the
        # same under any merge and would drown the picture's knee.
        within_x, within_y = _spanning(inner_x, window[0], window[1]), _spanning(inner_y, window[2], window[3])
        if len(within_x) >= 3 and len(within_y) >= 3:
            inner_x, inner_y = within_x, within_y
    area = float((inner_x[-1] - inner_x[0]) * (inner_y[-1] - inner_y[0]))
    cells = _Cells(model, inner_x, inner_y)
    knee_residual = cells.residual()
    # The residual returned says whether the fit is exact, over all inner
    # cells; the window's is part of it, so a window that is not exact
    # already says the whole is not.
    residual = knee_residual
    if (inner_x, inner_y) != whole and knee_residual <= _EXACT_RESIDUAL:
        residual = model.residual(*whole)
    base = knee_residual / area + _RESIDUAL_FLOOR
    best = math.inf
    for k in merges:
        if len(inner_x) <= k or len(inner_y) <= k:
            continue
        phases = range(k) if every_phase else range(1)
        last_x, last_y = len(inner_x) - 1, len(inner_y) - 1
        for phase_x in phases:
            # The outer cuts stay; every k-th inner cut from the phase on.
            keep_x = [0, *range(1 + phase_x, last_x, k), last_x]
            for phase_y in phases:
                keep_y = [0, *range(1 + phase_y, last_y, k), last_y]
                merged = cells.residual(keep_x, keep_y) / area + _RESIDUAL_FLOOR
                best = min(best, math.log(merged / base) - _SMOOTH_EXPONENT * math.log(k * k))
        if finer_axis is not None:
            # A skewed hypothesis whose finer axis is split k times too finely
            # (a third-cell lattice across, the true one down) merges k x k
            # into a mix like the true grid's; merged along that axis alone,
            # its residual barely moves, as half cells' does when merged k x k.
            all_x, all_y = list(range(len(inner_x))), list(range(len(inner_y)))
            last = (last_x, last_y)[finer_axis]
            for phase in phases:
                keep = [0, *range(1 + phase, last, k), last]
                keep_x, keep_y = (keep, all_y) if finer_axis == 0 else (all_x, keep)
                merged = cells.residual(keep_x, keep_y) / area + _RESIDUAL_FLOOR
                best = min(best, math.log(merged / base) - _SMOOTH_EXPONENT * math.log(k))
    return (0.0 if best == math.inf else best), residual


def _cost(
    model: _CellModel,
    planes: np.ndarray,
    x: _AxisGrid,
    y: _AxisGrid,
    priors: list[tuple[float, float]],
    wrap: bool,
    *,
    supported: bool = True,
    merges: tuple[int, ...] = (2, 3),
    every_phase: bool = True,
    window: tuple[int, int, int, int] | None = None,
) -> _Hypothesis:
    if wrap and (x.offset or y.offset):
        model = _CellModel(np.roll(planes, (-y.offset, -x.offset), axis=(1, 2)))
        window = None
    cell = (x.fit.period, y.fit.period)
    # Cells k times as long one way as the other (k a whole number) may be
    # true cells with one axis at a k-th of its period (a spectrum's k-th
    # harmonic): that axis is also merged on its own (see :func:`_knee`).
    ratio = max(cell) / min(cell)
    whole = round(ratio)
    finer_axis = None
    if whole >= 2 and abs(ratio / whole - 1) <= _PAIR_NEAR:
        finer_axis = 0 if cell[0] < cell[1] else 1
    knee, residual = _knee(model, x.cuts, y.cuts, merges, every_phase=every_phase, window=window, finer_axis=finer_axis)
    cost = -knee - _Z_WEIGHT * min(x.fit.z, y.fit.z)
    if not supported:
        cost += _UNSUPPORTED_PENALTY
    if priors and _is_near(cell, priors):
        cost -= _PRIOR_BONUS
    aspect = abs(cell[0] / cell[1] - 1)
    if aspect > _PAIR_NEAR:
        cost += _SKEWED_PENALTY
    elif aspect > _PRIOR_NEAR:
        cost += _NONSQUARE_PENALTY
    return _Hypothesis(x, y, cost, residual)


def _single_cell_grid(width: int, height: int, wrap: bool) -> GridResult:
    return GridResult(
        cell=(float(width), float(height)),
        offset=(0, 0),
        cuts_x=(0, width),
        cuts_y=(0, height),
        confidence=0.0,
        wrap=wrap,
        method="detected",
        periodic=False,
    )


_REPORTED_HYPOTHESES = 5


def _result(ranked: list[_Hypothesis], wrap: bool) -> GridResult:
    """The first hypothesis as a grid, with its confidence and the runners-up."""
    best = ranked[0]
    listed = [
        {
            "cell": [round(h.cell[0], 4), round(h.cell[1], 4)],
            "cells": list(h.cells),
            "cost": round(h.cost - best.cost, 4),
        }
        for h in ranked[:_REPORTED_HYPOTHESES]
    ]
    # An exact fit by cells larger than a pixel is a nearest-neighbour
    # upscale: periodic however few edges a small image has.
    periodicity = 1.0 if best.exact else _periodicity(ranked)
    return GridResult(
        cell=best.cell,
        offset=best.offset,
        cuts_x=best.x.cuts,
        cuts_y=best.y.cuts,
        confidence=periodicity * (0.5 + 0.5 * _margin(ranked)),
        wrap=wrap,
        method="detected",
        periodic=periodicity > 0.0,
        hypotheses=tuple(listed),
        exact=best.exact,
    )


def _check_range(min_cell: float, max_cell: float) -> None:
    if not (isinstance(min_cell, (int, float)) and isinstance(max_cell, (int, float))):
        raise TypeError("min_cell and max_cell must be numbers")
    if min_cell < 2 or max_cell < min_cell:
        raise ValueError(
            f"need 2 <= min_cell <= max_cell, got min_cell={min_cell}, max_cell={max_cell}"
        )


def _support(grid: _AxisGrid, grids: list[_AxisGrid]) -> float:
    """The z of the strongest lattice among the grid's period and its divisors on this axis."""
    z = grid.fit.z
    for other in grids:
        ratio = grid.fit.period / other.fit.period
        if round(ratio) in (2, 3) and abs(ratio - round(ratio)) <= 0.03 * round(ratio):
            z = max(z, other.fit.z)
    return z


def _periodicity(ranked: list[_Hypothesis]) -> float:
    """How clearly a lattice commensurate with the winner stands above random edges.

    Per axis, the strongest lattice among the winner's period and its
    divisors (a render's sub-cell texture can carry the edges of c/2 more
    strongly than those of c), measured against the whole profile or against
    the spectrum around it (:func:`_local_z_witness`), whichever says more; the
    weaker axis counts. An axis that is an exact nearest-neighbour upscale on
    the winner's lattice proves a pixel grid however few edges repeat along
    the other axis (a sprite sheet whose rows were resampled): the grid is
    then at least half periodic.
    """
    best = ranked[0]
    per_axis = []
    for index in (0, 1):
        axis_grid = best.x if index == 0 else best.y
        if axis_grid.exact:
            per_axis.append(1.0)
            continue
        period = best.cell[index]
        z = 0.0
        for hypothesis in ranked:
            grid = hypothesis.x if index == 0 else hypothesis.y
            ratio = period / grid.fit.period
            if round(ratio) in (1, 2, 3) and abs(ratio - round(ratio)) <= 0.03 * round(ratio):
                z = max(z, grid.fit.z)
        per_axis.append(max(_clip01((z - _Z_NOISE) / _Z_SPAN), _clip01((axis_grid.local_z - _LOCAL_Z_NOISE) / _Z_SPAN)))
    if best.x.exact or best.y.exact:
        return max(min(per_axis), 0.5)
    return min(per_axis)


def _local_z(axis: _Axis, fit: _Fit) -> float:
    """The strongest line among the lattice and its divisors over the RMS of the spectrum around it."""
    if axis.energy <= 0.0:
        return 0.0
    period = fit.period
    last = axis.spectrum.size  # bins 0 .. last - 1, bin k at frequency k / pad
    lobe = 1.5 / axis.length  # the line's main lobe: a bin of the unpadded profile either side
    strongest = 0.0
    for divisor in (1, 2, 3):
        freq = divisor / period
        if freq >= 0.5:
            break
        # Two runs of bins: [freq (1 - band), freq - lobe) and (freq + lobe, freq (1 + band)].
        runs = (
            (math.ceil(axis.pad * freq * (1 - _LOCAL_BAND)), math.ceil(axis.pad * (freq - lobe))),
            (math.floor(axis.pad * (freq + lobe)) + 1, math.floor(axis.pad * freq * (1 + _LOCAL_BAND)) + 1),
        )
        count, power = 0, 0.0
        for start, stop in runs:
            start, stop = max(start, 0), min(stop, last)
            if stop > start:
                count += stop - start
                power += float(axis.power_below[stop] - axis.power_below[start])
        if count < 4 or power <= 0.0:
            continue
        # The fit's own line is exact; a divisor's is read off the padded spectrum's nearest bin.
        line = fit.z * axis.energy if divisor == 1 else float(np.abs(axis.spectrum[min(round(axis.pad * freq), last - 1)]))
        strongest = max(strongest, line / math.sqrt(power / count))
    return strongest


def _margin(ranked: list[_Hypothesis]) -> float:
    """How much cheaper the winner is than the best hypothesis of another cell size, in [0, 1]."""
    best = ranked[0]
    rivals = [
        h.cost
        for h in ranked[1:]
        if abs(h.cell[0] / best.cell[0] - 1) > 0.05 or abs(h.cell[1] / best.cell[1] - 1) > 0.05
    ]
    return 1.0 if not rivals else _clip01((min(rivals) - best.cost) / _MARGIN_SURE)


@dataclass(frozen=True)
class _Prepared:
    """What the hypotheses of one image are built from: its planes, edge profiles and their evidence."""

    premultiplied: np.ndarray
    profiles: tuple[np.ndarray, np.ndarray]
    evidence: tuple[_Evidence, _Evidence]
    wrap: bool

    @classmethod
    def of(cls, image: np.ndarray, wrap: bool) -> "_Prepared":
        premultiplied = _premultiplied(image)
        px, py = _profiles(premultiplied, wrap)
        return cls(premultiplied, (px, py), (_Evidence.of(px, wrap), _Evidence.of(py, wrap)), wrap)

    # Built once per image: the second, finer pass of detect_grid costs its
    # hypotheses on the same cells.
    @cached_property
    def planes(self) -> np.ndarray:
        return _colour_planes(self.premultiplied)

    @cached_property
    def model(self) -> "_CellModel":
        return _CellModel(self.planes)

    @cached_property
    def window(self) -> tuple[int, int, int, int] | None:
        return None if self.wrap else _content_window(self.planes)

    def shows_fine_lattice(self, min_cell: float) -> bool:
        """Whether both axes' spectra have a line under :data:`_SMALLEST_CELL` above random edges
        (z >= _Z_NOISE), at periods square within _PAIR_NEAR: a cheap look, read off the spectra."""
        lo = max(min_cell, _SMALLEST_FINE_CELL)
        if lo >= _SMALLEST_CELL:
            return False
        found = []
        for evidence in self.evidence:
            periods = [_spectrum_lines(axis, lo, _SMALLEST_CELL) for axis in (evidence.raw, evidence.damped)]
            found.append(np.sort(np.concatenate(periods)))
        xs, ys = found
        if not xs.size or not ys.size:
            return False
        # Some y period within _PAIR_NEAR of some x period: |x / y - 1| <= r.
        below = np.searchsorted(ys, xs / (1 + _PAIR_NEAR), side="left")
        above = np.searchsorted(ys, xs / (1 - _PAIR_NEAR), side="right")
        return bool(np.any(above > below))


def _spectrum_lines(axis: _Axis, lo: float, hi: float) -> np.ndarray:
    """The periods in [lo, hi) whose spectrum bin stands at z >= _Z_NOISE (|S| / ||p||, as :func:`_fit_at`)."""
    if axis.energy <= 0.0:
        return np.empty(0)
    first, last = math.floor(axis.pad / hi) + 1, min(math.floor(axis.pad / lo), axis.spectrum.size - 1)
    if last < first:
        return np.empty(0)
    bins = np.arange(first, last + 1)
    line = np.abs(axis.spectrum[first : last + 1])
    return axis.pad / bins[line >= _Z_NOISE * axis.energy]


def _is_fine_and_square(cell: tuple[float, float]) -> bool:
    return max(cell) < _SMALLEST_CELL and abs(cell[0] / cell[1] - 1) <= _PAIR_NEAR


def _hypotheses(
    images: list[np.ndarray],
    *,
    min_cell: float,
    max_cell: float,
    wrap: bool,
    prior_cell: float | None,
    prior_size: tuple[int, int] | None,
    prepared: list[_Prepared],
    smallest: float = _SMALLEST_CELL,
) -> list[list[_Hypothesis]]:
    """Every image's hypotheses, cheapest first; candidates are pooled over the images.

    Estimators propose periods from ``smallest`` up (exact upscales and
    priors below it too).
    """
    evidence = []
    candidates: list[float] = []
    exact: list[float] = []
    factors = []
    for image, ready in zip(images, prepared):
        height, width = image.shape[:2]
        px, py = ready.profiles
        axes = ready.evidence
        evidence.append(axes)
        lowest = max(min_cell, min(smallest, max_cell))
        candidates += axes[0].candidates(lowest, min(max_cell, width))
        candidates += axes[1].candidates(lowest, min(max_cell, height))
        factor = _square_factor(_exact_upscale_period(px), _exact_upscale_period(py))
        factors.append(factor)
        for period in factor:
            if period is not None:
                # Runs of equal cells make the spacing a multiple of the factor.
                exact += [float(d) for d in range(2, period + 1) if period % d == 0 and min_cell <= d <= max_cell]
    if min_cell == max_cell:
        candidates.append(min_cell)
    # An exact upscale's period is known to the pixel: it is not refined.
    guesses = [(period, 0.0) for period in sorted(set(exact))]
    guesses += [(period, _REFINE_NEAR) for period in _dedupe(_harmonics(candidates + exact, min_cell, max_cell))]
    ranked_per_image = []
    for image, (evidence_x, evidence_y), factor, ready in zip(images, evidence, factors, prepared):
        height, width = image.shape[:2]
        priors = _prior_cells(width, height, prior_cell, prior_size)
        planes, model, window = ready.planes, ready.model, ready.window
        grids_x = _axis_grids(
            evidence_x, guesses + [(p[0], _PRIOR_NEAR) for p in priors], min_cell, min(max_cell, float(width)),
            factor=factor[0],
        )
        grids_y = _axis_grids(
            evidence_y, guesses + [(p[1], _PRIOR_NEAR) for p in priors], min_cell, min(max_cell, float(height)),
            factor=factor[1],
        )
        supported_axes = {id(g) for grids in (grids_x, grids_y) for g in grids
                          if _support(g, grids) >= _Z_NOISE or g.local_z >= _LOCAL_Z_NOISE}
        # Square cells: every axis grid meets the other axis's nearest
        # period (within _PAIR_NEAR); a declared prior pairs as declared.
        pairs: list[tuple[_AxisGrid, _AxisGrid]] = []
        seen: set[tuple[int, int]] = set()

        def pair(x: _AxisGrid, y: _AxisGrid) -> None:
            if (id(x), id(y)) not in seen:
                seen.add((id(x), id(y)))
                pairs.append((x, y))

        for own, others, flip in ((grids_x, grids_y, False), (grids_y, grids_x, True)):
            for grid in own:
                near = [g for g in others if abs(g.fit.period / grid.fit.period - 1) <= _PAIR_NEAR]
                if near:
                    other = min(near, key=lambda g: abs(g.fit.period / grid.fit.period - 1))
                    pair(*((other, grid) if flip else (grid, other)))
        for x in grids_x:
            for y in grids_y:
                if priors and _is_near((x.fit.period, y.fit.period), priors):
                    pair(x, y)
        if grids_x and grids_y:
            # The strongest lattice per axis, paired even when it is not square.
            strongest = (max(grids_x, key=lambda g: g.fit.score), max(grids_y, key=lambda g: g.fit.score))
            pair(*strongest)
        # Branch and bound: one 2x2 merge (phase 0) gives a lower bound on
        # each cost (more merges and phases can only raise it); hypotheses are
        # completed in that order until no bound can beat the best complete cost.
        def score(x: _AxisGrid, y: _AxisGrid, merges: tuple[int, ...], every_phase: bool = True) -> _Hypothesis:
            supported = id(x) in supported_axes and id(y) in supported_axes
            return _cost(model, planes, x, y, priors, wrap, supported=supported, merges=merges, every_phase=every_phase,
                         window=window)

        bounds = sorted((score(x, y, (2,), every_phase=False) for x, y in pairs), key=lambda h: h.cost)
        scored: list[_Hypothesis] = []
        best = math.inf
        for index, bound in enumerate(bounds):
            if bound.cost > best and bound.cell != factor:
                scored += bounds[index:]
                break
            complete = score(bound.x, bound.y, (2, 3))
            best = min(best, complete.cost)
            scored.append(complete)
        # A nearest-neighbour upscale's factor (the coarsest lattice holding
        # every colour change) is its grid, even where a partial border cell
        # merged into its neighbour makes the fit inexact.
        scored.sort(key=lambda h: (h.cell != factor, h.cost))
        ranked_per_image.append(scored)
    return ranked_per_image


# A coarser exact lattice than the best one must be this many times its cell
# on both axes (the half-cell trap is 2x).
_COARSER_EXACT = 1.5


def _coarsest_exact_first(hypotheses: list[_Hypothesis]) -> list[_Hypothesis]:
    """The hypotheses with the coarsest exact one first, when the best is exact and a coarser one is too.

    Every cell of an exact hypothesis is one flat colour, so every colour
    change lies on its cuts; on a coarser exact one as well, and the finer
    lattice only splits flat cells: the coarsest is the grid (the rule that
    picks a nearest-neighbour upscale's factor). The factor itself needs a
    lattice of whole pixels across the image; a panel of upscales whose
    phase shifts from tile to tile (fractional gutters between them) has
    none, and its snapped cuts fit half the cell as exactly as the cell,
    where the knee can favour either (heldout22's panel: 9.42 px ranked
    first, 18.40 px second, both exact).
    """
    if not hypotheses or not hypotheses[0].exact:
        return hypotheses
    best = hypotheses[0]
    if best.x.exact or best.y.exact:
        return hypotheses  # a whole-pixel factor: already the coarsest lattice holding every change
    coarser = [h for h in hypotheses[1:] if h.exact and h.cell[0] >= _COARSER_EXACT * best.cell[0]
               and h.cell[1] >= _COARSER_EXACT * best.cell[1]]
    if not coarser:
        return hypotheses
    coarsest = max(coarser, key=lambda h: h.cell[0] * h.cell[1])
    return [coarsest] + [h for h in hypotheses if h is not coarsest]


def detect_grid(
    image: np.ndarray,
    *,
    min_cell: float = 2,
    max_cell: float = 64,
    wrap: bool = False,
    prior_cell: float | None = None,
    prior_size: tuple[int, int] | None = None,
) -> GridResult:
    """Detect the cell grid of an upscaled pixel-art render (RGB or RGBA uint8).

    ``min_cell == max_cell`` fixes the period and only detects phase and cuts.
    ``prior_cell`` (render pixels per cell) and ``prior_size`` (cells, w x h)
    steer the search: they join the candidates and win when the evidence is
    close. An image without periodic structure yields ``periodic`` false and
    confidence 0 (a featureless one a single cell).
    """
    _check_image(image)
    _check_range(min_cell, max_cell)
    height, width = image.shape[:2]
    prepared = [_Prepared.of(image, wrap)]

    def ranked(smallest: float) -> list[_Hypothesis]:
        (hypotheses,) = _hypotheses(
            [image], min_cell=float(min_cell), max_cell=float(max_cell), wrap=wrap,
            prior_cell=prior_cell, prior_size=prior_size, prepared=prepared, smallest=smallest,
        )
        return hypotheses

    hypotheses = _coarsest_exact_first(ranked(_SMALLEST_CELL))
    if not hypotheses:
        return _single_cell_grid(width, height, wrap)
    result = _result(hypotheses, wrap)
    if prepared[0].shows_fine_lattice(float(min_cell)):
        fine = _coarsest_exact_first(ranked(_SMALLEST_FINE_CELL))
        if fine and _is_fine_and_square(fine[0].cell):
            candidate = _result(fine, wrap)
            if candidate.confidence >= _FINE_MIN_CONFIDENCE:
                return candidate
    return result


def grid_for_cell(
    image: np.ndarray, cell: tuple[float, float], *, wrap: bool = False
) -> GridResult:
    """The grid of a known cell size on ``image``: phase and snapped cuts only."""
    _check_image(image)
    height, width = image.shape[:2]
    px, py = edge_profiles(image, wrap=wrap)
    grids = []
    for profile, period, length in zip((px, py), cell, (width, height)):
        period = min(float(period), float(length))
        found = _axis_grids(_Evidence.of(profile, wrap), [(period, 0.0)], period, period)
        if not found:  # featureless axis: a plain lattice from 0
            axis = _make_axis(profile, wrap, dejpeg=False)
            fit = _Fit(period=period, phase=0.0, score=0.0, z=0.0)
            found = [_AxisGrid(axis, fit, *_axis_cuts(axis, fit), pinned=True)]
        grids.append(found[0])
    planes = _colour_planes(_premultiplied(image))
    return _result([_cost(_CellModel(planes), planes, grids[0], grids[1], [], wrap)], wrap)


def detect_grid_joint(
    images: list[np.ndarray],
    *,
    min_cell: float = 2,
    max_cell: float = 64,
    wrap: bool = False,
    prior_cell: float | None = None,
    prior_size: tuple[int, int] | None = None,
) -> tuple[list[GridResult], float]:
    """One cell size for a set of renders (an animation's frames, a character's facings).

    Candidates are pooled over all images and every hypothesis is costed on
    each; the cell size with the lowest total cost wins, and every image
    gets that cell with its own phase and cuts. Also returns the grid
    consistency: the share of images whose own best cell is the shared one.
    """
    if not images:
        return [], 1.0
    for image in images:
        _check_image(image)
    _check_range(min_cell, max_cell)
    prepared = [_Prepared.of(image, wrap) for image in images]

    def shared(smallest: float) -> tuple[list[GridResult], float, tuple[float, float] | None]:
        ranked = _hypotheses(
            list(images), min_cell=float(min_cell), max_cell=float(max_cell), wrap=wrap,
            prior_cell=prior_cell, prior_size=prior_size, prepared=prepared, smallest=smallest,
        )
        return _shared_grid(images, ranked, wrap)

    results, consistency, _ = shared(_SMALLEST_CELL)
    # As detect_grid: cells under the floor only when every image shows such a lattice and it is sure.
    if all(ready.shows_fine_lattice(float(min_cell)) for ready in prepared):
        fine_results, fine_consistency, fine_cell = shared(_SMALLEST_FINE_CELL)
        if (fine_cell is not None and _is_fine_and_square(fine_cell)
                and float(np.median([result.confidence for result in fine_results])) >= _FINE_MIN_CONFIDENCE):
            return fine_results, fine_consistency
    return results, consistency


def _near_cell(hypotheses: list[_Hypothesis], cell: tuple[float, float]) -> list[_Hypothesis]:
    """The hypotheses within 2 % of ``cell`` on both axes, in rank order."""
    return [h for h in hypotheses if abs(h.cell[0] / cell[0] - 1) <= 0.02 and abs(h.cell[1] / cell[1] - 1) <= 0.02]


def _coarsest_exact_shared(
    ranked: list[list[_Hypothesis]], cell: tuple[float, float] | None, candidates: set[tuple[float, float]]
) -> tuple[float, float] | None:
    """``_coarsest_exact_first`` over a set: the shared cell yields to the coarsest candidate at least
    ``_COARSER_EXACT`` times it on both axes when both are exact in every image and the shared cell is
    not a whole-pixel factor in any of them."""
    if cell is None or not all(ranked):
        return cell
    chosen = [_near_cell(hypotheses, cell)[0] for hypotheses in ranked]
    if not all(h.exact and not (h.x.exact or h.y.exact) for h in chosen):
        return cell

    def exact_in_every_image(candidate: tuple[float, float]) -> bool:
        return all(near and near[0].exact for near in (_near_cell(hypotheses, candidate) for hypotheses in ranked))

    coarser = [c for c in candidates if c[0] >= _COARSER_EXACT * cell[0] and c[1] >= _COARSER_EXACT * cell[1]
               and exact_in_every_image(c)]
    return max(coarser, key=lambda c: c[0] * c[1]) if coarser else cell


def _shared_grid(
    images: list[np.ndarray], ranked: list[list[_Hypothesis]], wrap: bool
) -> tuple[list[GridResult], float, tuple[float, float] | None]:
    """The cell size with the lowest total cost over the images' hypotheses: each image's grid at it,
    the consistency, and the shared cell (None when no square-ish cell is found in every image)."""

    best_cell, best_total = None, math.inf
    # A set shares square-ish cells; a skewed pair is one image's accident.
    shared_candidates = {h.cell for hypotheses in ranked for h in hypotheses[:8] if abs(h.cell[0] / h.cell[1] - 1) <= _PAIR_NEAR}
    for cell in sorted(shared_candidates):
        total = 0.0
        for hypotheses in ranked:
            near = _near_cell(hypotheses, cell)
            if not near:
                total = math.inf
                break
            total += near[0].cost
        if total < best_total:
            best_cell, best_total = cell, total
    best_cell = _coarsest_exact_shared(ranked, best_cell, shared_candidates)
    results = []
    agree = 0
    for image, hypotheses in zip(images, ranked):
        height, width = image.shape[:2]
        if not hypotheses:
            results.append(_single_cell_grid(width, height, wrap))
            continue
        chosen = _near_cell(hypotheses, best_cell)[0] if best_cell is not None else hypotheses[0]
        agree += bool(_near_cell(_coarsest_exact_first(hypotheses)[:1], chosen.cell))
        shared = _result([chosen] + [h for h in hypotheses if h is not chosen], wrap)
        if best_cell is not None:
            # Exactly the shared cell size; each image keeps its own phase and cuts.
            fixed = grid_for_cell(image, best_cell, wrap=wrap)
            shared = replace(shared, cell=fixed.cell, offset=fixed.offset, cuts_x=fixed.cuts_x, cuts_y=fixed.cuts_y)
        results.append(shared)
    # The set's grid is visible when any image shows it, and as sure as the
    # set's median image: a nearly empty frame takes its siblings' evidence.
    if best_cell is not None and any(result.periodic for result in results):
        confidence = float(np.median([result.confidence for result in results]))
        results = [replace(result, periodic=True, confidence=confidence) for result in results]
    return results, agree / len(images), best_cell


def declared_grid(width: int, height: int, *, cells_x: int, cells_y: int) -> GridResult:
    """An even grid of ``cells_x`` x ``cells_y`` cells over a ``width`` x ``height`` image.

    Cut positions are rounded, so cells differ by at most one pixel. Its
    confidence is 1.0 because it is declared, not measured.
    """
    for name, value in (
        ("width", width),
        ("height", height),
        ("cells_x", cells_x),
        ("cells_y", cells_y),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if cells_x > width or cells_y > height:
        raise ValueError(
            f"cannot cut a {width}x{height} image into {cells_x}x{cells_y} cells: more cells than pixels"
        )
    cuts_x = tuple(math.floor(k * width / cells_x + 0.5) for k in range(cells_x + 1))
    cuts_y = tuple(math.floor(k * height / cells_y + 0.5) for k in range(cells_y + 1))
    return GridResult(
        cell=(width / cells_x, height / cells_y),
        offset=(0, 0),
        cuts_x=cuts_x,
        cuts_y=cuts_y,
        confidence=1.0,
        wrap=False,
        method="declared",
    )
