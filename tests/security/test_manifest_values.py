"""Classes 7, 10 and 11: numbers, names that become paths, and messages — refused before anything is written."""

from __future__ import annotations

import pytest
from sec_helpers import MANIFEST, assert_one_error, snapshot


def _edit(sandbox, old: str, new: str) -> None:
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1))


def _refused(sandbox, *needles: str) -> str:
    project_before = snapshot(sandbox.project)
    result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 2, *needles)
    assert snapshot(sandbox.project) == project_before  # no output, lock or cache file written
    sandbox.sentinel_untouched()
    return result.err


HERO = '    prompt: "a hero"\n'
WALK = "{name: walk, frames: 2}"

NUMBERS = {
    "seed-float": (("  seed: 3", "  seed: 7.0"), ["/defaults/seed", "7.0 should be of type integer"]),
    "padding-float": ((HERO, HERO + "    sheet: {padding: 1.0}\n"), ["/sheet/padding", "should be of type integer"]),
    "duration-float": ((WALK, "{name: walk, frames: 2, duration_ms: 100.0}"), ["duration_ms", "should be of type integer"]),
    "frames-float": ((WALK, "{name: walk, frames: 2.0}"), ["frames", "should be of type integer"]),
    "variants-float": ((HERO, HERO + "    variants: [1.0]\n"), ["/variants/0", "should be of type integer"]),
    "size-float": (("size: [16, 16]", "size: [16.0, 16]"), ["/defaults/size/0"]),
    "guidance-nan": (("guidance: 2.0", "guidance: .nan"), ["not a finite number"]),
    "cell-inf": ((HERO, HERO + "    pixelart: {cell: .inf}\n"), ["not a finite number"]),
    "gate-nan": ((HERO, HERO + "    quality: {max_colors: .NaN}\n"), ["not a finite number"]),
    "gate-neg-inf": ((HERO, HERO + "    quality: {min_ssim_vs_previous: -.inf}\n"), ["not a finite number"]),
    "gate-range": ((HERO, HERO + "    quality: {palette_compliance: 7}\n"), ["palette_compliance", "too large"]),
    "var-huge": ((HERO, HERO + "    vars: {n: 1.0e+300}\n"), ["too large"]),
    "seed-negative": (("  seed: 3", "  seed: -1"), ["too small"]),
    "version-float": (("version: 1", "version: 1.0"), ["unsupported manifest version"]),
}


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_numbers_the_schema_must_refuse(sandbox, case):
    (old, new), needles = NUMBERS[case]
    _edit(sandbox, old, new)
    _refused(sandbox, *needles)


NAMES = {
    "variant-con": (HERO, HERO + "    variants: [{name: con, seed: 1}]\n", "reserved file name"),
    "variant-nul-ext": (HERO, HERO + "    variants: [{name: nul.txt, seed: 1}]\n", "reserved file name"),
    "animation-prn": (WALK, "{name: prn, frames: 2}", "reserved file name"),
    "asset-aux": ("id: hero", "id: aux", "reserved file name"),
    "manifest-com1": ("name: sec", "name: COM1", "reserved file name"),
    "palette-lpt9": ("pico: {builtin: pico-8}\n", "pico: {builtin: pico-8}\n  lpt9: {builtin: pico-8}\n", "reserved file name"),
    "trailing-dot-id": ("id: hero", 'id: "hero."', "ends with '.'"),
    "trailing-dot-variant": (HERO, HERO + '    variants: [{name: "a.", seed: 1}]\n', "ends with '.'"),
    "case-ids": ("id: walker", "id: Hero", "same folder as 'hero' on Windows and macOS"),
    "case-variants": (HERO, HERO + "    variants: [{name: Big, seed: 1}, {name: big, seed: 2}]\n", "same file on Windows and macOS"),
    "case-clips": (WALK, WALK + "\n      - {name: WALK, frames: 2}", "same file on Windows and macOS"),
    "case-matrix": (HERO, HERO + "    matrix: {c: [Red, red]}\n", "same folder as"),
}


@pytest.mark.parametrize("case", sorted(NAMES))
def test_names_that_become_paths_are_portable(sandbox, case):
    old, new, needle = NAMES[case]
    _edit(sandbox, old, new)
    _refused(sandbox, needle)


def test_an_invalid_asset_level_value_reports_only_the_real_problem(sandbox):
    _edit(sandbox, HERO, HERO + "    render: {steps: 0}\n    pixelart: {reduce: bogus}\n    background: maybe\n")
    err = _refused(sandbox, "3 problems", "/assets/0/render/steps", "/assets/0/pixelart/reduce", "/assets/0/background")
    assert "unknown key" not in err


@pytest.mark.parametrize("variant", ['{name: "a b", seed: 1}', '{name: "../x", seed: 1}'])
def test_a_bad_variant_name_says_so(sandbox, variant):
    _edit(sandbox, HERO, HERO + f"    variants: [{variant}]\n")
    err = _refused(sandbox, "/variants/0/name", "is not a safe name")
    assert "integer" not in err


def test_a_real_unknown_key_is_still_reported(sandbox):
    _edit(sandbox, HERO, HERO + "    colour: red\n")
    _refused(sandbox, "unknown key 'colour'")


def test_yaml_merge_keys_follow_yaml_1_1(sandbox):
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    text = text.replace("  - id: hero\n    kind: sprite\n", "  - &sprite\n    id: hero\n    kind: sprite\n")
    text += "  - <<: *sprite\n    id: villain\n    prompt: a villain\n"  # overrides id and prompt
    manifest.write_text(text)
    result = sandbox.run("plan", MANIFEST, "--json")
    assert result.code == 0, result.err
    assert '"a villain"' in result.out or "a villain" in result.out
    # Two explicit keys are still a duplicate.
    manifest.write_text(text + "    prompt: again\n")
    assert_one_error(sandbox.run("validate", MANIFEST), 2, "duplicate key 'prompt'")


def test_merge_with_a_list_of_maps_earlier_wins():
    from pixelgen.manifest.yamlread import load_located

    data = load_located("a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc:\n  <<: [*a, *b]\n  y: 4\n").data
    assert data["c"] == {"x": 1, "y": 4}
    assert data["a"] == {"x": 1} and data["b"] == {"x": 2, "y": 3}
