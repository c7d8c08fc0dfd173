"""Manifest layer: YAML + JSON Schema → frozen dataclasses."""

from pixelgen.manifest.load import (
    load_manifest,
    manifest_schema,
    manifest_schema_text,
    remember_validated,
)
from pixelgen.manifest.model import (
    Asset,
    ImageSpec,
    LoraSpec,
    Manifest,
    ModelSpec,
    PaletteSpec,
)

__all__ = ["Asset", "ImageSpec", "LoraSpec", "Manifest", "ModelSpec", "PaletteSpec", "load_manifest", "manifest_schema", "manifest_schema_text", "remember_validated"]
