"""Find the pseudo-pixel grid of an upscaled, degraded pixel-art render.

Method, per axis:

1. Edge profile: the summed absolute colour difference between neighbouring
   columns (rows), so every cell boundary becomes a peak. A baseline (the
   profile's median) is subtracted so flat-region noise does not count.
2. Period: the profile's spectrum is a comb-fit score, ``|S(f)| / sum(p)``
   with ``S(f) = sum_x p[x] exp(-2 pi i f x)``: it is 1 when every edge lies
   on a lattice of period 1/f. Multiples of the true cell cancel out
   (alternating phases) but divisors (cell/2, cell/3) score as high, so the
   *largest* period whose score is close to the best is taken. The FFT is
   zero-padded and the peak refined by direct evaluation, so non-integer cells
   (7.5 when cells alternate 7 and 8 px) are found.
3. Phase: the angle of ``S(f)`` gives the lattice offset.
4. Cuts: every lattice line is snapped to the strongest profile peak within a
   third of a cell, absorbing uneven cell widths; a sliver narrower than half
   a cell at an image border is merged into its neighbour.
5. Confidence: how far the comb score stands above what a profile of random
   edges of the same energy would reach (the pitch-validation-by-z-score idea),
   mapped to [0, 1]; noise and photographs land near 0.

With ``wrap=True`` the image is a seamless tile: profiles include the seam,
only periods that divide the size a whole number of times are considered, and
``cuts_*`` are expressed in the frame of the image rolled left/up by
``offset`` (see :class:`GridResult`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_image

__all__ = ["GridResult", "declared_grid", "detect_grid", "edge_profiles"]


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
    """

    cell: tuple[float, float]
    offset: tuple[int, int]
    cuts_x: tuple[int, ...]
    cuts_y: tuple[int, ...]
    confidence: float
    wrap: bool = False
    method: str = "detected"

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
    if image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.uint16)
        rgb = (image[..., :3].astype(np.uint16) * alpha + 127) // 255
        work = np.concatenate([rgb, alpha], axis=2).astype(np.int16)
    else:
        work = image.astype(np.int16)
    height, width = work.shape[:2]
    px = np.zeros(width, dtype=np.float64)
    py = np.zeros(height, dtype=np.float64)
    # Summing int16 into int32 per axis is ~25x faster than numpy's default
    # int64 reduction over a strided axis.
    px[1:] = np.abs(work[:, 1:] - work[:, :-1]).sum(axis=0, dtype=np.int32).sum(axis=1)
    py[1:] = (
        np.abs(work[1:] - work[:-1]).reshape(height - 1, -1).sum(axis=1, dtype=np.int32)
    )
    if wrap:
        px[0] = np.abs(work[:, 0] - work[:, -1]).sum()
        py[0] = np.abs(work[0] - work[-1]).sum()
    return px, py


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _comb(profile: np.ndarray, freq: float) -> complex:
    positions = np.arange(profile.size, dtype=np.float64)
    return complex(np.sum(profile * np.exp(-2j * math.pi * freq * positions)))


# Confidence maps the comb score |S|/sum(p) linearly from _SCORE_NOISE (0) to
# _SCORE_SURE (1). Measured at 1024 px: noise ~0.1, upscaled photos (whose
# resampling leaves a faint 2-3 px periodicity) <= 0.36, degraded corpus
# renders 0.45-0.9. It is also damped when the score is not clearly above
# what random edges of the same energy reach (|S| / sqrt(sum(p^2)) ~ 2-3).
_SCORE_NOISE = 0.3
_SCORE_SURE = 0.55
_Z_NOISE = 2.5


# A sub-multiple frequency (a period k times the best one) replaces the best
# when it reaches this share of the best score: the best peak was then a
# harmonic of the true cell. Tuned on the synthetic corpus.
_HARMONIC_SHARE = 0.7


