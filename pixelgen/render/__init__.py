"""The renderer: the only package that imports torch, diffusers and transformers.

Importing ``pixelgen.render`` itself is cheap: the heavy modules are imported by
``pixelgen.render.diffusers_backend`` and ``pixelgen.render.tiny`` only when a
render is actually needed, so ``validate``, ``plan``, ``status`` and a fully
cached ``build`` never pay for them.
"""

from __future__ import annotations

# Bump when the tiny model's recipe changes: its weights (and so every render
# made with it) change, and this constant is part of the model's cache identity.
TINY_SDXL_RECIPE = 1
TINY_SDXL_NAME = "tiny-sdxl"
# The tiny ControlNet is built from the tiny UNet: its recipe and the UNet's make its identity.
TINY_CONTROLNET_RECIPE = 1
TINY_CONTROLNET_NAME = "tiny-controlnet"
# The tiny IP-Adapter (and its tiny CLIP vision encoder) fits the tiny UNet's attention layers.
TINY_IP_ADAPTER_RECIPE = 1
TINY_IP_ADAPTER_NAME = "tiny-ip-adapter"


def quiet_hf_libraries() -> None:
    """Silence import-time notices and progress bars of transformers/diffusers.

    Must run before they are imported: transformers prints notices about
    optional backends (torchvision) at import time.
    """
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
