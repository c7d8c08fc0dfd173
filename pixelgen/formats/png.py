"""PNG encoding and decoding with stable bytes and pixelgen's metadata chunks.

Assets carry two iTXt chunks: ``parameters`` (an A1111-style one-line summary
that image viewers and web UIs already understand) and ``pixelgen`` (JSON with
the job key and asset id). They are written before the file is hashed, and
contain no time, so rebuilding gives the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Mapping

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

_COMPRESS_LEVEL = 9


def encode_png(image: np.ndarray, *, text: Mapping[str, str] | None = None) -> bytes:
    from PIL import Image, PngImagePlugin

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise TypeError(f"encode_png needs an H×W×3 or H×W×4 uint8 array, got {image.dtype} {image.shape}")
    mode = "RGBA" if image.shape[2] == 4 else "RGB"
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        for key in sorted(text):
            info.add_itxt(key, text[key])
    buffer = io.BytesIO()
    Image.fromarray(image, mode).save(buffer, format="PNG", pnginfo=info, compress_level=_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return image_to_array(img)


def image_to_array(img: Image.Image) -> np.ndarray:
    """A decoded Pillow image as an H×W×3 (RGB) or H×W×4 (RGBA, when it has alpha or a transparent colour) uint8 array.

    Pillow's own conversion clips 16- and 32-bit greyscale to 0 or 255
    (a 16-bit grey of 80/255 becomes white), so those keep their top 8
    bits here; floating-point images have no agreed range and are refused.
    """
    if img.mode in ("RGB", "RGBA"):
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode == "F":
        raise ValueError("a 32-bit floating-point image has no agreed 0-255 range; save it with 8 or 16 bits per channel")
    if img.mode == "I" or img.mode.startswith("I;16"):
        wide = np.asarray(img).astype(np.int64)
        # 16-bit samples (every PNG and TIFF "I" image Pillow opens) keep their top byte.
        grey = (np.clip(wide, 0, 65535) >> 8).astype(np.uint8)
        transparent = img.info.get("transparency")
        if isinstance(transparent, int):
            alpha = np.where(wide == transparent, 0, 255).astype(np.uint8)
            return np.ascontiguousarray(np.dstack([grey, grey, grey, alpha]))
        return np.ascontiguousarray(np.dstack([grey, grey, grey]))
    bands = "RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB"
    return np.asarray(img.convert(bands), dtype=np.uint8).copy()


def read_png_text(data: bytes) -> dict[str, str]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return {key: str(value) for key, value in getattr(img, "text", {}).items()}


def strip_png_text(data: bytes) -> bytes:
    """Re-encode without metadata chunks (for shipping builds)."""
    return encode_png(decode_png(data))
