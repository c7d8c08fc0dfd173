"""Manifest loading: every bad input gives a problem naming the place, the value and a fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pixelgen.errors import ManifestError
from pixelgen.manifest import load_manifest, manifest_schema

REPO = Path(__file__).resolve().parents[3]

BASE = """\
version: 1
name: game
models:
  tiny: {builtin: tiny-sdxl}
palettes:
  pico: {builtin: pico-8}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2}
assets:
  - id: hero
    kind: sprite
    prompt: a hero
"""


def write(tmp_path: Path, text: str, name: str = "game.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(write(tmp_path, text))
    return [p.render() for p in caught.value.problems]


def test_example_manifests_load():
    demo = load_manifest(REPO / "manifests" / "demo.yaml")
    assert {a.kind for a in demo.assets} == {"sprite", "tileset", "ui"}
    assert 8 <= sum(len(a.images) for a in demo.assets) <= 24
    house = load_manifest(REPO / "manifests" / "house-style.yaml")
    assert house.loras["house"].kind == "trained" and all(a.model == "tiny" for a in house.assets)
    platformer = load_manifest(REPO / "manifests" / "platformer.yaml")
    assert platformer.models["sdxl"].kind == "hub"
    assert platformer.assets[0].render.width == 1024


def test_schema_file_is_the_packaged_one():
    import json

    assert json.loads((REPO / "schemas" / "manifest.v1.json").read_text()) == manifest_schema()


def test_defaults_inherit_and_templating(tmp_path):
    text = BASE.replace("defaults:\n", "defaults:\n  prompt_prefix: 'pixel art, '\n  prompt_suffix: ', sprite'\n  seed: 9\n")
    text = text.replace("prompt: a hero", "prompt: a {class} hero\n    vars: {class: mage}\n    matrix: {color: [red, blue]}\n    negative: 'no {color}'")
    manifest = load_manifest(write(tmp_path, text))
    assert [a.id for a in manifest.assets] == ["hero-red", "hero-blue"]
    image = manifest.assets[1].images[0]
    assert image.prompt == "pixel art, a mage hero, sprite"
    assert image.negative == "no blue"
    assert image.seed == 9 and image.size == (16, 16)
    assert manifest.assets[0].render.steps == 2 and manifest.assets[0].render.scheduler == "euler"


def test_yaml_syntax_error_names_line(tmp_path):
    found = problems(tmp_path, BASE + "  - id: [unclosed\n")
    assert len(found) == 1 and "YAML syntax error" in found[0] and ":15:" in found[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        (BASE.replace("version: 1\n", ""), "missing `version`"),
        (BASE.replace("version: 1", "version: 2"), "unsupported manifest version 2"),
    ],
)
def test_version_problems(tmp_path, text, expected):
    found = problems(tmp_path, text)
    assert len(found) == 1 and expected in found[0]


def test_all_schema_violations_reported_at_once(tmp_path):
    text = BASE.replace("steps: 2", "steps: 0").replace("kind: sprite", "kind: sprit").replace("name: game", "name: game\nflavour: x")
    found = problems(tmp_path, text)
    joined = "\n".join(found)
    assert len(found) == 3, joined
    assert "unknown key 'flavour'" in joined and "game.yaml:3:" in joined
    assert "'sprit' is not one of" in joined and "/assets/0/kind" in joined
    assert "0 is too small" in joined and "/defaults/render/steps" in joined and "fix:" in joined


@pytest.mark.parametrize("bad", ["..", "a/b", "/etc", "sp ace", "x\\u0000y", "-dash"])
def test_unsafe_ids_refused(tmp_path, bad):
    found = problems(tmp_path, BASE.replace("id: hero", f'id: "{bad}"'))
    assert any("not a safe name" in p for p in found)


def test_reserved_windows_name_refused(tmp_path):
    found = problems(tmp_path, BASE.replace("id: hero", "id: CON"))
    assert any("reserved file name" in p for p in found)


def test_duplicate_ids_including_after_matrix(tmp_path):
    text = BASE + "  - id: hero\n    kind: sprite\n    prompt: again\n"
    assert any("duplicate asset id 'hero'" in p for p in problems(tmp_path, text))
    text = BASE + "  - id: hero-red\n    kind: sprite\n    prompt: x\n  - id: hero\n    kind: sprite\n    prompt: y\n    matrix: {c: [red]}\n"
    found = problems(tmp_path, text.replace("  - id: hero\n    kind: sprite\n    prompt: a hero\n", "", 1))
    assert any("duplicate asset id 'hero-red'" in p for p in found)


def test_undefined_references(tmp_path):
    text = BASE.replace("prompt: a hero", "prompt: a hero\n    model: big\n    palette: nes2\n    loras: [{name: style}]")
    found = "\n".join(problems(tmp_path, text))
    assert "undefined model 'big'" in found and "undefined palette 'nes2'" in found and "undefined LoRA 'style'" in found


def test_unknown_builtin_palette_and_bad_palette_file(tmp_path):
    (tmp_path / "bad.hex").write_text("ff0000\nnot-a-colour\n")
    text = BASE.replace("pico: {builtin: pico-8}", "pico: {builtin: pico-9}\n  mine: {path: bad.hex}\n  gone: {path: missing.gpl}")
    found = "\n".join(problems(tmp_path, text))
    assert "unknown built-in palette 'pico-9'" in found
    assert "'bad.hex' does not parse" in found
    assert "'missing.gpl' does not exist" in found


@pytest.mark.parametrize("size, expected", [("[0, 16]", "too small"), ("[-4, 16]", "too small"), ("[5000, 16]", "too large")])
def test_size_bounds(tmp_path, size, expected):
    found = problems(tmp_path, BASE.replace("size: [16, 16]", f"size: {size}"))
    assert any(expected in p and "/defaults/size/0" in p for p in found)


def test_size_larger_than_render(tmp_path):
    found = problems(tmp_path, BASE.replace("size: [16, 16]", "size: [128, 16]"))
    assert any("larger than the render size" in p for p in found)


def test_missing_lora_and_pickle_checkpoint(tmp_path):
    (tmp_path / "model.ckpt").write_bytes(b"x")
    text = BASE.replace("tiny: {builtin: tiny-sdxl}", "tiny: {builtin: tiny-sdxl}\n  old: {path: model.ckpt}")
    text = text.replace("palettes:", "loras:\n  style: {path: loras/style.safetensors}\npalettes:")
    found = "\n".join(problems(tmp_path, text))
    assert "LoRA file 'loras/style.safetensors' does not exist" in found
    assert "model.ckpt is a pickle file" in found and "allow_pickle: true" in found


def test_alias_bomb_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    found = problems(tmp_path, BASE + "\n".join(lines) + "\n")
    assert len(found) == 1 and "expands to more than" in found[0]


def test_duplicate_yaml_key(tmp_path):
    found = problems(tmp_path, BASE.replace("name: game", "name: game\nname: other"))
    assert len(found) == 1 and "duplicate key 'name'" in found[0] and ":3:" in found[0]


def test_unknown_template_variable(tmp_path):
    found = problems(tmp_path, BASE.replace("prompt: a hero", "prompt: a {klass} hero"))
    assert any("{klass}" in p and "/assets/0/prompt" in p for p in found)


def test_border_must_leave_a_centre(tmp_path):
    text = BASE + "  - id: hud\n    kind: ui\n    prompt: x\n    elements:\n      - {name: b, size: [8, 8], border: [4, 1, 4, 1]}\n"
    assert any("leaves no centre" in p for p in problems(tmp_path, text))


def test_kind_specific_keys(tmp_path):
    found = problems(tmp_path, BASE.replace("prompt: a hero", "prompt: a hero\n    tiles: [{name: t}]"))
    assert any("/assets/0/tiles" in p for p in found)


def test_schema_lists_exactly_the_known_gates():
    from pixelgen.quality.gates import GATE_METRICS, TRAINING_GATES

    assert manifest_schema()["$defs"]["quality"]["propertyNames"]["enum"] == sorted(set(GATE_METRICS) - set(TRAINING_GATES))
    assert sorted(manifest_schema()["$defs"]["loraTrain"]["properties"]["quality"]["properties"]) == sorted(TRAINING_GATES)


def test_animation_frames_expand_per_facing(tmp_path):
    text = BASE.replace(
        "prompt: a hero",
        "prompt: a hero {pose}\n    directions: 4\n    animations:\n      - {name: walk, frames: 2, poses: [left, right], direction: pingpong}",
    )
    asset = load_manifest(write(tmp_path, text)).assets[0]
    assert [clip.name for clip in asset.clips] == ["walk-n", "walk-e", "walk-s", "walk-w"]
    assert asset.clips[1].frames == ("walk-e-0", "walk-e-1")
    frame = asset.images[3]
    assert frame.name == "walk-e-1" and frame.prompt == "a hero right, facing east"
    assert {image.seed for image in asset.images} == {0}


def test_terrain_types_must_be_tiles(tmp_path):
    text = BASE + "  - id: ground\n    kind: tileset\n    prompt: x\n    terrain: {types: [grass, lava]}\n    tiles: [{name: grass}, {name: dirt}]\n"
    assert any("terrain 'lava' is not a tile" in p for p in problems(tmp_path, text))
