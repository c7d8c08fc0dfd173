"""Training datasets: a folder of images and their captions (numpy/Pillow only, no torch).

A dataset folder holds images (``.png .jpg .jpeg .webp .bmp .gif``) and,
optionally, one caption file per image beside it (``knight.png`` →
``knight.txt``). Anything else in it — or an image Pillow cannot decode — is
an input error naming the file: a stray PDF must not silently drop out of a
training whose result the studio ships. Hidden files and folders (``.DS_Store``)
are ignored.

Captions come from one of three sources (the manifest's ``captions:``):
``sidecar`` (the ``.txt`` beside the image, else the file name), ``filename``
(the file name: ``red_knight-02.png`` → ``red knight``), or ``prompt:TEXT``
(one fixed caption for every image).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixelgen.files.hashing import FileDigestCache, sha256_bytes
from pixelgen.files.limits import DEFAULT_MAX_INPUT_PIXELS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
CAPTION_SUFFIX = ".txt"
MAX_CAPTION_BYTES = 64 * 1024


@dataclass(frozen=True)
class DatasetImage:
    name: str  # path relative to the dataset folder, with / separators
    path: Path
    sha256: str
    caption: str
    caption_source: str  # "sidecar", "filename" or "prompt"
    width: int
    height: int


@dataclass(frozen=True)
class DatasetProblem:
    name: str  # the file, relative to the dataset folder
    message: str
    fix: str


def caption_from_filename(name: str) -> str:
    """``red_knight-02.png`` → ``red knight``: separators become spaces, trailing frame numbers go."""
    words = re.split(r"[\s_\-.]+", Path(name).stem)
    while words and (not words[-1] or words[-1].isdigit()):
        words.pop()
    return " ".join(word for word in words if word) or Path(name).stem


def parse_captions(captions: str) -> tuple[str, str | None]:
    """The manifest's ``captions:`` value → (mode, fixed prompt or None)."""
    if captions.startswith("prompt:"):
        return "prompt", captions[len("prompt:"):].strip().strip('"').strip()
    return captions, None


def _visible_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        found.append(path)
    return found


