"""Palettes: built-ins, file parsers, learning a shared palette, quantisation.

A palette is an ``(N, 3) uint8`` array of sRGB colours. Distances are OKLab.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from .checks import check_image
from .color import oklab_to_srgb, srgb_to_oklab
from .options import DITHER_METHODS

__all__ = [
    "DITHER_METHODS",
    "hex_to_rgb",
    "palette_from_hex",
    "palette_to_hex",
    "builtin_palette",
    "builtin_palette_names",
    "clean_palette",
    "CLEAN_MERGE_DISTANCE",
    "learn_palette",
    "load_palette_file",
    "nearest_indices",
    "parse_gpl",
    "parse_hex",
    "parse_jasc_pal",
    "parse_png_swatch",
    "quantize",
]

_PALETTE_DIR = Path(__file__).with_name("palettes")
_MAX_COLOURS = 256


def _check_palette(palette: np.ndarray) -> None:
    if not isinstance(palette, np.ndarray):
        raise TypeError(f"palette must be a numpy array, got {type(palette).__name__}")
    if palette.dtype != np.uint8:
        raise TypeError(f"palette must have dtype uint8, got {palette.dtype}")
    if palette.ndim != 2 or palette.shape[1] != 3 or palette.shape[0] < 1:
        raise ValueError(
            f"palette must have shape (N, 3) with N >= 1, got {palette.shape}"
        )


_check_image = check_image


# --------------------------------------------------------------------------- parsers


def _decode(data: bytes, source: str) -> str:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"palette data must be bytes, got {type(data).__name__}")
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source}: not UTF-8 text ({exc})") from None


def _finish(colours: list[tuple[int, int, int]], source: str) -> np.ndarray:
    if not colours:
        raise ValueError(f"{source}: no colours found")
    if len(colours) > _MAX_COLOURS:
        raise ValueError(
            f"{source}: {len(colours)} colours, at most {_MAX_COLOURS} are supported"
        )
    return np.array(colours, dtype=np.uint8)


def parse_hex(data: bytes, *, source: str = "<hex>") -> np.ndarray:
    """Parse a ``.hex`` palette: one ``RRGGBB`` (optionally ``#RRGGBB``) per line.

    Blank lines and comments (``;``, ``//``, or ``#`` not followed by a colour)
    are skipped; text after the colour and whitespace is ignored.
    """
    text = _decode(data, source)
    colours = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith((";", "//")):
            continue
        token = line.split()[0]
        if token.startswith("#"):
            candidate = token[1:]
            if len(candidate) != 6 or not _is_hex(candidate):
                continue  # a comment line
            token = candidate
        elif token.lower().startswith("0x"):
            token = token[2:]
        if len(token) != 6 or not _is_hex(token):
            raise ValueError(
                f"{source}: line {number}: expected RRGGBB hex colour, got {raw.strip()!r}"
            )
        colours.append((int(token[0:2], 16), int(token[2:4], 16), int(token[4:6], 16)))
    return _finish(colours, source)


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


def _parse_rgb_triplet(
    line: str, source: str, number: int, *, allow_name: bool
) -> tuple[int, int, int]:
    parts = line.split()
    if len(parts) < 3 or (not allow_name and len(parts) > 4):
        raise ValueError(f"{source}: line {number}: expected 'R G B', got {line!r}")
    try:
        values = [int(part) for part in parts[:3]]
    except ValueError:
        raise ValueError(
            f"{source}: line {number}: expected integers 'R G B', got {line!r}"
        ) from None
    if any(v < 0 or v > 255 for v in values):
        raise ValueError(
            f"{source}: line {number}: colour values must be 0-255, got {line!r}"
        )
    return values[0], values[1], values[2]


def parse_gpl(data: bytes, *, source: str = "<gpl>") -> np.ndarray:
    """Parse a GIMP palette (``GIMP Palette`` header, ``R G B name`` lines)."""
    text = _decode(data, source)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise ValueError(f"{source}: line 1: expected 'GIMP Palette' header")
    colours = []
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key = line.split(":", 1)[0].strip().lower()
        if ":" in line and key in ("name", "columns", "channels"):
            continue
        colours.append(_parse_rgb_triplet(line, source, number, allow_name=True))
    return _finish(colours, source)


def parse_jasc_pal(data: bytes, *, source: str = "<pal>") -> np.ndarray:
    """Parse a JASC-PAL palette (``JASC-PAL`` / ``0100`` / count / ``R G B`` lines)."""
    text = _decode(data, source)
    lines = [line.strip() for line in text.splitlines()]
    if len(lines) < 3 or lines[0] != "JASC-PAL":
        raise ValueError(f"{source}: line 1: expected 'JASC-PAL' header")
    if lines[1] != "0100":
        raise ValueError(f"{source}: line 2: expected version '0100', got {lines[1]!r}")
    try:
        count = int(lines[2])
    except ValueError:
        raise ValueError(
            f"{source}: line 3: expected the colour count, got {lines[2]!r}"
        ) from None
    colours = []
    for number, line in enumerate(lines[3:], start=4):
        if not line:
            continue
        colours.append(_parse_rgb_triplet(line, source, number, allow_name=False))
    if len(colours) != count:
        raise ValueError(
            f"{source}: line 3: header says {count} colours but {len(colours)} follow"
        )
    return _finish(colours, source)


def parse_png_swatch(data: bytes, *, source: str = "<png>") -> np.ndarray:
    """Unique colours of a small swatch image, in scan order (transparent pixels skipped)."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"palette data must be bytes, got {type(data).__name__}")
    try:
        with Image.open(io.BytesIO(bytes(data))) as opened:
            if opened.width * opened.height > 1 << 20:
                raise ValueError(
                    f"{source}: swatch image is {opened.width}x{opened.height}; use a small swatch (<= 1 Mpx)"
                )
            pixels = np.asarray(opened.convert("RGBA"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{source}: not a readable image ({exc})") from None
    flat = pixels.reshape(-1, 4)
    flat = flat[flat[:, 3] > 0, :3]
    if flat.size == 0:
        raise ValueError(f"{source}: no opaque pixels")
    keys = (
        (flat[:, 0].astype(np.uint32) << 16)
        | (flat[:, 1].astype(np.uint32) << 8)
        | flat[:, 2]
    )
    _, first = np.unique(keys, return_index=True)
    ordered = flat[np.sort(first)]
    return _finish([tuple(int(v) for v in c) for c in ordered], source)


_PARSERS = {
    ".hex": parse_hex,
    ".gpl": parse_gpl,
    ".pal": parse_jasc_pal,
    ".png": parse_png_swatch,
}


def load_palette_file(path: str | Path) -> np.ndarray:
    """Read a palette file, choosing the parser by suffix (.hex, .gpl, .pal, .png)."""
    path = Path(path)
    parser = _PARSERS.get(path.suffix.lower())
    if parser is None:
        raise ValueError(
            f"{path.name}: unknown palette file type {path.suffix!r}; allowed: {', '.join(sorted(_PARSERS))}"
        )
    return parser(path.read_bytes(), source=path.name)


@cache
def _builtin(name: str) -> np.ndarray:
    palette = parse_hex(
        (_PALETTE_DIR / f"{name}.hex").read_bytes(), source=f"{name}.hex"
    )
    palette.setflags(write=False)
    return palette


def builtin_palette_names() -> list[str]:
    """Names of the bundled palettes, sorted."""
    return sorted(p.stem for p in _PALETTE_DIR.glob("*.hex"))


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` (or ``"rrggbb"``) → an (r, g, b) tuple."""
    digits = color.lstrip("#")
    if len(digits) != 6:
        raise ValueError(f"{color!r} is not a #rrggbb colour")
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def palette_from_hex(colors: Sequence[str]) -> np.ndarray:
    """``["#rrggbb", ...]`` → an (N, 3) uint8 palette."""
    return np.array([hex_to_rgb(color) for color in colors], dtype=np.uint8).reshape(-1, 3)


def palette_to_hex(palette: np.ndarray) -> list[str]:
    """An (N, 3) uint8 palette → ``["#rrggbb", ...]`` (lowercase), the form manifests and locks use."""
    return ["#%02x%02x%02x" % tuple(int(v) for v in row) for row in palette]


def builtin_palette(name: str) -> np.ndarray:
    """A bundled palette by name (e.g. "pico-8"); a fresh writable copy."""
    names = builtin_palette_names()
    if name not in names:
        raise ValueError(
            f"unknown palette {name!r}; built-in palettes: {', '.join(names)}"
        )
    return _builtin(name).copy()


# --------------------------------------------------------------------------- learning


def _opaque_pixels(image: np.ndarray) -> np.ndarray:
    _check_image(image)
    flat = image.reshape(-1, image.shape[2])
    if image.shape[2] == 4:
        flat = flat[flat[:, 3] >= 128]
    return flat[:, :3]


def colour_counts(images: Sequence[np.ndarray], *, purpose: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct opaque colours (alpha >= 128) of ``images`` as (N, 3) uint8, with their pixel counts.

    Sorted by packed RGB value. ``purpose`` ends the error when there are none.
    """
    if isinstance(images, np.ndarray):
        raise TypeError("images must be a sequence of images, not one array; wrap it in a list")
    chunks = [_opaque_pixels(image) for image in images]
    if not chunks:
        raise ValueError(f"{purpose} needs at least one image")
    pixels = np.concatenate(chunks, axis=0)
    if pixels.shape[0] == 0:
        raise ValueError(f"the images have no opaque pixels to {purpose} from")
    keys = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8) | pixels[:, 2]
    unique_keys, counts = np.unique(keys, return_counts=True)
    colours = np.stack([(unique_keys >> 16) & 255, (unique_keys >> 8) & 255, unique_keys & 255], axis=1).astype(np.uint8)
    return colours, counts


def learn_palette(images: Sequence[np.ndarray], *, n: int, seed: int = 0) -> np.ndarray:
    """Learn one palette of at most ``n`` colours shared by all ``images``.

    Weighted k-means in OKLab over the unique opaque colours (alpha >= 128) of
    every image together, so a tileset or an animation gets one palette.
    k-means++ seeding from ``seed`` makes it deterministic. When there are no
    more than ``n`` unique colours they are returned as they are. Colours come
    out sorted by lightness, then a, then b.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n > _MAX_COLOURS:
        raise ValueError(f"n must be an int in 1..{_MAX_COLOURS}, got {n!r}")
    colours, counts = colour_counts(images, purpose="learn a palette")
    lab = srgb_to_oklab(colours).astype(np.float64)
    if colours.shape[0] <= n:
        return _sorted_palette(colours)
    weights = counts.astype(np.float64)
    rng = np.random.default_rng(seed)
    centres = _kmeans_pp(lab, weights, n, rng)
    for _ in range(40):
        labels = _nearest(lab, centres)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, lab * weights[:, None])
        mass = np.bincount(labels, weights=weights, minlength=n)
        moved = np.where(
            mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], centres
        )
        if np.allclose(moved, centres, atol=1e-7):
            centres = moved
            break
        centres = moved
    result = oklab_to_srgb(centres.astype(np.float32))
    keys_out = (
        (result[:, 0].astype(np.uint32) << 16)
        | (result[:, 1].astype(np.uint32) << 8)
        | result[:, 2]
    )
    _, first = np.unique(keys_out, return_index=True)
    return _sorted_palette(result[np.sort(first)])


# Colours closer than this in OKLab are one colour of the art seen through
# render noise, blur and JPEG; distinct colours of real pixel-art palettes
# lie further apart. Tuned on the tune split of bench/real_renders.json.
CLEAN_MERGE_DISTANCE = 0.05


def clean_palette(
    images: Sequence[np.ndarray], *, threshold: float = CLEAN_MERGE_DISTANCE, keep: np.ndarray | None = None
) -> np.ndarray:
    """The colours the art actually has, with near-identical ones merged.

    Leader clustering in OKLab over the opaque colours of all ``images``:
    colours are visited most frequent first (ties by value) and each becomes
    a palette colour unless it lies within ``threshold`` of one chosen
    before. The count comes from the data. Chosen colours are real colours
    of the input and pairwise further apart than ``threshold``, so cleaning
    an image that uses only them keeps every one (idempotent). ``keep``
    colours (an outline colour drawn later) lead before any other, so art
    colours near them merge into them now rather than on a second run.
    Sorted like :func:`learn_palette`.
    """
    if not isinstance(threshold, (int, float)) or not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold!r}")
    colours, counts = colour_counts(images, purpose="take a palette")
    # Most frequent first; equal counts keep their (packed RGB) order.
    colours = colours[np.argsort(-counts, kind="stable")]
    if keep is not None:
        _check_palette(keep)
        colours = np.concatenate([keep, colours])
    lab = srgb_to_oklab(colours).astype(np.float64)
    limit = float(threshold) ** 2
    leaders: list[int] = []
    leader_lab = np.zeros((0, 3))
    # Blocks keep this vectorised: after the frequent colours, most of the
    # rest fall within reach of a leader already chosen.
    step = 256
    for start in range(0, lab.shape[0], step):
        block = lab[start : start + step]
        if leader_lab.shape[0]:
            nearest = ((block[:, None, :] - leader_lab[None, :, :]) ** 2).sum(axis=2).min(axis=1)
            open_rows = np.flatnonzero(nearest > limit)
        else:
            open_rows = np.arange(block.shape[0])
        # A row is taken when no leader chosen so far, in this block either,
        # lies within reach: each new leader marks the open rows after it that it covers.
        open_lab = block[open_rows]
        covered = np.zeros(open_rows.size, dtype=bool)
        for index, row in enumerate(open_rows):
            if covered[index]:
                continue
            leaders.append(start + int(row))
            leader_lab = np.vstack([leader_lab, block[row]])
            covered[index + 1 :] |= ((open_lab[index + 1 :] - block[row]) ** 2).sum(axis=1) <= limit
    return _sorted_palette(colours[np.array(leaders)])


def _kmeans_pp(
    lab: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    centres = [lab[int(np.argmax(weights))]]
    distance = np.sum((lab - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        score = distance * weights
        total = score.sum()
        if total <= 0:
            break
        pick = int(
            np.searchsorted(np.cumsum(score), rng.random() * total, side="right")
        )
        pick = min(pick, lab.shape[0] - 1)
        centres.append(lab[pick])
        distance = np.minimum(distance, np.sum((lab - lab[pick]) ** 2, axis=1))
    return np.array(centres)


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distance = (
        np.sum(lab * lab, axis=1)[:, None]
        - 2.0 * lab @ centres.T
        + np.sum(centres * centres, axis=1)[None, :]
    )
    return np.argmin(distance, axis=1)


def _sorted_palette(colours: np.ndarray) -> np.ndarray:
    lab = srgb_to_oklab(colours)
    order = np.lexsort((lab[:, 2], lab[:, 1], lab[:, 0]))
    return np.ascontiguousarray(colours[order])


# --------------------------------------------------------------------------- quantise


def nearest_indices(lab: np.ndarray, palette_lab: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour for every OKLab colour (ties: lowest index)."""
    lab = np.asarray(lab, dtype=np.float32)
    flat = lab.reshape(-1, 3)
    pal = np.asarray(palette_lab, dtype=np.float32)
    pal_norm = np.einsum("pc,pc->p", pal, pal)
    out = np.empty(flat.shape[0], dtype=np.intp)
    # Chunks bound the (pixels x palette) distance matrix to a few MB.
    step = 1 << 15
    for start in range(0, flat.shape[0], step):
        block = flat[start : start + step]
        distance = pal_norm[None, :] - 2.0 * (block @ pal.T)
        out[start : start + step] = np.argmin(distance, axis=1)
    return out.reshape(lab.shape[:-1])


def quantize(
    image: np.ndarray, palette: np.ndarray, *, dither: str = "none"
) -> np.ndarray:
    """Map every pixel to the nearest palette colour in OKLab; alpha passes through.

    ``dither``: "none", ordered "bayer2"/"bayer4"/"bayer8", or
    "floyd-steinberg" (error diffusion in OKLab). Transparent pixels (alpha 0)
    neither receive nor spread dither error.
    """
    _check_image(image)
    _check_palette(palette)
    if dither not in DITHER_METHODS:
        raise ValueError(
            f"unknown dither {dither!r}; allowed: {', '.join(DITHER_METHODS)}"
        )
    palette_lab = srgb_to_oklab(palette)
    rgb = image[..., :3]
    if dither == "none":
        # Quantise the unique colours only: a cell-level image repeats few.
        keys = (
            (rgb[..., 0].astype(np.uint32) << 16)
            | (rgb[..., 1].astype(np.uint32) << 8)
            | rgb[..., 2]
        )
        unique_keys, inverse = np.unique(keys.ravel(), return_inverse=True)
        unique_rgb = np.stack(
            [(unique_keys >> 16) & 255, (unique_keys >> 8) & 255, unique_keys & 255],
            axis=1,
        ).astype(np.uint8)
        index = nearest_indices(srgb_to_oklab(unique_rgb), palette_lab)[
            inverse
        ].reshape(rgb.shape[:2])
    else:
        from .dither import floyd_steinberg_indices, ordered_indices

        alpha = image[..., 3] if image.shape[2] == 4 else None
        lab = srgb_to_oklab(np.ascontiguousarray(rgb))
        if dither == "floyd-steinberg":
            index = floyd_steinberg_indices(lab, palette_lab, alpha=alpha)
        else:
            index = ordered_indices(lab, palette_lab, size=int(dither[len("bayer") :]))
    out = image.copy()
    out[..., :3] = palette[index]
    return out
