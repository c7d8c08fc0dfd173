"""Ceilings checked before work is expanded, allocated or rendered.

A few hundred bytes of manifest can ask for a cross product of millions of
assets, a 4096² render at 200 steps, or a palette PNG that decodes to
gigabytes. Each ceiling has a safe default and can be raised in the
manifest's ``limits:`` block (see docs/security.md). Every check runs on
counts or image headers, before the thing it bounds exists.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from pixelgen.errors import InputError

DEFAULT_MAX_INPUT_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class Limits:
    max_images: int = 50_000
    max_matrix_combinations: int = 1_000
    max_frames_per_sprite: int = 1_024
    max_render_pixel_steps: int = 1024 * 1024 * 100
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS
    max_palette_colors: int = 256

    @classmethod
    def from_manifest(cls, block: Mapping[str, Any] | None) -> "Limits":
        """The manifest's ``limits:`` block over the defaults (the schema has checked its types and ranges)."""
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in (block or {}).items() if key in known and isinstance(value, int)})


def matrix_combinations(matrix: Mapping[str, list[Any]]) -> int:
    """How many assets a matrix multiplies out to, without multiplying it out."""
    return math.prod(len(values) for values in matrix.values()) if matrix else 1


def image_pixels(path: str | Path) -> tuple[int, int]:
    """(width, height) from an image file's header, without decoding its pixels.

    Raises ``ValueError`` when the file is not an image Pillow can identify.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Only the header is read; the caller compares the size with its own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError as exc:
        raise ValueError(f"has far too many pixels to decode ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not an image pixelgen can read ({exc})") from None


def input_image_problem(path: str | Path, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> str | None:
    """Why an input image must not be decoded (not a regular file, not an image, too many pixels), or None.

    Checks the file type before opening it (a FIFO would block the open) and
    only the image header after: nothing is decoded.
    """
    from pixelgen.files.fsutil import regular_file_problem

    problem = regular_file_problem(path)
    if problem:
        return problem
    try:
        width, height = image_pixels(path)
    except ValueError as exc:
        return str(exc) if str(exc).startswith("has far") else f"is {exc}"
    if width * height > max_pixels:
        return (f"is {width}x{height} = {width * height} pixels, more than the {max_pixels} allowed "
                "(raise `limits.max_input_pixels` if the image is meant to be this large)")
    return None


def check_input_image(path: str | Path, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> None:
    """Raise ``InputError`` (exit 2) naming the file and the fix when ``input_image_problem`` finds one.

    For commands that take an image argument (``pixelize``): call before decoding it.
    """
    problem = input_image_problem(path, max_pixels)
    if problem:
        raise InputError(f"{path}: {problem}")
