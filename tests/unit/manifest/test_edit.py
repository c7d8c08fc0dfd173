"""Structured manifest edits keep comments, key order and layout, and never write an invalid manifest."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("ruamel.yaml")

from conftest import REPO  # noqa: E402

from pixelgen.errors import InputError, ManifestError  # noqa: E402
from pixelgen.manifest import load_manifest  # noqa: E402
from pixelgen.manifest.edit import _dump, _load, add_asset, edit_asset  # noqa: E402


@pytest.mark.parametrize("name", ["demo", "platformer"])
def test_an_untouched_round_trip_is_byte_identical(name):
    path = REPO / "manifests" / f"{name}.yaml"
    yaml, document = _load(path)
    assert _dump(yaml, document) == path.read_text("utf-8")


@pytest.fixture
def demo(tmp_path):
    target = tmp_path / "demo.yaml"
    shutil.copy(REPO / "manifests" / "demo.yaml", target)
    return target


def test_edit_changes_only_what_the_patch_names(demo):
    before = demo.read_text()
    edit_asset(demo, "coin", {"prompt": "a spinning silver coin", "pixelart": {"min_speck": 1}, "palette": None})
    after = demo.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed[0] == ('    prompt: "a spinning gold coin"', '    prompt: "a spinning silver coin"')
    assert '    pixelart: {outline: "#1a1c2c", min_speck: 1}' in after
    assert "palette: forest\n    background: transparent\n    pixelart" not in after.split("- id: coin")[1]
    assert after.startswith("# yaml-language-server: $schema=../schemas/manifest.v1.json\n#\n# The demo:")
    assert "# exercises every code path" in after
    assert load_manifest(demo).asset("coin").images[0].prompt.startswith("pixel art, a spinning silver coin")


def test_add_inserts_after_an_asset_in_flow_style(demo):
    add_asset(demo, {"id": "chest", "kind": "sprite", "prompt": "a treasure chest", "size": [16, 16]}, after="coin")
    text = demo.read_text()
    assert text.index("- id: coin") < text.index("- id: chest") < text.index("- id: ground")
    assert "  - id: chest\n    kind: sprite\n    prompt: a treasure chest\n    size: [16, 16]\n" in text
    assert [a.id for a in load_manifest(demo).assets].count("chest") == 1


def test_invalid_edits_are_refused_and_the_file_is_untouched(demo):
    before = demo.read_text()
    with pytest.raises(ManifestError) as problem:
        edit_asset(demo, "coin", {"size": [0, 16]})
    assert str(demo) in problem.value.message and "0 is too small" in problem.value.message
    with pytest.raises(ManifestError, match="palette"):
        edit_asset(demo, "coin", {"palette": "no-such-palette"})
    with pytest.raises(InputError, match="already exists"):
        add_asset(demo, {"id": "coin", "kind": "sprite", "prompt": "x"})
    with pytest.raises(InputError, match="no asset with id 'dragon'"):
        edit_asset(demo, "dragon", {"prompt": "x"})
    assert demo.read_text() == before
    assert sorted(p.name for p in demo.parent.iterdir()) == ["demo.yaml"]
