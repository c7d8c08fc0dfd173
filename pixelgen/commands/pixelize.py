"""`pixelgen pixelize`: the pixel-art engine on one image file, from decode to write.

Option checks come first, so a bad option fails before the image is read;
the report's ``timings.total_ms`` covers the whole call (decode, engine,
encode, write), with each stage beside it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixelgen.errors import InputError, PixelgenError

# Lossless formats only: JPEG's blocks and chroma subsampling would blur the
# pixel art it is asked to store.
OUTPUT_FORMATS = {".png": "PNG", ".webp": "WEBP"}
_AUTO = re.compile(r"auto:(\d+)")


@dataclass(frozen=True)
class PaletteChoice:
    """What --palette asked for: a fixed palette, one to learn with N colours, or a colour mode."""

    fixed: np.ndarray | None = None
    learn: int | None = None
    colors: str = "auto"


def parse_palette(value: str | None) -> PaletteChoice:
    """``--palette``: NAME, a palette FILE, auto:N (learn N colours), auto (the art's own) or keep."""
    from pixelgen.pixelart import (
        builtin_palette,
        builtin_palette_names,
        load_palette_file,
    )

    if value is None or value == "auto":
        return PaletteChoice()
    if value == "keep":
        return PaletteChoice(colors="keep")
    match = _AUTO.fullmatch(value)
    if match or value.startswith("auto:"):
        count = int(match.group(1)) if match else 0
        if not 2 <= count <= 256:
            raise InputError(f"--palette {value!r}: write auto:N with N from 2 to 256 colours, e.g. auto:16")
        return PaletteChoice(learn=count)
    if Path(value).suffix.lower() in (".hex", ".gpl", ".pal", ".png"):
        path = Path(value)
        if not path.is_file():
            raise InputError(f"--palette {value}: no such palette file")
        try:
            return PaletteChoice(fixed=load_palette_file(path))
        except (OSError, ValueError) as exc:
            raise InputError(f"--palette {value}: {exc}") from None
    if value not in builtin_palette_names():
        raise InputError(
            f"--palette {value!r} is neither a palette file (.hex, .gpl, .pal, .png) nor a built-in palette "
            f"({', '.join(builtin_palette_names())}), nor auto, auto:N or keep"
        )
    return PaletteChoice(fixed=builtin_palette(value))


def _as_flags(message: str) -> str:
    """Option names as the flags a user typed: min_speck -> --min-speck."""
    from pixelgen.pixelart.options import option_specs

    for spec in option_specs():
        message = re.sub(rf"\b{spec.name}\b", spec.flag, message)
    return message


def check_output(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(
            f"{path}: cannot write {suffix or 'a file without an extension'}; pixel art needs a lossless format: "
            f"name the output {path.with_suffix('.png').name} (or .webp)"
        )
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: exists and is not a regular file; choose another output path")
    return OUTPUT_FORMATS[suffix]


def read_image(path: Path, *, max_pixels: int, warnings: list[str] | None = None) -> np.ndarray:
    """Decode an input image as RGB or RGBA uint8, after refusing what must not be decoded.

    A FIFO or device (which would block or never end), a file that is not an
    image, or one of more than ``max_pixels`` pixels is refused from its file
    type and image header alone. A JPEG's EXIF orientation is applied (the
    image as every viewer shows it); of an animated file the first frame is
    used, and ``warnings`` says so.
    """
    from PIL import Image, ImageOps

    from pixelgen.files.fsutil import read_regular_file
    from pixelgen.files.limits import check_input_image
    from pixelgen.formats.png import image_to_array

    check_input_image(path, max_pixels)
    try:
        data = read_regular_file(path)
        import io

        with Image.open(io.BytesIO(data)) as image:
            frames = int(getattr(image, "n_frames", 1))
            image.load()
            if frames > 1 and warnings is not None:
                warnings.append(f"{path} has {frames} frames: the first is used")
            upright = image if _orientation(image) in (None, 1) else ImageOps.exif_transpose(image)
            return image_to_array(upright)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: cannot decode it as an image ({exc})") from None


def _orientation(image: Any) -> int | None:
    """The EXIF orientation tag, or 1 when the EXIF block is unreadable (viewers show such files as stored)."""
    import struct

    from PIL import ExifTags

    try:
        return image.getexif().get(ExifTags.Base.Orientation, 1)
    except (SyntaxError, ValueError, OSError, struct.error):
        return 1


def encode(image: np.ndarray, form: str) -> bytes:
    import io

    from PIL import Image

    from pixelgen.formats.png import encode_png

    if form == "PNG":
        return encode_png(image)
    buffer = io.BytesIO()
    Image.fromarray(image, "RGBA").save(buffer, format="WEBP", lossless=True, quality=100, method=4)
    return buffer.getvalue()


def run(
    image_path: Path,
    output: Path,
    *,
    size: tuple[int, int] | None,
    palette: str | None,
    pixelart: dict[str, Any],
    background: str = "keep",
    wrap: bool = False,
    max_pixels: int,
) -> dict[str, Any]:
    """Pixelize one file into ``output``; returns the JSON report. Raises PixelgenError for people.

    ``pixelart`` holds the pixel-art options by name (see :class:`PixelArtOptions`).
    """
    from pixelgen.files.fsutil import write_bytes_atomic
    from pixelgen.pixelart import GridDetectionError, learn_palette, pixelize
    from pixelgen.pixelart.options import PixelArtOptions

    started = time.perf_counter()
    form = check_output(output)
    choice = parse_palette(palette)
    try:
        options = PixelArtOptions(**{**pixelart, "colors": choice.colors})
    except ValueError as exc:
        raise InputError(f"pixelize: {_as_flags(str(exc))}") from None
    engine = {"size": size, "options": options, "background": background, "wrap": wrap}

    t0 = time.perf_counter()
    input_warnings: list[str] = []
    pixels = read_image(image_path, max_pixels=max_pixels, warnings=input_warnings)
    decode_ms = (time.perf_counter() - t0) * 1000.0
    try:
        fixed = choice.fixed
        if choice.learn is not None:
            reduced = pixelize(pixels, palette=None, **{**engine, "options": options.with_changes(outline=None, colors="keep")}).image
            fixed = learn_palette([reduced], n=choice.learn, seed=0)
        result = pixelize(pixels, palette=fixed, **engine)
    except GridDetectionError as exc:
        raise PixelgenError(f"{image_path}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"{image_path}: {exc}") from None
    t0 = time.perf_counter()
    data = encode(result.image, form)
    encode_ms = (time.perf_counter() - t0) * 1000.0
    t0 = time.perf_counter()
    try:
        write_bytes_atomic(output, data)
    except OSError as exc:
        raise PixelgenError(f"{output}: cannot write it ({exc.strerror or exc}); check the folder exists and is writable") from None
    write_ms = (time.perf_counter() - t0) * 1000.0

    report = dict(result.report)
    report["warnings"] = [*input_warnings, *report.get("warnings", [])]
    stages = dict(report.get("timings", {}))
    engine_ms = stages.pop("total_ms", None)
    report["timings"] = {
        **stages,
        "pixelize_ms": engine_ms,
        "decode_ms": round(decode_ms, 3),
        "encode_ms": round(encode_ms, 3),
        "write_ms": round(write_ms, 3),
        "total_ms": round((time.perf_counter() - started) * 1000.0, 3),
    }
    report["input"] = str(image_path)
    report["output"] = str(output)
    return report