def _image_problem(path: Path, max_pixels: int) -> tuple[str | None, tuple[int, int]]:
    """Why ``path`` is not a usable training image (or None), and its size. Decodes it fully: a truncated file must fail here."""
    from PIL import Image, UnidentifiedImageError

    from pixelgen.files.fsutil import regular_file_problem

    problem = regular_file_problem(path)
    if problem:
        return problem, (0, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return f"is {width}x{height} pixels, more than the {max_pixels} allowed", (width, height)
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"is not an image pixelgen can read ({' '.join(str(exc).split())[:160]})", (0, 0)
    return None, (width, height)


class DecodedImages:
    """Sizes of images that decoded in full, by sha256: ``status`` and no-op builds need not decode a dataset again.

    Kept beside the file-digest memo and MACed with the cache's key the same
    way (:mod:`pixelgen.files.trust`): a memo someone else wrote is ignored, and
    losing it only costs decoding again. A changed file has another digest.
    """

    def __init__(self, path: str | Path | None) -> None:
        import json

        from pixelgen.files.hashing import hmac_sha256
        from pixelgen.files.trust import cache_key

        self.path = Path(path) if path else None
        self.sizes: dict[str, list[int]] = {}
        self._dirty = False
        self._key = cache_key(self.path.parent) if self.path else None
        if self._key is None or not self.path.is_file() or self.path.is_symlink():
            return
        try:
            loaded = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(loaded, dict) and isinstance(loaded.get("sizes"), dict) and loaded.get("mac") == hmac_sha256(self._key, loaded["sizes"]):
            self.sizes = loaded["sizes"]

    def get(self, digest: str) -> tuple[int, int] | None:
        size = self.sizes.get(digest)
        return (int(size[0]), int(size[1])) if isinstance(size, list) and len(size) == 2 else None

    def put(self, digest: str, size: tuple[int, int]) -> None:
        if self._key is not None:
            self.sizes[digest] = [int(size[0]), int(size[1])]
            self._dirty = True

    def save(self) -> None:
        if self._dirty and self.path is not None and self._key is not None:
            import json

            from pixelgen.files.fsutil import write_bytes_inside
            from pixelgen.files.hashing import hmac_sha256

            try:
                write_bytes_inside(self.path.parent, self.path, json.dumps({"sizes": self.sizes, "mac": hmac_sha256(self._key, self.sizes)}).encode())
            except OSError:
                return  # the memo only saves time
            self._dirty = False


def scan_dataset(folder: str | Path, captions: str, digests: FileDigestCache | None = None,
                 *, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS, decoded: DecodedImages | None = None) -> tuple[list[DatasetImage], list[DatasetProblem]]:
    """Every image of ``folder`` with its digest and caption, and the problems found (empty when usable)."""
    folder = Path(folder)
    mode, fixed = parse_captions(captions)
    files = _visible_files(folder)
    names = {path.relative_to(folder).as_posix() for path in files}
    images: list[DatasetImage] = []
    problems: list[DatasetProblem] = []
    for path in files:
        name = path.relative_to(folder).as_posix()
        suffix = path.suffix.lower()
        if suffix == CAPTION_SUFFIX:
            if not any(name[: -len(CAPTION_SUFFIX)] + s in names or name[: -len(CAPTION_SUFFIX)] + s.upper() in names for s in IMAGE_SUFFIXES):
                problems.append(DatasetProblem(name, "is a caption file without an image beside it", "remove it, or add the image it describes"))
            continue
        if suffix not in IMAGE_SUFFIXES:
            problems.append(DatasetProblem(name, "is not an image (training images are .png, .jpg, .jpeg, .webp, .bmp or .gif)",
                                           "move it out of the dataset folder"))
            continue
        from pixelgen.files.fsutil import regular_file_problem

        problem = regular_file_problem(path)
        digest = None if problem else digests.file(path) if digests is not None else _sha256_file(path)
        known = decoded.get(digest) if decoded is not None and digest else None
        if known is not None and known[0] * known[1] <= max_pixels:
            width, height = known
        else:
            problem, (width, height) = _image_problem(path, max_pixels)
            if problem:
                problems.append(DatasetProblem(name, problem, "replace or remove the file"))
                continue
            if decoded is not None and digest:
                decoded.put(digest, (width, height))
        caption, source = _caption(path, mode, fixed)
        if caption is None:
            problems.append(DatasetProblem(name[: -len(path.suffix)] + CAPTION_SUFFIX, "is not UTF-8 text of at most 64 KiB", "rewrite the caption as plain text"))
            continue
        images.append(DatasetImage(name, path, digest, caption, source, width, height))
    if not images and not problems:
        problems.append(DatasetProblem(".", "holds no images", "put the training images (and optional .txt captions) in the folder"))
    return images, problems


def _sha256_file(path: Path) -> str:
    from pixelgen.files.hashing import sha256_file

    return sha256_file(path)


def _caption(path: Path, mode: str, fixed: str | None) -> tuple[str | None, str]:
    if mode == "prompt":
        return fixed or "", "prompt"
    sidecar = path.with_suffix(CAPTION_SUFFIX)
    if mode == "sidecar" and sidecar.is_file():
        try:
            raw = sidecar.read_bytes()
            if len(raw) > MAX_CAPTION_BYTES:
                return None, "sidecar"
            return " ".join(raw.decode("utf-8").split()), "sidecar"
        except (OSError, UnicodeDecodeError):
            return None, "sidecar"
    return caption_from_filename(path.name), "filename"


def fit_nearest(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale by nearest neighbour to cover ``size`` (width, height), then crop the centre. Never interpolates."""
    height, width = image.shape[:2]
    target_w, target_h = size
    scale = max(target_w / width, target_h / height)
    scaled_w, scaled_h = max(target_w, round(width * scale)), max(target_h, round(height * scale))
    rows = np.minimum((np.arange(scaled_h) * height / scaled_h).astype(np.int64), height - 1)
    cols = np.minimum((np.arange(scaled_w) * width / scaled_w).astype(np.int64), width - 1)
    scaled = image[rows][:, cols]
    top, left = (scaled_h - target_h) // 2, (scaled_w - target_w) // 2
    return scaled[top : top + target_h, left : left + target_w]


def flatten_alpha(image: np.ndarray) -> np.ndarray:
    """RGBA → RGB over white: transparent sprite backgrounds train as a flat white field."""
    if image.shape[-1] == 3:
        return image
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    rgb = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def dataset_listing(images: list[DatasetImage]) -> dict[str, list[str]]:
    """name → [image sha256, caption sha256]: what the training's key and the lock record."""
    return {image.name: [image.sha256, sha256_bytes(image.caption.encode("utf-8"))] for image in images}


def describe_dataset_change(previous: dict[str, list[str]], current: dict[str, list[str]]) -> str | None:
    """``dataset changed (3 images added, 1 caption changed)``, or None when equal."""
    added = len(set(current) - set(previous))
    removed = len(set(previous) - set(current))
    both = set(current) & set(previous)
    replaced = sum(1 for name in both if current[name][0] != previous[name][0])
    recaptioned = sum(1 for name in both if current[name][0] == previous[name][0] and current[name][1] != previous[name][1])
    parts = [f"{count} {word}{'s' if count != 1 else ''} {verb}" for count, word, verb in
             ((added, "image", "added"), (removed, "image", "removed"), (replaced, "image", "changed"), (recaptioned, "caption", "changed")) if count]
    return f"dataset changed ({', '.join(parts)})" if parts else None


# --------------------------------------------------------------------------- pixelgen dataset check / prepare


def load_rgba(path: Path) -> np.ndarray:
    """An image file as an RGBA uint8 array."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def pixel_art_problem(image: np.ndarray) -> str | None:
    """Why an image does not look like pixel art (or None): too many colours, or no visible pixel grid.

    A sprite upscaled by nearest neighbour has few colours and a cell size
    above 1; a photo, a painting or a blurred upscale has thousands of colours
    and soft edges, which a pixel-art LoRA would learn as its style.
    """
    from pixelgen.pixelart import detect_grid

    rgb = image[..., :3][image[..., 3] > 0] if image.shape[-1] == 4 else image.reshape(-1, 3)
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0)) if rgb.size else 0
    if colours > 256:
        return f"{colours} colours (pixel art uses a palette of at most a few dozen)"
    if min(image.shape[:2]) >= 32:
        cell = min(detect_grid(image).cell)
        if cell < 1.5 and colours > 64:
            return f"no pixel grid found (cell {cell:.1f} px) and {colours} colours"
    return None


def check_dataset(folder: str | Path, captions: str = "sidecar") -> dict[str, Any]:
    """The report of ``pixelgen dataset check``: sizes, duplicates, missing captions, non-pixel-art images, unusable files."""
    folder = Path(folder)
    images, problems = scan_dataset(folder, captions)
    sizes = Counter(f"{image.width}x{image.height}" for image in images)
    by_digest: dict[str, list[str]] = defaultdict(list)
    for image in images:
        by_digest[image.sha256].append(image.name)
    duplicates = [names for names in by_digest.values() if len(names) > 1]
    missing = [image.name for image in images if image.caption_source == "filename"] if captions == "sidecar" else []
    not_pixel_art = {}
    for image in images:
        reason = pixel_art_problem(load_rgba(image.path))
        if reason:
            not_pixel_art[image.name] = reason
    return {
        "folder": str(folder),
        "images": len(images),
        "sizes": dict(sorted(sizes.items())),
        "duplicates": duplicates,
        "missing_captions": missing,
        "not_pixel_art": not_pixel_art,
        "problems": [{"file": p.name, "message": p.message, "fix": p.fix} for p in problems],
    }


def upscale_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Integer nearest-neighbour upscale: every pixel becomes a factor × factor block (never blurred)."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def prepare_from_sprites(source: str | Path, target: str | Path, *, resolution: int) -> list[str]:
    """Upscale native-resolution sprites by the largest integer factor that fits ``resolution``, captions from file names.

    Writes ``TARGET/<name>.png`` and ``TARGET/<name>.txt`` atomically; returns the names written.
    """
    from pixelgen.files.fsutil import write_bytes_atomic
    from pixelgen.formats.png import encode_png

    source, target = Path(source), Path(target)
    images, problems = scan_dataset(source, "filename")
    if problems:
        from pixelgen.errors import InputError

        first = problems[0]
        raise InputError(f"{source / first.name}: {first.message}\n    fix: {first.fix}")
    written = []
    for image in images:
        pixels = load_rgba(image.path)
        factor = max(1, resolution // max(pixels.shape[:2]))
        stem = image.name.rsplit(".", 1)[0]
        write_bytes_atomic(target / f"{stem}.png", encode_png(upscale_nearest(pixels, factor)))
        write_bytes_atomic(target / f"{stem}{CAPTION_SUFFIX}", (image.caption + "\n").encode("utf-8"))
        written.append(f"{stem}.png")
    return written


def house_style_sprites(count: int, *, cells: int = 8, scale: int = 8, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """Procedural, left-right symmetric pixel-art creatures in a fixed four-colour palette: (name, RGBA uint8).

    A small, deterministic "house style" for demos and tests: each is a
    ``cells`` × ``cells`` sprite on a flat background, upscaled ``scale``× by
    nearest neighbour.
    """
    palette = np.array([[26, 28, 44], [93, 39, 93], [177, 62, 83], [239, 125, 87], [255, 205, 117], [167, 240, 112]], dtype=np.uint8)
    background = np.array([41, 54, 111], dtype=np.uint8)
    kinds = ("slime", "bat", "ghost", "beetle")
    rng = np.random.default_rng(seed)
    sprites = []
    for index in range(count):
        half = rng.random((cells, (cells + 1) // 2)) < 0.5
        mask = np.concatenate([half, half[:, : cells // 2][:, ::-1]], axis=1)
        colours = rng.integers(1, len(palette), size=(cells, (cells + 1) // 2))
        colours = np.concatenate([colours, colours[:, : cells // 2][:, ::-1]], axis=1)
        body = np.where(mask[..., None], palette[colours], background)
        outline = mask & ~np.pad(mask, 1)[2:, 1:-1] | mask & ~np.pad(mask, 1)[:-2, 1:-1]
        body[outline] = palette[0]
        rgba = np.concatenate([body, np.full((cells, cells, 1), 255, np.uint8)], axis=2).astype(np.uint8)
        sprites.append((f"{kinds[index % len(kinds)]}_{index:02d}", upscale_nearest(rgba, scale)))
    return sprites
