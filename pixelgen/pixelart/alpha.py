"""Transparency: background removal, binary alpha, speck removal, outlines, placement.

Every function takes and returns uint8 images; all but ``remove_background``
and ``to_rgba`` require RGBA. ``wrap=True`` treats the image as a torus
(seamless tile): connectivity and neighbourhoods continue across the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .color import srgb_to_oklab
from .reduce import ANCHORS, _anchor_split

__all__ = [
    "add_outline",
    "BackgroundDecision",
    "binarize_alpha",
    "find_background",
    "label_components",
    "remove_background",
    "remove_specks",
    "to_rgba",
    "trim_and_place",
]


def _check_image(image: np.ndarray, *, rgba_only: bool) -> None:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must have dtype uint8, got {image.dtype}")
    if rgba_only:
        if image.ndim != 3 or image.shape[2] != 4:
            raise ValueError(
                f"image must be RGBA with shape (H, W, 4), got {image.shape}; use to_rgba() first"
            )
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(
            f"image must have shape (H, W, 3) or (H, W, 4), got {image.shape}"
        )


def to_rgba(image: np.ndarray) -> np.ndarray:
    """RGBA copy of ``image``: RGB gains an opaque alpha channel."""
    _check_image(image, rgba_only=False)
    if image.shape[2] == 4:
        return image.copy()
    alpha = np.full(image.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([image, alpha], axis=2)


def label_components(
    mask: np.ndarray, *, connectivity: int = 4, wrap: bool = False
) -> tuple[np.ndarray, int]:
    """Label connected True regions (4- or 8-connectivity), optionally across the seams.

    Returns ``(labels, count)`` with labels 1..count and 0 outside the mask,
    numbered in scan order of their first pixel.
    """
    from scipy import ndimage

    if mask.ndim != 2 or mask.dtype != bool:
        raise ValueError(
            f"mask must be a 2-D bool array, got {mask.dtype} {mask.shape}"
        )
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labels, count = ndimage.label(mask, structure=structure)
    if not wrap or count == 0:
        return labels, int(count)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # Pairs of labels that touch across a seam: last column/first column and
    # last row/first row (with the diagonal neighbours for 8-connectivity).
    shifts = (0,) if connectivity == 4 else (-1, 0, 1)
    pairs_a: list[np.ndarray] = []
    pairs_b: list[np.ndarray] = []
    for shift in shifts:
        pairs_a.append(labels[:, -1])
        pairs_b.append(np.roll(labels[:, 0], shift))
        pairs_a.append(labels[-1, :])
        pairs_b.append(np.roll(labels[0, :], shift))
    a = np.concatenate(pairs_a)
    b = np.concatenate(pairs_b)
    keep = (a > 0) & (b > 0)
    a, b = a[keep], b[keep]
    graph = coo_matrix(
        (np.ones(a.size, dtype=np.int8), (a, b)), shape=(count + 1, count + 1)
    )
    _, component = connected_components(graph, directed=False)
    # Renumber merged components 1..n in order of their smallest original label.
    roots = component[1:]
    _, first_seen = np.unique(roots, return_index=True)
    order = np.argsort(first_seen, kind="stable")
    new_id = np.empty(order.size, dtype=np.int64)
    new_id[order] = np.arange(1, order.size + 1)
    lookup = np.zeros(count + 1, dtype=np.int64)
    lookup[1:] = new_id[np.searchsorted(np.unique(roots), roots)]
    return lookup[labels], int(order.size)


def _fit_background(
    lab: np.ndarray, border: np.ndarray, tolerance: float
) -> np.ndarray:
    """Per-pixel background colour: a plane per OKLab channel through the border pixels.

    A plane absorbs the faint gradients of "almost flat" generated
    backgrounds; refitting on inliers keeps a sprite that touches the border
    from dragging the fit.
    """
    height, width = lab.shape[:2]
    ys, xs = np.nonzero(border)
    values = lab[ys, xs].astype(np.float64)
    design = np.stack(
        [np.ones(ys.size), xs / max(width - 1, 1), ys / max(height - 1, 1)], axis=1
    )
    median = np.median(values, axis=0)
    inliers = np.sqrt(((values - median) ** 2).sum(axis=1)) <= max(tolerance, 1e-6) * 2
    if inliers.sum() < 3:
        return np.broadcast_to(median.astype(np.float32), lab.shape)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[inliers], values[inliers], rcond=None)
        residual = np.sqrt(((design @ coef - values) ** 2).sum(axis=1))
        refined = residual <= max(tolerance, 1e-6)
        if refined.sum() < 3:
            break
        inliers = refined
    gx = (np.arange(width) / max(width - 1, 1)).astype(np.float32)
    gy = (np.arange(height) / max(height - 1, 1)).astype(np.float32)
    coef = coef.astype(np.float32)
    return coef[0] + gx[None, :, None] * coef[1] + gy[:, None, None] * coef[2]


# A backdrop is "uniform" when at least this share of the border (cells or
# pixels) is transparent or within tolerance of one faint gradient. On the
# real renders of bench/real_renders.json, the 52 sprites on a generated
# backdrop that lose it reach 0.825-1.0 (most of them 1.0); scenes mostly stay
# well below, but a sky or a plain wall along three sides takes nine to
# 0.76-0.89 (and a night sky or a mat all round four to 0.99-1.0), so the two
# overlap. Hollowing a scene destroys it, keeping a
# backdrop only leaves work (and a note says so): the threshold sits at the
# low end of the sprites' range. It was 0.75 until those scenes were counted
# one by one.
_UNIFORM_BORDER_SHARE = 0.8
# An image whose border is at least this share transparent already has its
# background removed: nothing more is taken away.
_CLEAR_BORDER_SHARE = 0.5
# A sprite sits inside the frame; a scene is a crop of a wider world, so its
# ground, horizon, walls or floor run off two opposite edges. When what the
# backdrop's flood would keep covers at least this share of both the left and
# right edges (or of both the top and bottom), the border's uniform part is a
# sky or a dark surround, not a backdrop, and the image is kept whole. On the
# real renders of bench/real_renders.json the scenes this keeps measure
# 0.14-0.95 on both edges of a pair; two sprites cropped by two edges reach
# 0.11 and 0.20 (they keep their backdrop and say so); a vignetted portrait
# (0.09) and a revolver touching both sides (0.07) fall short; the rest
# measure 0.0 on one edge of each pair.
_OPPOSITE_EDGES_SHARE = 0.1
# A picture on a mat or in a frame is, pixel for pixel, a sprite on a
# backdrop; what tells it apart is that the backdrop's flood leaves a filled
# rectangle. On the real renders of bench/real_renders.json the three framed
# or matted scenes fill 1.0 of their rectangle and the 70 sprites and sheets
# that lose a backdrop 0.23-0.90: specks in a mat have room under 1.0.
_FRAMED_FILL = 0.97
# ... and a scene inside it spreads over many colours, where a UI panel's or
# a button's face covers most of its rectangle in one. The three framed
# scenes have 20-36 % of their rectangle within tolerance of its commonest
# colour.
_FRAMED_FACE_SHARE = 0.5
# A panel's face reaches every side of its rectangle but for the frame
# lines (up to this many cells, or this share of the side where it is
# longer); a sky or a wall that covers half of a scene stops halfway.
_FRAME_WIDTH_CELLS = 2
_FRAME_WIDTH_SHARE = 0.1
# A night or vignetted scene fades into its dark surround: where the flood
# stops, the picture is only a little lighter than the surround. A sprite's
# edge is a line that stands out from its backdrop. On the real renders of
# bench/real_renders.json that a flood would hollow, the median OKLab
# lightness step from the surround to the picture's edge pixels is
# 0.055-0.142 on the seven night interiors and close-ups (their surround's
# lightness 0.08-0.18); on the sprites and sheets on a surround as dark it is
# 0.225 or more, but for two with a dark outline (0.12 and 0.14), which keep
# their backdrop and say so. Light backdrops are left out: a pale frame on a
# pale mat is a step as small, and on them the step would keep only two more
# of the scenes seen hollowed (a sepia vignette, 0.14; a bowl, 0.17). Set on
# those renders, not held out.
_DARK_SURROUND_L = 0.25
_FADE_STEP_L = 0.2
# Fewer edge pixels than this give no median to trust.
_FADE_MIN_EDGE = 8
# A sprite stands out from its backdrop somewhere: an outline, an eye, a
# highlight. A texture (water, grass, a wall) is the backdrop's colour with
# lighter or darker strokes of the same hue, and a flood takes its ground and
# leaves the strokes. On the real renders of bench/real_renders.json that a
# flood would cut, the farthest kept pixel lies 0.33 or more in OKLab from the
# backdrop's colour on every sprite, sheet and icon (most of them 0.6-1.0);
# a seamless water tile's strokes (heldout15, the rule set after its run)
# 0.12. The threshold sits between, nearer the texture.
_FAINT_PATTERN_DISTANCE = 0.2
# A "transparency" checkerboard painted into a render is a backdrop of two
# colours alternating in squares: along the border, runs of one and the
# other of one length (in cells; squares misaligned with the cells give runs
# of n and n + 1). On the real renders of bench/real_renders.json, the 25
# checkerboards the cells resolve (all labelled a backdrop; on 16 the two
# greys are close enough for one faint gradient to take them) have each
# colour on 0.35-0.65 of the border and both on 0.92-1.0, OKLab chroma at
# most 0.018, and quartiles of runs equal or one apart. The seven scenes
# whose borders come nearest (two colours on 0.9 or more, each on 0.3 or
# more: a cave, an office, a kitchen, water) have quartiles of runs 2.5 to
# 22 apart, and six of them chroma 0.043-0.16. Set on those renders, not
# held out.
_CHECKER_BORDER_SHARE = 0.9
_CHECKER_COLOUR_SHARE = 0.3
_CHECKER_MAX_CHROMA = 0.04
_CHECKER_MIN_RUNS = 8


@dataclass(frozen=True)
class BackgroundDecision:
    """What :func:`find_background` decided, with the mask of background pixels.

    ``kind``: "removed" (a uniform backdrop connected to the border, or
    with ``checkerboard`` a painted "transparency" checkerboard),
    "already-transparent" (the border is mostly transparent: nothing more to
    remove), "scene" (the border is not one uniform colour: kept), "tile"
    (a seamless tile has no border: kept).
    """

    kind: str
    mask: np.ndarray
    uniform_share: float
    runs_off: str | None = None
    framed: bool = False
    fades: bool = False
    pattern: bool = False
    checkerboard: bool = False

    @property
    def note(self) -> str | None:
        share = f"{self.uniform_share:.0%}"
        if self.kind == "removed" and self.checkerboard:
            return ('background removed: a "transparency" checkerboard painted into the pixels '
                    "(two greys alternating in squares round the border)")
        remove_anyway = '; background "remove" takes the border colour away regardless'
        if self.kind == "scene" and self.runs_off:
            return (f"background kept: the picture runs off its {self.runs_off} edges ({share} of the border is one colour), "
                    f"so this looks like a scene, not a sprite inside the frame{remove_anyway}")
        if self.kind == "scene" and self.framed:
            return (f"background kept: what the border colour ({share} of the border) surrounds is a picture filling "
                    f"a rectangle, so this looks like a framed or matted scene, not a sprite{remove_anyway}")
        if self.kind == "scene" and self.fades:
            return (f"background kept: the picture fades into the border colour ({share} of the border) with no edge "
                    f"between them, so this looks like a night or vignetted scene, not a sprite{remove_anyway}")
        if self.kind == "scene" and self.pattern:
            return (f"background kept: nothing inside stands out from the border colour ({share} of the border), "
                    f"only shades of it, so this looks like a texture or a tile, not a sprite{remove_anyway}")
        if self.kind == "scene":
            return f"background kept: the border is not one uniform colour ({share} uniform), so this looks like a scene{remove_anyway}"
        if self.kind == "tile":
            return "background kept: a seamless tile has no border to find a background on"
        return None


def find_background(
    image: np.ndarray,
    *,
    tolerance: float,
    wrap: bool = False,
    colours_of: np.ndarray | None = None,
    outline: tuple[int, int, int] | None = None,
    force: bool = False,
) -> BackgroundDecision:
    """Find a near-uniform backdrop connected to the border, or decide there is none.

    The border's colour is fitted as a faint gradient (a plane per OKLab
    channel through the border pixels). Only when most of the border is
    transparent or within ``tolerance`` of that gradient is the image a
    sprite on a backdrop (so it is too when the border is two greys
    alternating in squares, a "transparency" checkerboard painted into the
    pixels, see :func:`_checkerboard`; then the backdrop's colour is either
    grey); then the backdrop is every pixel within tolerance
    connected to the border through such pixels (4-connectivity, so a
    diagonal gap in a 1-px outline does not leak and enclosed regions are
    never reached). Otherwise the image is a scene and nothing is removed;
    so it is too when what the flood would leave runs off two opposite
    edges (``runs_off``): a sprite sits inside the frame, a scene does not;
    and when it is a picture filling a rectangle (``framed``): a mat or a
    frame around a scene, see :func:`_framed_picture`; and when the picture
    fades into the border colour with no edge between them (``fades``): a
    vignette or a night scene, see :func:`_fades_into_surround`; and when
    nothing left stands out from the border colour (``pattern``): a texture,
    see :func:`_faint_pattern`.
    The decision depends only on the pixels, so a second run on the result
    finds the same (now transparent) background.

    ``outline``: the colour :func:`add_outline` paints on the removed
    background around what is kept. In an image with transparency, its
    pixels next to transparent ones or on the image's edge count as
    transparent, so a second run on an outlined result decides as the first
    did (the outline redrawn after it falls on the same pixels).

    ``force``: the caller knows the image is a sprite: the border colour's
    connected region goes even when the border is not uniform or the picture
    runs off two edges. Any transparency on the border then means it went
    already (a second run must not fit the next border colour and flood that).

    ``colours_of`` (same shape) holds the colours before a palette mapped
    them: the border counts as uniform when it is in either colouring, and
    the backdrop's extent is traced in these colours, since mapping may give
    the backdrop the colour of sprite pixels next to it and the flood must
    not follow it there. Deciding on either colouring keeps a second run on
    the result to the same answer: a scene in both stays a scene.
    """
    _check_image(image, rgba_only=False)
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative number, got {tolerance!r}")
    height, width = image.shape[:2]
    nothing = np.zeros((height, width), dtype=bool)
    if wrap:
        return BackgroundDecision("tile", nothing, 0.0)
    border = np.zeros((height, width), dtype=bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    drawn = None
    if outline is not None and image.shape[2] == 4 and np.any(image[..., 3] < 128):
        # The outline lies where the background was: next to what is still
        # transparent, or at the image's edge where a thin strip of removed
        # background is all outline now.
        clear = image[..., 3] < 128
        drawn = ~clear & np.all(image[..., :3] == np.array(_check_colour(outline), dtype=np.uint8), axis=2)
        drawn &= _neighbour_any(clear, wrap=False) | border
    candidate, clear_share = _near_border_colour(image, border, float(tolerance), drawn)
    if clear_share >= _CLEAR_BORDER_SHARE or (force and clear_share > 0):
        return BackgroundDecision("already-transparent", nothing, clear_share)
    share = float((border & candidate).sum()) / float(border.sum())
    in_final_colours = candidate
    if colours_of is not None:
        if colours_of.shape[:2] != image.shape[:2]:
            raise ValueError(f"colours_of must match the image's size, got {colours_of.shape} for {image.shape}")
        # Uniform in either colouring counts: a palette can split a faint
        # backdrop gradient between two colours, or join a noisy one.
        candidate, _ = _near_border_colour(colours_of, border, float(tolerance), drawn)
        share = max(share, float((border & candidate).sum()) / float(border.sum()))
    checker = None
    if share < _UNIFORM_BORDER_SHARE:
        checker = _checkerboard(image, float(tolerance))
        if checker is None and not force:
            return BackgroundDecision("scene", nothing, share)
        if checker is not None:
            # Two colours alternate: the backdrop is near either, in both
            # colourings (the palette must not carry the flood into a sprite
            # pixel it gave a checker colour).
            pair, share = checker
            in_final_colours = _near_either(image, pair, float(tolerance))
            candidate = in_final_colours
            if colours_of is not None:
                candidate = in_final_colours & _near_either(colours_of, pair, float(tolerance))
    backdrop = _border_connected(candidate, border)
    if colours_of is not None and not backdrop.any():
        # A mixed border fitted in the cells' colours can land on a blend that
        # no pixel is near; the final colours, all a second run sees, then give
        # the flood, or that run would remove what this one kept.
        backdrop = _border_connected(in_final_colours, border)
    if force:
        return BackgroundDecision("removed", backdrop, share, checkerboard=checker is not None)
    # What neither colouring's flood reaches is the picture. A second run
    # sees the final colours in both roles, so its flood is no larger and a
    # picture found running off two edges here is found so again.
    final_flood = backdrop if colours_of is None else _border_connected(in_final_colours, border)
    opaque = image[..., 3] >= 128 if image.shape[2] == 4 else np.ones((height, width), dtype=bool)
    if drawn is not None:
        opaque &= ~drawn
    runs_off = _opposite_edges_run_off(opaque & ~(backdrop | final_flood))
    if runs_off:
        return BackgroundDecision("scene", nothing, share, runs_off=runs_off)
    # Judged on the final colours alone: a second run has no others, and an
    # image kept whole comes back with the same colours and the same flood.
    if _framed_picture(image, opaque & ~final_flood, float(tolerance)):
        return BackgroundDecision("scene", nothing, share, framed=True)
    if _fades_into_surround(image, opaque & ~final_flood, final_flood, border):
        return BackgroundDecision("scene", nothing, share, fades=True)
    if _faint_pattern(image, opaque & ~final_flood, final_flood):
        return BackgroundDecision("scene", nothing, share, pattern=True)
    return BackgroundDecision("removed", backdrop, share, checkerboard=checker is not None)


def _perimeter(values: np.ndarray) -> np.ndarray:
    """``values``' border, walked once round clockwise from the top-left corner."""
    return np.concatenate([values[0, :], values[1:, -1], values[-1, -2::-1], values[-2:0:-1, 0]])


