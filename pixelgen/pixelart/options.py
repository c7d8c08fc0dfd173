"""The pixel-art options, declared once.

The manifest's ``pixelart:`` block (its JSON Schema properties are checked
against :func:`json_schema_properties`), the ``pixelize`` command's flags and
the engine's ``pixelize(options=…)`` all read this one dataclass: a new
option is added here and nowhere else. No numpy here, so the manifest layer
can import it without loading the engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "ANCHORS",
    "COLOR_MODES",
    "DITHER_METHODS",
    "GRID_FAILURE_MODES",
    "REDUCE_METHODS",
    "PIXELIZE_ALGORITHM_VERSION",
    "OptionSpec",
    "PixelArtOptions",
    "json_schema_properties",
    "option_specs",
]

# Goes into cache keys: bump whenever pixelize's output bytes for the same
# input and options change. tests/unit/pixelart/test_pixelize_golden.py
# fails with a reminder when they do.
PIXELIZE_ALGORITHM_VERSION = 32

GRID_FAILURE_MODES = ("error", "use_declared")
# Without a palette: "auto" merges near-identical colours (the art's own
# palette, count from the data); "keep" keeps every cell colour.
COLOR_MODES = ("auto", "keep")
REDUCE_METHODS = ("mode", "median", "kcentroid")
DITHER_METHODS = ("none", "bayer2", "bayer4", "bayer8", "floyd-steinberg")
ANCHORS = (
    "top-left",
    "top-center",
    "top-right",
    "center-left",
    "center",
    "center-right",
    "bottom-left",
    "bottom-center",
    "bottom-right",
)
_HEX_COLOUR = re.compile(r"#?[0-9A-Fa-f]{6}")


def _option(default: Any, help: str, *, example: Any, choices: tuple[str, ...] | None = None,
            minimum: float | None = None, maximum: float | None = None, metavar: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "example": example, "choices": choices,
                                            "minimum": minimum, "maximum": maximum, "metavar": metavar})


@dataclass(frozen=True)
class PixelArtOptions:
    """How a render becomes pixel art: grid detection, colour per cell, palette, alpha."""

    cell: float | None = _option(
        None, "Declared cell size in render pixels; detection is used when null.", example=8, minimum=2, maximum=256,
        metavar="N")
    on_grid_failure: str = _option(
        "use_declared",
        "When no pixel grid is visible, or its confidence is below min_confidence: stop (error), or cut the render "
        "evenly into the declared size (use_declared; with no size, a visible grid is used with a warning).",
        example="error", choices=GRID_FAILURE_MODES)
    min_confidence: float = _option(
        0.5, "Grid confidence (0-1) below which on_grid_failure applies. A build has a declared size to cut into; "
        "pixelize without --size keeps the best visible grid, with a warning.", example=0.3, minimum=0, maximum=1)
    colors: str = _option(
        "auto", "Without a palette: auto reduces to the colours the art actually has (near-identical colours "
        "merged in OKLab); keep keeps every cell colour.", example="keep", choices=COLOR_MODES)
    reduce: str = _option(
        "kcentroid", "Colour of each cell: kcentroid (dominant cluster of a 2-means), median or mode; a border "
        "band of each cell is ignored.", example="median", choices=REDUCE_METHODS)
    dither: str = _option(
        "none", "Ordered (Bayer) or error-diffusion dithering when snapping to the palette.", example="bayer4",
        choices=DITHER_METHODS)
    background_tolerance: float = _option(
        0.08, "OKLab distance of backdrop colours for the border flood fill with background: transparent.",
        example=0.08, minimum=0, maximum=1)
    min_speck: int = _option(
        0, "Remove opaque specks smaller than this many pixels (0: keep all).", example=2, minimum=0, maximum=4096)
    outline: str | None = _option(
        None, "A 1-px outline of this #rrggbb colour around opaque shapes (null: none).", example="#1a1c2c",
        metavar="#RRGGBB")
    anchor: str = _option(
        "bottom-center", "Where the art sits when it is trimmed, cropped or padded to its size.", example="center",
        choices=ANCHORS)

    def __post_init__(self) -> None:
        problems = [problem for spec in option_specs() if (problem := spec.problem(getattr(self, spec.name)))]
        if problems:
            raise ValueError("; ".join(problems))
        if self.outline is not None:
            object.__setattr__(self, "outline", "#" + self.outline.lstrip("#").lower())

    def outline_rgb(self) -> tuple[int, int, int] | None:
        if self.outline is None:
            return None
        value = self.outline.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

    def with_changes(self, **changes: Any) -> PixelArtOptions:
        return PixelArtOptions(**{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """Plain values, the form plan keys and the manifest use."""
        return {spec.name: getattr(self, spec.name) for spec in option_specs()}


@dataclass(frozen=True)
class OptionSpec:
    """One option: its name, type, default, allowed values and help, for schemas and flags."""

    name: str
    kind: str  # "number", "integer", "choice" or "colour"
    optional: bool
    default: Any
    help: str
    example: Any
    choices: tuple[str, ...] | None
    minimum: float | None
    maximum: float | None
    metavar: str | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed (naming what is), or None."""
        if value is None and self.optional:
            return None
        if self.choices is not None:
            if value not in self.choices:
                return f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}"
            return None
        if self.kind == "colour":
            if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
                return f"{self.name} must be a #rrggbb colour, got {value!r}"
            return None
        integral = self.kind == "integer"
        number_ok = isinstance(value, int) if integral else isinstance(value, (int, float))
        if isinstance(value, bool) or not number_ok or not math.isfinite(value):
            return f"{self.name} must be {'an integer' if integral else 'a number'}, got {value!r}"
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return f"{self.name} must be between {self.minimum:g} and {self.maximum:g}, got {value!r}"
        return None


def option_specs() -> tuple[OptionSpec, ...]:
    return _SPECS


def _spec(f: Any) -> OptionSpec:
    meta = f.metadata
    annotation = str(f.type)
    if meta["choices"] is not None:
        kind = "choice"
    elif annotation.startswith("str"):
        kind = "colour"
    elif annotation.startswith("int"):
        kind = "integer"
    else:
        kind = "number"
    return OptionSpec(name=f.name, kind=kind, optional="None" in annotation, default=f.default, help=meta["help"],
                      example=meta["example"], choices=meta["choices"], minimum=meta["minimum"],
                      maximum=meta["maximum"], metavar=meta["metavar"])


_SPECS = tuple(_spec(f) for f in fields(PixelArtOptions))


def json_schema_properties() -> dict[str, Any]:
    """The ``properties`` of the manifest schema's ``pixelart`` block."""
    properties: dict[str, Any] = {}
    for spec in option_specs():
        prop: dict[str, Any]
        if spec.choices is not None:
            prop = {"enum": list(spec.choices)}
        elif spec.kind == "colour":
            prop = {"type": ["string", "null"] if spec.optional else "string", "pattern": "^" + _HEX_COLOUR.pattern + "$"}
        else:
            kind = "integer" if spec.kind == "integer" else "number"
            prop = {"type": [kind, "null"] if spec.optional else kind}
            if spec.minimum is not None:
                prop["minimum"] = spec.minimum
            if spec.maximum is not None:
                prop["maximum"] = spec.maximum
        prop["description"] = spec.help
        if spec.default is not None:
            prop["default"] = spec.default
        prop["examples"] = [spec.example]
        properties[spec.name] = prop
    return properties
