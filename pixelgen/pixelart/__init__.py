"""Pure-numpy post-processing of generated renders into true pixel art.

``pixelize`` is the entry point; the building blocks are public too. Names are
loaded on first use (PEP 562), so importing this package, its options or its
algorithm version loads no numpy: the manifest, plan and a no-op build need
only those.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module of this package that defines it.
_EXPORTS = {
    "BackgroundDecision": "alpha", "add_outline": "alpha", "binarize_alpha": "alpha", "find_background": "alpha",
    "label_components": "alpha", "remove_background": "alpha", "remove_specks": "alpha", "to_rgba": "alpha",
    "trim_and_place": "alpha",
    "oklab_distance": "color", "oklab_to_srgb": "color", "srgb_to_oklab": "color",
    "bayer_matrix": "dither",
    "GridResult": "grid", "declared_grid": "grid", "detect_grid": "grid", "detect_grid_joint": "grid",
    "edge_profiles": "grid", "grid_for_cell": "grid", "shrink_exact_upscale": "grid",
    "axis_aligned_edge_share": "grid", "one_pixel_feature_share": "grid",
    "CLEAN_MERGE_DISTANCE": "palette", "builtin_palette": "palette", "builtin_palette_names": "palette",
    "clean_palette": "palette", "hex_to_rgb": "palette", "learn_palette": "palette", "load_palette_file": "palette",
    "palette_from_hex": "palette", "palette_to_hex": "palette", "parse_gpl": "palette", "parse_hex": "palette",
    "parse_jasc_pal": "palette", "parse_png_swatch": "palette", "quantize": "palette",
    "BACKGROUND_MODES": "engine", "LOW_CONFIDENCE": "engine", "GridDetectionError": "engine",
    "NATIVE_MAX_COLOURS": "engine", "NATIVE_MIN_ONE_PIXEL_SHARE": "engine",
    "PixelizeResult": "engine", "pixelize": "engine", "undo_half_cell": "engine",
    "fit_to_size": "reduce", "nine_slice_fit": "reduce", "reduce_cells": "reduce",
    "ANCHORS": "options", "COLOR_MODES": "options", "DITHER_METHODS": "options", "GRID_FAILURE_MODES": "options",
    "PIXELIZE_ALGORITHM_VERSION": "options", "REDUCE_METHODS": "options", "PixelArtOptions": "options",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