def _checkerboard(image: np.ndarray, tolerance: float) -> tuple[np.ndarray, float] | None:
    """The two OKLab colours of a painted "transparency" checkerboard backdrop and the border's share
    they (or transparency) cover; None when the border is not one.

    The border must be, but for what is transparent, two near-grey colours
    that alternate round it in runs of about one length, each on a good
    share of it (see :data:`_CHECKER_BORDER_SHARE`).
    """
    height, width = image.shape[:2]
    if height < 3 or width < 3:
        return None
    rgba = image if image.shape[2] == 4 else to_rgba(image)
    ring = _perimeter(rgba)
    solid = ring[:, 3] >= 128
    keys = ring[solid, :3].astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)
    if keys.size < 2 * _CHECKER_MIN_RUNS:
        return None
    unique, counts = np.unique(keys, return_counts=True)
    if unique.size < 2:
        return None
    top = unique[np.argsort(-counts, kind="stable")[:2]]
    pair = np.stack([(top >> 16) & 255, (top >> 8) & 255, top & 255], axis=1).astype(np.uint8)
    pair_lab = srgb_to_oklab(pair[None])[0]
    if np.hypot(pair_lab[:, 1], pair_lab[:, 2]).max() > _CHECKER_MAX_CHROMA:
        return None
    ring_lab = srgb_to_oklab(np.ascontiguousarray(ring[None, :, :3]))[0]
    distance = np.linalg.norm(ring_lab[:, None, :] - pair_lab[None, :, :], axis=2)
    which = np.where(distance.min(axis=1) <= tolerance, np.argmin(distance, axis=1), 2)
    which[~solid] = 3
    shares = [float((which == k).mean()) for k in (0, 1)]
    if min(shares) < _CHECKER_COLOUR_SHARE or sum(shares) + float((~solid).mean()) < _CHECKER_BORDER_SHARE:
        return None
    starts = np.flatnonzero(np.diff(which, prepend=-1))
    lengths = np.diff(np.append(starts, which.size))
    alternating = (which[starts] < 2)
    # A run is bounded by a run of the other colour on both sides.
    previous, following = np.roll(which[starts], 1), np.roll(which[starts], -1)
    between = alternating & (previous < 2) & (following < 2)
    runs = lengths[between]
    if runs.size < _CHECKER_MIN_RUNS:
        return None
    low, high = np.percentile(runs, [25, 75])
    if high > low + 1:
        return None
    return pair_lab, sum(shares) + float((~solid).mean())


