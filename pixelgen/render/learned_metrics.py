"""Learned image metrics (LPIPS, CLIP distance and image similarity): torch-backed, so they live in the render package.

Both run only from weights already on disk (``local_files_only``; LPIPS's
AlexNet backbone from the torch hub cache): nothing is downloaded, and when
something is missing the caller gets the reason instead of a number.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

# AlexNet's strided layers shrink small sprites to nothing: upscale to this first.
_LPIPS_MIN_SIDE = 64


def _torch_hub_checkpoint(prefix: str) -> Path | None:
    """A torchvision backbone checkpoint already in the torch hub cache, if any."""
    import torch.hub

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    if not folder.is_dir():
        return None
    found = sorted(folder.glob(prefix + "*.pth"))
    return found[0] if found else None


@functools.lru_cache(maxsize=1)
def _lpips_model() -> Any:
    # Cached: a folder comparison calls this per image; loading is the slow part.
    import lpips  # type: ignore[import-not-found]

    model = lpips.LPIPS(net="alex", verbose=False)
    model.eval()
    return model


@functools.lru_cache(maxsize=2)
def _clip_model(source: str) -> tuple[Any, Any]:
    """(model, processor) from local files only; raises OSError/ValueError when absent."""
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(source, local_files_only=True)
    processor = CLIPProcessor.from_pretrained(source, local_files_only=True)
    model.eval()
    return model, processor


def _loaded_clip(source: str) -> tuple[Any, Any] | str:
    """(model, processor), or why they cannot be loaded from local files."""
    try:
        import torch  # noqa: F401  (import checks only; the loader imports the classes)
        import transformers  # noqa: F401
    except ImportError as exc:
        return f"not computed: transformers CLIP not importable ({exc})"
    try:
        return _clip_model(source)
    except (OSError, ValueError) as exc:
        if Path(source).is_dir():
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"not computed: cannot load CLIP from {source!r} ({detail})"
        return (
            f"not computed: CLIP weights {source!r} are not in the local Hugging Face cache "
            "(set PIXELGEN_CLIP_MODEL to a local CLIP model directory)"
        )


def lpips_distance(image: np.ndarray, reference: np.ndarray) -> tuple[float | None, str | None]:
    """LPIPS between two RGB uint8 images (already composited), or (None, why not)."""
    try:
        import lpips  # type: ignore[import-not-found]  # noqa: F401  (availability check)
        import torch
    except ImportError as exc:
        return None, f"not computed: package lpips not importable ({exc})"
    if image.shape[:2] != reference.shape[:2]:
        return None, "not computed: image and reference sizes differ"
    # lpips ships its own linear layers but fetches the AlexNet backbone from
    # torchvision's download cache; without the file it would download.
    if _torch_hub_checkpoint("alexnet-owt-") is None:
        return None, "not computed: AlexNet weights for LPIPS are not in the local torch hub cache"
    model = _lpips_model()
    # AlexNet's strided convolutions and pools shrink a 16×16 sprite to
    # nothing; nearest-neighbour upscaling keeps pixel art exact.
    scale = max(1, math.ceil(_LPIPS_MIN_SIDE / min(image.shape[:2])))

    def to_tensor(rgb: np.ndarray) -> Any:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
        # LPIPS expects NCHW floats in [-1, 1].
        return torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]

    with torch.no_grad():
        value = float(model(to_tensor(image), to_tensor(reference)).item())
    return round(value, 6), None


def clip_distance(image: np.ndarray, prompt: str, *, source: str) -> tuple[float | None, str | None]:
    """Cosine distance between CLIP embeddings of an RGB uint8 image and a prompt, or (None, why not)."""
    loaded = _loaded_clip(source)
    if isinstance(loaded, str):
        return None, loaded
    model, processor = loaded
    import torch
    from PIL import Image

    inputs = processor(
        text=[prompt], images=Image.fromarray(image), return_tensors="pt", padding=True
    )
    with torch.inference_mode():
        out = model(**inputs)
    text = torch.nn.functional.normalize(out.text_embeds, dim=-1)
    img = torch.nn.functional.normalize(out.image_embeds, dim=-1)
    # Cosine distance: 0 = same direction, 2 = opposite.
    return round(1.0 - float((text * img).sum().item()), 6), None


def clip_image_similarity(images: list[np.ndarray], reference: np.ndarray, *, source: str) -> tuple[list[float] | None, str | None]:
    """Cosine similarity of CLIP image embeddings, each RGB uint8 image against ``reference``, or (None, why not).

    1 for the same picture; how far below 1 a frame lands says how far CLIP
    thinks it drifted from the reference (frame 0, or a character's first facing).
    """
    loaded = _loaded_clip(source)
    if isinstance(loaded, str):
        return None, loaded
    model, processor = loaded
    import torch
    from PIL import Image

    # One batch: the reference first, then the frames.
    pixels = processor(images=[Image.fromarray(reference)] + [Image.fromarray(image) for image in images], return_tensors="pt")
    with torch.inference_mode():
        out = model.get_image_features(**pixels)
    embeds = getattr(out, "pooler_output", out)  # a tensor in transformers 4, an output object in 5
    embeds = torch.nn.functional.normalize(embeds, dim=-1)
    similarity = (embeds[1:] * embeds[:1]).sum(dim=-1)
    return [round(float(value), 6) for value in similarity], None