def _fundamental(scores: np.ndarray, best_bin: int, lowest_bin: int) -> int:
    """The bin of the cell's fundamental, given the bin of the best comb score.

    Edges on a lattice of period c also score fully at c/2, c/3, ... (every
    k-th line of the finer lattice carries an edge), but multiples of c
    cancel out. So when the best peak sits at c/k, the frequency best/k
    scores nearly as high; the largest such k wins. Unrelated peaks are never
    considered, which keeps sprite-envelope sidelobes from being chosen.
    """
    best = float(scores[best_bin])
    for k in range(max(1, int(best_bin // max(lowest_bin, 1))), 1, -1):
        centre = best_bin / k
        if centre < lowest_bin - 1:
            continue
        # best_bin is within half a bin of the truth, so best/k within 1/(2k).
        lo = max(math.floor(centre) - 1, 0)
        hi = math.ceil(centre) + 1
        window = scores[lo : hi + 1]
        if window.size and float(window.max()) >= _HARMONIC_SHARE * best:
            return lo + int(np.argmax(window))
    return best_bin


@dataclass(frozen=True)
class _AxisFit:
    period: float
    phase: float
    score: float
    confidence: float


# JPEG codes 8x8 blocks (16x16 for subsampled chroma), leaving faint edges on
# every 8th column and row of the render, aligned to 0.
_JPEG_BLOCK = 8


def _clean_profile(profile: np.ndarray, *, dejpeg: bool) -> tuple[np.ndarray, float]:
    """Baseline-free edge profile and its noise level.

    The median (flat-region noise) is subtracted and negatives clipped. With
    ``dejpeg`` the typical excess on JPEG block boundaries is subtracted there
    too, so the codec's 8-px grid neither wins the period search nor
    attracts cut lines.
    """
    centre = float(np.median(profile))
    work = profile - centre
    if dejpeg and work.size >= 4 * _JPEG_BLOCK:
        # Excess of the block-boundary columns over the busiest other residue
        # mod 8: a 4-px (or 2-px) cell grid has edges on several residues and
        # yields no excess, so its edges on the boundaries are left alone.
        usable = (work.size // _JPEG_BLOCK) * _JPEG_BLOCK
        by_residue = np.median(work[:usable].reshape(-1, _JPEG_BLOCK)[1:], axis=0)
        excess = float(by_residue[0] - by_residue[1:].max())
        if excess > 0:
            work[_JPEG_BLOCK::_JPEG_BLOCK] -= excess
    noise = float(np.median(np.abs(work)))
    np.maximum(work, 0.0, out=work)
    return work, noise


def _jpeg_like(fit: _AxisFit) -> bool:
    """A lattice that coincides with JPEG's block grid (period 8 or 16, phase 0 mod 8)."""
    on_block = min(fit.phase % _JPEG_BLOCK, -fit.phase % _JPEG_BLOCK) <= 1.0
    return on_block and (abs(fit.period - 8.0) < 0.1 or abs(fit.period - 16.0) < 0.2)


def _fit_axis(
    work: np.ndarray, *, min_cell: float, max_cell: float, wrap: bool
) -> _AxisFit | None:
    """Period, phase and confidence of the edge lattice in a cleaned profile."""
    length = work.size
    total = float(work.sum())
    if total <= 0.0:
        return None
    energy = float(np.sqrt(np.sum(work * work)))
    max_cell = min(max_cell, float(length))
    if max_cell < min_cell:
        return None
    if wrap:
        # Only whole numbers of cells tile a torus: test f = n / length exactly.
        spectrum = np.abs(np.fft.rfft(work))
        counts = np.arange(spectrum.size)
        valid = (
            (counts >= length / max_cell - 1e-9)
            & (counts <= length / min_cell + 1e-9)
            & (counts >= 1)
        )
        if not valid.any():
            # A fixed period that does not divide the tile: take the nearest count.
            nearest = round(2.0 * length / (min_cell + max_cell))
            if not 1 <= nearest < counts.size:
                return None
            valid[nearest] = True
        scores = spectrum / total
        candidates = np.flatnonzero(valid)
        best_bin = int(candidates[int(np.argmax(scores[candidates]))])
        n_cells = _fundamental(
            np.where(valid, scores, 0.0), best_bin, int(candidates.min())
        )
        freq = n_cells / length
        value = _comb(work, freq)
        score = abs(value) / total
    else:
        pad = 1 << math.ceil(math.log2(length * 8))
        spectrum = np.abs(np.fft.rfft(work, n=pad))
        freqs = np.arange(spectrum.size) / pad
        lo, hi = 1.0 / max_cell, 1.0 / min_cell
        valid = (freqs >= lo - 1e-12) & (freqs <= hi + 1e-12)
        if not valid.any():
            # A single-period search range (min_cell == max_cell) may fall between bins.
            valid[round(lo * pad)] = True
        scores = spectrum / total
        # Local maxima only, so a broad peak's shoulder is not mistaken for a period.
        left = np.concatenate([[-np.inf], scores[:-1]])
        right = np.concatenate([scores[1:], [-np.inf]])
        peaks = np.flatnonzero(valid & (scores >= left) & (scores >= right))
        if peaks.size == 0:
            peaks = np.flatnonzero(valid)
        best_bin = int(peaks[int(np.argmax(scores[peaks]))])
        bin_index = _fundamental(
            np.where(valid, scores, 0.0), best_bin, int(np.flatnonzero(valid).min())
        )
        # Refine between the neighbouring bins by golden-section search on the
        # exact comb score, clamped to the allowed period range.
        a = max((bin_index - 1) / pad, lo)
        b = min((bin_index + 1) / pad, hi)
        if b <= a:
            freq = a
        else:
            ratio = (math.sqrt(5.0) - 1.0) / 2.0
            c = b - ratio * (b - a)
            d = a + ratio * (b - a)
            fc, fd = abs(_comb(work, c)), abs(_comb(work, d))
            for _ in range(18):
                if fc > fd:
                    b, d, fd = d, c, fc
                    c = b - ratio * (b - a)
                    fc = abs(_comb(work, c))
                else:
                    a, c, fc = c, d, fd
                    d = a + ratio * (b - a)
                    fd = abs(_comb(work, d))
            freq = (a + b) / 2.0
        value = _comb(work, freq)
        score = abs(value) / total
    period = 1.0 / freq
    phase = (-math.atan2(value.imag, value.real) / (2.0 * math.pi * freq)) % period
    z = abs(value) / energy if energy > 0 else 0.0
    confidence = _clip01(
        (score - _SCORE_NOISE) / (_SCORE_SURE - _SCORE_NOISE)
    ) * _clip01((z - _Z_NOISE) / 2.0)
    return _AxisFit(period=period, phase=phase, score=score, confidence=confidence)


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


_SNAP_NOISE_FACTOR = 6.0


def _axis_cuts(
    work: np.ndarray, noise: float, fit: _AxisFit, wrap: bool
) -> tuple[int, tuple[int, ...]]:
    length = work.size
    # An edge must stand well above flat-region noise to move a cut line.
    floor = _SNAP_NOISE_FACTOR * noise
    period, phase = fit.period, fit.phase
    radius = max(0.5, period / 3.0)
    if wrap:
        n_cells = max(1, round(length / period))
        offset = (
            int(_snap_all(work, np.array([phase]), radius, True, floor)[0]) % length
        )
        rolled = np.roll(work, -offset)
        inner = (
            _snap_all(rolled, np.arange(1, n_cells) * period, radius, False, floor)
            if n_cells > 1
            else []
        )
        cuts = sorted({0, length, *(int(c) for c in inner if 0 < c < length)})
        return offset, tuple(cuts)
    count = math.floor((length - phase) / period) + 1
    targets = phase + period * np.arange(count)
    targets = targets[(targets > 0) & (targets < length)]
    lines = (
        _snap_all(work, targets, radius, False, floor)
        if targets.size
        else np.array([], dtype=np.int64)
    )
    cuts = sorted({0, length, *(int(c) for c in lines if 0 < c < length)})
    # Slivers under half a cell at the borders are not cells of their own.
    if len(cuts) > 2 and cuts[1] - cuts[0] < period / 2.0:
        del cuts[1]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < period / 2.0:
        del cuts[-2]
    offset = round(phase) % max(1, round(period))
    return offset, tuple(cuts)


# Share of its own best score an axis refit near the other axis's period must
# reach to replace it.
_SQUARE_SHARE = 0.6


def _fit_profile(
    profile: np.ndarray, *, min_cell: float, max_cell: float, wrap: bool
) -> tuple[_AxisFit, np.ndarray, float] | None:
    """Fit one axis; returns the fit with the cleaned profile and noise used for cuts.

    A JPEG round-trip leaves an 8-px block grid. When the raw fit lands on
    it, fit again with the block edges damped; a different answer there
    means the blocks had hidden the real cells. Otherwise the damped profile
    still serves the cut snapping, away from block edges.
    """
    options = {"min_cell": min_cell, "max_cell": max_cell, "wrap": wrap}
    work, noise = _clean_profile(profile, dejpeg=False)
    fit = _fit_axis(work, **options)
    if fit is None:
        return None
    clean, clean_noise = _clean_profile(profile, dejpeg=True)
    if _jpeg_like(fit):
        alternative = _fit_axis(clean, **options)
        # Cells of 16 px aligned to the blocks also look "JPEG-like": a longer
        # period in the damped profile means the 8-px answer was the blocks.
        if alternative is not None and (
            not _jpeg_like(alternative) or alternative.period > 1.5 * fit.period
        ):
            return alternative, clean, clean_noise
        return fit, work, noise
    return fit, clean, clean_noise


def detect_grid(
    image: np.ndarray,
    *,
    min_cell: float = 2,
    max_cell: float = 64,
    wrap: bool = False,
) -> GridResult:
    """Detect the cell grid of an upscaled pixel-art render (RGB or RGBA uint8).

    ``min_cell == max_cell`` fixes the period and only detects phase and cuts.
    A featureless axis yields a single cell and confidence 0.
    """
    _check_image(image)
    if not (isinstance(min_cell, (int, float)) and isinstance(max_cell, (int, float))):
        raise TypeError("min_cell and max_cell must be numbers")
    if min_cell < 2 or max_cell < min_cell:
        raise ValueError(
            f"need 2 <= min_cell <= max_cell, got min_cell={min_cell}, max_cell={max_cell}"
        )
    px, py = edge_profiles(image, wrap=wrap)
    options = {"min_cell": float(min_cell), "max_cell": float(max_cell), "wrap": wrap}
    fits = [_fit_profile(profile, **options) for profile in (px, py)]
    # Pseudo-pixels are square in practice: when the axes disagree by more
    # than a quarter, refit the less confident axis near the other's period
    # and keep that if it scores nearly as well (a JPEG harmonic or an envelope
    # peak then loses to the real cells).
    if fits[0] is not None and fits[1] is not None:
        ratio = fits[0][0].period / fits[1][0].period
        if not 0.8 <= ratio <= 1.25:
            weak = 0 if fits[0][0].confidence < fits[1][0].confidence else 1
            strong_period = fits[1 - weak][0].period
            near = {
                "min_cell": max(float(min_cell), strong_period * 0.92),
                "max_cell": min(float(max_cell), strong_period * 1.08),
                "wrap": wrap,
            }
            if near["min_cell"] <= near["max_cell"]:
                refit = _fit_profile((px, py)[weak], **near)
                if (
                    refit is not None
                    and refit[0].score >= _SQUARE_SHARE * fits[weak][0].score
                ):
                    fits[weak] = refit
    cells: list[float] = []
    offsets: list[int] = []
    cut_lists: list[tuple[int, ...]] = []
    confidences: list[float] = []
    for profile, fitted in zip((px, py), fits):
        if fitted is None:
            cells.append(float(profile.size))
            offsets.append(0)
            cut_lists.append((0, profile.size))
            confidences.append(0.0)
            continue
        fit, work, noise = fitted
        offset, cuts = _axis_cuts(work, noise, fit, wrap)
        cells.append(float(fit.period))
        offsets.append(offset)
        cut_lists.append(cuts)
        confidences.append(fit.confidence)
    return GridResult(
        cell=(cells[0], cells[1]),
        offset=(offsets[0], offsets[1]),
        cuts_x=cut_lists[0],
        cuts_y=cut_lists[1],
        confidence=float(min(confidences)),
        wrap=wrap,
        method="detected",
    )


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
