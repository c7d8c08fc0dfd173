"""compare's variations: parsing and how they change a manifest's assets."""

from __future__ import annotations

import pytest
import yaml

from pixelgen.commands.compare import (
    Variation,
    column_label,
    grid_size,
    parse_variation,
    variant_text,
)
from pixelgen.errors import InputError


def test_values_are_yaml_scalars():
    assert parse_variation("lora.house.weight=0,0.6,1.2") == Variation("lora.house.weight", (0, 0.6, 1.2))
    assert parse_variation("model=sdxl, tiny") == Variation("model", ("sdxl", "tiny"))
    assert parse_variation("pixelart.outline=null,'#000000'").values == (None, "#000000")


@pytest.mark.parametrize("text", ["seed", "=1,2", "seed=", "lora.house=1,2", "lora.house.scale=1"])
def test_malformed_variations_are_input_errors(text):
    with pytest.raises(InputError):
        parse_variation(text)


DATA = {
    "version": 1,
    "defaults": {"loras": [{"name": "style", "weight": 1.0}], "render": {"steps": 4}},
    "assets": [
        {"id": "a", "kind": "sprite", "prompt": "x"},
        {"id": "b", "kind": "sprite", "prompt": "y", "loras": [{"name": "house", "weight": 0.3}], "render": {"width": 64}},
    ],
}


def test_settings_apply_to_every_asset_without_touching_the_input():
    text = variant_text(DATA, [("lora.house.weight", 0.6), ("render.steps", 8), ("model", "tiny")])
    a, b = yaml.safe_load(text)["assets"]
    # a inherits the default LoRAs, gains house; b's own house entry changes weight.
    assert a["loras"] == [{"name": "style", "weight": 1.0}, {"name": "house", "weight": 0.6}]
    assert b["loras"] == [{"name": "house", "weight": 0.6}]
    assert a["render"] == {"steps": 8} and b["render"] == {"width": 64, "steps": 8}
    assert a["model"] == b["model"] == "tiny"
    assert DATA["assets"][1]["loras"] == [{"name": "house", "weight": 0.3}] and "render" not in DATA["assets"][0]


def test_labels_and_grid_size():
    assert column_label([("seed", 1), ("palette", "pico")]) == "seed=1, palette=pico"
    width, height = grid_size(3, 2)
    assert width > height and grid_size(4, 2)[0] - width == grid_size(3, 3)[1] - height