def _near_either(image: np.ndarray, colours: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels transparent or within ``tolerance`` of either OKLab colour in ``colours``."""
    rgba = image if image.shape[2] == 4 else to_rgba(image)
    lab = srgb_to_oklab(np.ascontiguousarray(rgba[..., :3]))
    near = rgba[..., 3] < 128
    for colour in colours:
        offset = lab - colour
        near |= np.einsum("hwc,hwc->hw", offset, offset) <= tolerance**2
    return near


def _border_connected(candidate: np.ndarray, border: np.ndarray) -> np.ndarray:
    """The pixels of ``candidate`` 4-connected to the border through ``candidate``."""
    labels, count = label_components(candidate, connectivity=4, wrap=False)
    is_background = np.zeros(count + 1, dtype=bool)
    is_background[labels[border]] = True
    is_background[0] = False
    return is_background[labels]


def _framed_picture(image: np.ndarray, picture: np.ndarray, tolerance: float) -> bool:
    """Whether ``picture`` (what the backdrop leaves) is a scene on a mat or in a frame.

    It is when it fills its bounding rectangle and is not a panel: a UI
    panel's, a window's or a button's face is one colour (within tolerance)
    over most of the rectangle, reaching every side but for the frame lines,
    and those lose their backdrop as sprites do. A scene's colours spread,
    and a flat sky or wall in it covers one part of the rectangle.
    """
    ys, xs = np.nonzero(picture)
    if ys.size == 0:
        return False
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    if min(picture[box].shape) < 3 or picture[box].mean() < _FRAMED_FILL:
        return False
    rgb = np.ascontiguousarray(image[box][..., :3])
    colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
    lab = srgb_to_oklab(rgb) - srgb_to_oklab(colours[np.argmax(counts)][None, None])
    face = np.einsum("hwc,hwc->hw", lab, lab) <= tolerance**2
    if face.mean() < _FRAMED_FACE_SHARE:
        return True
    labels, _ = label_components(face, connectivity=4, wrap=False)
    largest = labels == np.argmax(np.bincount(labels[face]))
    for along in (largest.any(axis=1), largest.any(axis=0)):
        first, last = np.flatnonzero(along)[[0, -1]]
        frame = max(_FRAME_WIDTH_CELLS, _FRAME_WIDTH_SHARE * along.size)
        if first > frame or along.size - 1 - last > frame:
            return True
    return False


def _fades_into_surround(image: np.ndarray, picture: np.ndarray, surround: np.ndarray, border: np.ndarray) -> bool:
    """Whether ``picture`` fades into ``surround`` (a vignette, a night scene) rather than standing out as a sprite.

    It does when the surround is dark (its border pixels' median OKLab
    lightness at most :data:`_DARK_SURROUND_L`) and the picture's pixels next
    to it are, by their median, lighter by no more than :data:`_FADE_STEP_L`
    (and not darker).
    """
    edge = picture & _neighbour_any(surround, wrap=False)
    seen = border & surround
    if int(edge.sum()) < _FADE_MIN_EDGE or not seen.any():
        return False
    lightness = srgb_to_oklab(np.ascontiguousarray(image[..., :3]))[..., 0]
    surround_l = float(np.median(lightness[seen]))
    step = float(np.median(lightness[edge])) - surround_l
    return surround_l <= _DARK_SURROUND_L and 0.0 <= step <= _FADE_STEP_L


def _faint_pattern(image: np.ndarray, picture: np.ndarray, surround: np.ndarray) -> bool:
    """Whether every pixel of ``picture`` lies within :data:`_FAINT_PATTERN_DISTANCE` of the surround's colour.

    Then nothing stands out from the backdrop: the image is a texture of its
    shades (a tile), not a sprite on it. The surround's colour is its median
    in OKLab.
    """
    if not picture.any() or not surround.any():
        return False
    lab = srgb_to_oklab(np.ascontiguousarray(image[..., :3]))
    backdrop = np.median(lab[surround], axis=0)
    offset = lab[picture] - backdrop
    return bool(np.einsum("nc,nc->n", offset, offset).max() <= _FAINT_PATTERN_DISTANCE**2)


def _opposite_edges_run_off(kept: np.ndarray) -> str | None:
    """"left and right" or "top and bottom" when ``kept`` covers enough of both edges of a pair."""
    if min(kept[:, 0].mean(), kept[:, -1].mean()) >= _OPPOSITE_EDGES_SHARE:
        return "left and right"
    if min(kept[0].mean(), kept[-1].mean()) >= _OPPOSITE_EDGES_SHARE:
        return "top and bottom"
    return None


def _near_border_colour(
    image: np.ndarray, border: np.ndarray, tolerance: float, drawn: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Pixels transparent (or ``drawn`` on a transparent background) or within ``tolerance`` of the
    border's fitted colour; and the border's clear share."""
    rgba = image if image.shape[2] == 4 else to_rgba(image)
    clear = rgba[..., 3] < 128
    if drawn is not None:
        clear = clear | drawn
    clear_share = float((border & clear).sum()) / float(border.sum())
    solid_border = border & ~clear
    if not solid_border.any():
        return clear, clear_share
    lab = srgb_to_oklab(np.ascontiguousarray(rgba[..., :3]))
    lab -= _fit_background(lab, solid_border, tolerance)
    near = np.einsum("hwc,hwc->hw", lab, lab) <= tolerance**2
    return near | clear, clear_share


def remove_background(
    image: np.ndarray, *, tolerance: float, wrap: bool = False, force: bool = False
) -> np.ndarray:
    """RGBA copy of ``image`` with the backdrop :func:`find_background` finds made transparent."""
    decision = find_background(image, tolerance=tolerance, wrap=wrap, force=force)
    rgba = to_rgba(image)
    rgba[decision.mask] = 0
    return rgba


def binarize_alpha(image: np.ndarray, *, threshold: int = 128) -> np.ndarray:
    """Alpha becomes 255 where ``alpha >= threshold`` else 0; transparent pixels become (0, 0, 0, 0)."""
    _check_image(image, rgba_only=True)
    if not isinstance(threshold, (int, np.integer)) or not 1 <= threshold <= 255:
        raise ValueError(f"threshold must be an int in 1..255, got {threshold!r}")
    out = image.copy()
    solid = image[..., 3] >= threshold
    out[..., 3] = np.where(solid, 255, 0).astype(np.uint8)
    out[~solid] = 0
    return out


def remove_specks(
    image: np.ndarray, *, min_size: int, wrap: bool = False
) -> np.ndarray:
    """Clear connected opaque regions (8-connectivity) of fewer than ``min_size`` pixels."""
    _check_image(image, rgba_only=True)
    if not isinstance(min_size, (int, np.integer)) or min_size < 0:
        raise ValueError(f"min_size must be a non-negative int, got {min_size!r}")
    out = image.copy()
    if min_size <= 1:
        return out
    labels, count = label_components(image[..., 3] > 0, connectivity=8, wrap=wrap)
    if count == 0:
        return out
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    small = sizes < min_size
    small[0] = False
    out[small[labels]] = 0
    return out


def _neighbour_any(mask: np.ndarray, wrap: bool) -> np.ndarray:
    """True where any 4-neighbour is True."""
    if wrap:
        return (
            np.roll(mask, 1, axis=0)
            | np.roll(mask, -1, axis=0)
            | np.roll(mask, 1, axis=1)
            | np.roll(mask, -1, axis=1)
        )
    padded = np.pad(mask, 1)
    return padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]


