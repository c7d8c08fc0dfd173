"""Animated GIF previews of sprite animations (Pillow), lossless for pixel art.

GIF has one transparent palette entry and at most 256 colours, so:

* alpha is made binary: alpha >= 128 is opaque, below is fully transparent;
* all frames share one global palette of the opaque colours (sorted, so equal
  input gives equal bytes) plus index 0 for transparency; more than 255
  distinct opaque colours raises ``ValueError`` — quantise first (pixel art
  from pixelgen's palette step is far below that);
* frame delays are stored in 1/100 s, so ``durations_ms`` are rounded to 10 ms
  by Pillow; each frame is drawn on a cleared canvas (disposal 2) so
  transparent pixels never show the previous frame;
* Pillow merges consecutive identical frames into one frame whose delay is
  the sum (the animation plays the same; the frame count can be lower).
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np

from pixelgen.formats._image import check_rgba_list, check_same_size

_ALPHA_THRESHOLD = 128


def animated_gif(
    frames: Sequence[np.ndarray],
    *,
    durations_ms: Sequence[int],
    loop: int | None = 0,
    scale: int = 1,
) -> bytes:
    """Encode RGBA ``frames`` as an animated GIF.

    ``loop=0`` repeats forever, ``loop=n`` plays n extra times, ``None`` plays once.
    ``scale`` enlarges each pixel to ``scale``×``scale`` (nearest neighbour).
    """
    from PIL import Image

    images = check_rgba_list(frames)
    check_same_size(images, what="frames")
    if len(durations_ms) != len(images):
        raise ValueError(f"durations_ms has {len(durations_ms)} entries for {len(images)} frames; give one per frame")
    for index, duration in enumerate(durations_ms):
        if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
            raise ValueError(f"durations_ms[{index}] must be a positive integer (ms), got {duration!r}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int) or loop < 0):
        raise ValueError(f"loop must be None or a non-negative integer, got {loop!r}")

    stack = np.stack(images)
    opaque = stack[..., 3] >= _ALPHA_THRESHOLD
    # One packed integer per RGB colour makes the palette lookup a single searchsorted.
    packed = (stack[..., 0].astype(np.uint32) << 16) | (stack[..., 1].astype(np.uint32) << 8) | stack[..., 2]
    colours = np.unique(packed[opaque])
    if colours.size > 255:
        raise ValueError(
            f"frames use {colours.size} opaque colours but a GIF holds 255 plus transparency; "
            "quantise the frames to a palette of at most 255 colours first"
        )
    indices = np.zeros(packed.shape, dtype=np.uint8)
    indices[opaque] = (np.searchsorted(colours, packed[opaque]) + 1).astype(np.uint8)
    if scale > 1:
        indices = indices.repeat(scale, axis=1).repeat(scale, axis=2)

    palette = [0, 0, 0]
    for colour in colours.tolist():
        palette += [(colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF]
    palette += [0, 0, 0] * (256 - len(palette) // 3)

    pil_frames = []
    for frame_indices in indices:
        image = Image.fromarray(frame_indices, mode="P")
        image.putpalette(palette)
        image.info["transparency"] = 0
        pil_frames.append(image)

    buffer = io.BytesIO()
    save_options: dict = {
        "save_all": True,
        "append_images": pil_frames[1:],
        "duration": list(durations_ms),
        "disposal": 2,
        "transparency": 0,
        "optimize": False,
    }
    if loop is not None:
        save_options["loop"] = loop
    pil_frames[0].save(buffer, format="GIF", **save_options)
    return buffer.getvalue()
