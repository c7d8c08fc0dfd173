"""Every bad input: exit 2, one clear message naming file and place, no traceback, nothing written."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli

MANIFEST = "manifests/small.yaml"

CASES = {
    "yaml-syntax": (lambda t: t.replace("name: small", "name: [small"), ["YAML syntax error", "small.yaml:"]),
    "no-version": (lambda t: t.replace("version: 1\n", ""), ["missing `version`", "version: 1"]),
    "bad-version": (lambda t: t.replace("version: 1", "version: 7"), ["unsupported manifest version 7"]),
    "schema": (
        lambda t: t.replace("steps: 2", "steps: -1").replace("kind: ui", "kind: hud"),
        ["2 problems", "/defaults/render/steps", "/assets/3/kind"],
    ),
    "duplicate-id": (lambda t: t.replace("id: hud", "id: ground"), ["duplicate asset id 'ground'"]),
    "duplicate-after-matrix": (lambda t: t.replace("id: hud", "id: slime-green"), ["duplicate asset id 'slime-green'"]),
    "unsafe-id": (lambda t: t.replace("id: hud", 'id: "../../etc"'), ["not a safe name", "/assets/3/id"]),
    "reserved-name": (lambda t: t.replace("id: hud", "id: aux"), ["reserved file name"]),
    "undefined-model": (lambda t: t.replace("model: tiny", "model: huge"), ["undefined model 'huge'"]),
    "undefined-palette": (lambda t: t.replace("palette: warm", "palette: cold"), ["undefined palette 'cold'"]),
    "undefined-lora": (lambda t: t.replace("  seed: 3", "  seed: 3\n  loras: [{name: ghost}]"), ["undefined LoRA 'ghost'"]),
    "bad-palette-file": (lambda t: t.replace("pico: {builtin: pico-8}", "pico: {path: broken.gpl}"), ["broken.gpl", "does not parse"]),
    "zero-size": (lambda t: t.replace("size: [16, 16]", "size: [0, 16]"), ["too small", "/defaults/size/0"]),
    "huge-size": (lambda t: t.replace("size: [16, 16]", "size: [100000, 16]"), ["too large"]),
    "missing-lora": (
        lambda t: t.replace("palettes:", "loras:\n  style: {path: nope.safetensors}\npalettes:"),
        ["LoRA file 'nope.safetensors' does not exist"],
    ),
    "lora-sha-mismatch": (
        lambda t: t.replace("palettes:", "loras:\n  style: {path: style.safetensors, sha256: " + "ab" * 32 + "}\npalettes:").replace(
            "  seed: 3", "  seed: 3\n  loras: [{name: style}]"
        ),
        ["sha256", "pins abab"],
    ),
    "missing-checkpoint": (
        lambda t: t.replace("tiny: {builtin: tiny-sdxl}", "tiny: {path: weights/sdxl.safetensors}"),
        ["model file 'weights/sdxl.safetensors' does not exist"],
    ),
    "pickle-checkpoint": (lambda t: t.replace("tiny: {builtin: tiny-sdxl}", "tiny: {path: old.ckpt}"), ["pickle", "allow_pickle"]),
    "alias-bomb": (
        lambda t: t
        + "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
        + "".join(f"x{i}: &x{i} [" + ", ".join([f"*x{i-1}"] * 10) + "]\n" for i in range(1, 8)),
        ["expands to more than"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_a_clear_message(project, case):
    mutate, expected = CASES[case]
    manifests = project / "manifests"
    (manifests / "broken.gpl").write_text("GIMP Palette\nName: x\n#\nnot numbers here\n")
    (manifests / "style.safetensors").write_bytes(b"not really weights")
    (manifests / "old.ckpt").write_bytes(b"pickle")
    path = manifests / "small.yaml"
    path.write_text(mutate(path.read_text()))
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 2, (result.code, result.err, result.out)
    assert "Traceback" not in result.err
    for text in expected:
        assert text in result.err, result.err
    assert result.err.startswith("error: ")
    # Nothing written: no outputs, no lock, no cache files.
    after = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert after == before


def test_missing_manifest_file(project):
    result = run_cli(project, "build", "manifests/nope.yaml")
    assert result.code == 2 and "no such manifest" in result.err


def test_validate_reports_success(project):
    result = run_cli(project, "validate", MANIFEST)
    assert result.code == 0 and "valid (5 assets, 7 images)" in result.out