def _check_colour(color: tuple) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in color)
    except (TypeError, ValueError):
        raise ValueError(
            f"color must be (r, g, b) integers 0-255, got {color!r}"
        ) from None
    if len(values) != 3 or any(v < 0 or v > 255 for v in values):
        raise ValueError(f"color must be (r, g, b) integers 0-255, got {color!r}")
    return values  # type: ignore[return-value]


def add_outline(
    image: np.ndarray, *, color: tuple[int, int, int], wrap: bool = False
) -> np.ndarray:
    """Paint a 1-px outline of ``color`` around opaque shapes.

    The outline goes on transparent pixels 4-adjacent to an opaque pixel of
    another colour. Edges already drawn in ``color`` get no second ring, so
    outlining an outlined sprite changes nothing (idempotent).
    """
    _check_image(image, rgba_only=True)
    rgb = _check_colour(color)
    opaque = image[..., 3] > 0
    own = opaque & np.all(image[..., :3] == np.array(rgb, dtype=np.uint8), axis=2)
    ring = _neighbour_any(opaque & ~own, wrap) & ~opaque
    out = image.copy()
    out[ring] = (*rgb, 255)
    return out


def trim_and_place(
    image: np.ndarray, *, size: tuple[int, int], anchor: str
) -> np.ndarray:
    """Crop to the opaque bounding box and place it on a transparent ``size`` (w, h) canvas at ``anchor``."""
    _check_image(image, rgba_only=True)
    if anchor not in ANCHORS:
        raise ValueError(f"unknown anchor {anchor!r}; allowed: {', '.join(ANCHORS)}")
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {size}")
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    ys, xs = np.nonzero(image[..., 3] > 0)
    if ys.size == 0:
        return canvas
    content = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    ch, cw = content.shape[:2]
    if cw > width or ch > height:
        raise ValueError(
            f"opaque content is {cw}x{ch}, larger than the {width}x{height} canvas; use a larger size"
        )
    left = _anchor_split(anchor, width - cw, "x")
    top = _anchor_split(anchor, height - ch, "y")
    canvas[top : top + ch, left : left + cw] = content
    return canvas
