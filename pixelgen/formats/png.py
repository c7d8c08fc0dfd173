"""PNG encoding and decoding with stable bytes and pixelgen's metadata chunks.

Assets carry two iTXt chunks: ``parameters`` (an A1111-style one-line summary
that image viewers and web UIs already understand) and ``pixelgen`` (JSON with
the job key and asset id). They are written before the file is hashed, and
contain no time, so rebuilding gives the same bytes.
"""

from __future__ import annotations

import io
from typing import Mapping

import numpy as np

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
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
        return np.asarray(img, dtype=np.uint8).copy()


def read_png_text(data: bytes) -> dict[str, str]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return {key: str(value) for key, value in getattr(img, "text", {}).items()}


def strip_png_text(data: bytes) -> bytes:
    """Re-encode without metadata chunks (for shipping builds)."""
    return encode_png(decode_png(data))
