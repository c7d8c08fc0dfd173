"""Pure-numpy post-processing of generated renders into true pixel art.

``pixelize`` is the entry point; the building blocks are public too. Importing
this package loads numpy only (scipy and Pillow are imported where needed).
"""

from __future__ import annotations

from .alpha import (
    BackgroundDecision,
    add_outline,
    binarize_alpha,
    find_background,
    label_components,
    remove_background,
    remove_specks,
    to_rgba,
    trim_and_place,
)
from .color import oklab_distance, oklab_to_srgb, srgb_to_oklab
from .dither import bayer_matrix
from .grid import (
    GridResult,
    declared_grid,
    detect_grid,
    detect_grid_joint,
    edge_profiles,
    grid_for_cell,
)
from .palette import (
    CLEAN_MERGE_DISTANCE,
    DITHER_METHODS,
    builtin_palette,
    builtin_palette_names,
    clean_palette,
    hex_to_rgb,
    learn_palette,
    load_palette_file,
    palette_from_hex,
    palette_to_hex,
    parse_gpl,
    parse_hex,
    parse_jasc_pal,
    parse_png_swatch,
    quantize,
)
from .pixelize import (
    BACKGROUND_MODES,
    COLOR_MODES,
    GRID_FAILURE_MODES,
    LOW_CONFIDENCE,
    PIXELIZE_ALGORITHM_VERSION,
    GridDetectionError,
    PixelizeResult,
    pixelize,
    validate_options,
)
from .reduce import ANCHORS, REDUCE_METHODS, fit_to_size, nine_slice_fit, reduce_cells

__all__ = [
    "ANCHORS",
    "BackgroundDecision",
    "CLEAN_MERGE_DISTANCE",
    "COLOR_MODES",
    "LOW_CONFIDENCE",
    "clean_palette",
    "detect_grid_joint",
    "find_background",
    "grid_for_cell",
    "BACKGROUND_MODES",
    "DITHER_METHODS",
    "GRID_FAILURE_MODES",
    "PIXELIZE_ALGORITHM_VERSION",
    "REDUCE_METHODS",
    "GridDetectionError",
    "GridResult",
    "PixelizeResult",
    "add_outline",
    "bayer_matrix",
    "binarize_alpha",
    "builtin_palette",
    "builtin_palette_names",
    "declared_grid",
    "detect_grid",
    "edge_profiles",
    "fit_to_size",
    "nine_slice_fit",
    "label_components",
    "hex_to_rgb",
    "learn_palette",
    "load_palette_file",
    "oklab_distance",
    "oklab_to_srgb",
    "palette_from_hex",
    "palette_to_hex",
    "parse_gpl",
    "parse_hex",
    "parse_jasc_pal",
    "parse_png_swatch",
    "pixelize",
    "quantize",
    "reduce_cells",
    "remove_background",
    "remove_specks",
    "srgb_to_oklab",
    "to_rgba",
    "trim_and_place",
    "validate_options",
]
