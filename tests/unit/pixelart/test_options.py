"""The pixel-art options are declared once: the schema, the CLI and the engine agree with that declaration."""

import json
from pathlib import Path

import click
import pytest

from pixelgen.cli import cli
from pixelgen.pixelart.options import (
    PixelArtOptions,
    json_schema_properties,
    option_specs,
)

REPO = Path(__file__).resolve().parents[3]


def test_the_manifest_schema_is_the_declaration():
    schema = json.loads((REPO / "schemas" / "manifest.v1.json").read_text("utf-8"))
    assert schema["$defs"]["pixelart"]["properties"] == json_schema_properties()


def test_every_option_is_a_pixelize_flag_with_the_same_default_and_values():
    params = {p.name: p for p in cli.commands["pixelize"].params}
    for spec in option_specs():
        if spec.name == "colors":  # chosen with --palette auto|keep
            assert "colors" not in params
            continue
        param = params[spec.name]
        assert param.opts == [spec.flag]
        assert param.default == spec.default
        if spec.choices is not None:
            assert isinstance(param.type, click.Choice) and tuple(param.type.choices) == spec.choices


def test_the_manifest_model_is_the_engine_options():
    from pixelgen.manifest.model import Asset

    assert Asset.__annotations__["pixelart"] in ("PixelArtOptions", PixelArtOptions)


@pytest.mark.parametrize("field, bad", [(s.name, "nonsense") for s in option_specs() if s.kind != "colour"] + [("outline", "red")])
def test_every_option_rejects_a_bad_value_by_name(field, bad):
    with pytest.raises(ValueError, match=field):
        PixelArtOptions(**{field: bad})


def test_outline_is_normalised_and_converted_once():
    options = PixelArtOptions(outline="1A1C2C")
    assert options.outline == "#1a1c2c" and options.outline_rgb() == (26, 28, 44)
    assert PixelArtOptions(**options.as_dict()) == options
