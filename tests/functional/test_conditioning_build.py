"""Conditioned builds end to end on the tiny models: the job DAG, minimal rebuilds, --only closures, cycles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import outputs, run_cli

pytestmark = pytest.mark.slow
MANIFEST = "manifests/cond.yaml"
TEXT = """\
version: 1
name: cond
models:
  tiny: {builtin: tiny-sdxl}
controlnets:
  openpose: {builtin: tiny-controlnet}
palettes:
  pico: {builtin: pico-8}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2, guidance: 3.0}
  palette: pico
  pixelart: {cell: 4}
  seed: 3
assets:
  - id: hero
    kind: sprite
    prompt: a hero
  - id: shield
    kind: sprite
    prompt: a shield
    init: {image: "asset:hero", strength: 0.5}
  - id: knight
    kind: sprite
    prompt: a knight
    control: [{model: openpose, image: "pose:walk/e/{frame}", scale: 0.9}]
    animations:
      - {name: walk, frames: 3, from: first-frame, strength: 0.5}
  - id: tree
    kind: sprite
    prompt: a tree
"""


@pytest.fixture
def cond_project(project: Path) -> Path:
    (project / MANIFEST).write_text(TEXT)
    return project


def build(project: Path, *args: str) -> dict:
    result = run_cli(project, "build", MANIFEST, "--json", *args)
    assert result.code == 0, result.err + result.out
    return json.loads(result.out)


def edit(project: Path, old: str, new: str) -> None:
    path = project / MANIFEST
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_dag_build_and_minimal_rebuilds(cond_project):
    first = build(cond_project)
    assert first["built"] == 6 and first["rendered"] == 6
    before = outputs(cond_project, "cond")
    assert set(before) == {"hero/default.png", "shield/default.png", "tree/default.png", *(f"knight/walk-{i}.png" for i in range(3))}
    assert build(cond_project)["rendered"] == 0

    # Editing the upstream prompt re-renders it and what is conditioned on it, nothing else.
    edit(cond_project, "prompt: a hero", "prompt: a brave hero")
    status = json.loads(run_cli(cond_project, "status", MANIFEST, "--json").out)["assets"]
    stale = {entry["id"]: entry for entry in status if not entry["up_to_date"]}
    assert set(stale) == {"hero", "shield"}
    assert stale["shield"]["depends_on"] == ["hero"]
    assert any("conditioning changed" in reason for reason in stale["shield"]["reasons"])
    second = build(cond_project)
    assert second["rendered"] == 2
    after = outputs(cond_project, "cond")
    assert {path for path in after if after[path] != before[path]} == {"hero/default.png", "shield/default.png"}

    # Editing frame 0's prompt re-renders exactly that clip's frames.
    edit(cond_project, "prompt: a knight", "prompt: a tall knight")
    third = build(cond_project)
    assert third["rendered"] == 3
    final = outputs(cond_project, "cond")
    assert {path for path in final if final[path] != after[path]} == {f"knight/walk-{i}.png" for i in range(3)}


def test_only_builds_what_the_selection_needs(cond_project):
    summary = build(cond_project, "--only", "shield")
    assert summary["built"] == 2
    assert set(outputs(cond_project, "cond")) == {"hero/default.png", "shield/default.png"}


def test_plan_and_status_show_the_edges(cond_project):
    result = run_cli(cond_project, "plan", MANIFEST, "--json")
    assert result.code == 0
    plan = json.loads(result.out)
    renders = {job["key"]: job for job in plan["renders"]}
    assets = {asset["id"]: asset for asset in plan["assets"]}
    assert assets["shield"]["depends_on"] == ["hero"] and assets["tree"]["depends_on"] == []
    shield_render = renders[assets["shield"]["posts"][0]["render_key"]]
    assert shield_render["depends"] == [assets["hero"]["posts"][0]["render_key"]] and shield_render["level"] == 1
    frames = [renders[post["render_key"]] for post in assets["knight"]["posts"]]
    assert [frame["level"] for frame in frames] == [0, 1, 1]
    text = run_cli(cond_project, "status", MANIFEST)
    assert "shield" in text.out and "(needs hero)" in text.out


def test_a_cycle_exits_2_naming_it(cond_project):
    edit(cond_project, "    prompt: a hero\n", "    prompt: a hero\n    init: {image: \"asset:shield\"}\n")
    for command in ("build", "plan", "validate"):
        result = run_cli(cond_project, command, MANIFEST)
        assert result.code == 2
        assert "dependency cycle: hero/default → shield/default → hero/default" in result.err
    assert not (cond_project / "assets_out").exists()


def test_records_name_the_conditioning(cond_project):
    from PIL import Image

    from pixelgen.formats.png import read_png_text

    Image.new("RGB", (32, 32), (90, 140, 60)).save(cond_project / "manifests" / "bark.png")
    edit(cond_project, "    prompt: a tree\n", "    prompt: a tree\n    init: {image: bark.png, strength: 0.5}\n")
    edit(cond_project, "  seed: 3\n", "  seed: 3\n  quality: {min_frame_consistency: 1.0}\n")
    result = run_cli(cond_project, "build", MANIFEST, "--json", "--gates", "error")
    assert result.code == 1  # the frames of a noise model are not one character
    summary = json.loads(result.out)
    assert any(v["gate"] == "min_frame_consistency" and v["asset"] == "knight" for v in summary["gate_violations"])
    out = cond_project / "assets_out" / "cond"

    quality = json.loads((out / "quality.json").read_text())["assets"]
    knight = quality["knight"]
    assert 0 <= knight["metrics"]["frame_consistency"] < 1 and len(knight["animations"]["walk"]["frames"]) == 2
    assert knight["metrics"]["frame_consistency"] == knight["animations"]["walk"]["frame_consistency"]
    assert quality["hero"]["metrics"].get("frame_consistency") is None
    report = (out / "report.html").read_text()
    assert report.count('data-frame="knight/walk-') == 3 and 'data-preview="poses"' in report

    parameters = read_png_text((out / "knight" / "walk-1.png").read_bytes())["parameters"]
    assert "Denoising strength: 0.5" in parameters and "Init image: render " in parameters
    assert 'ControlNet 0: "Model: openpose [' in parameters and "Weight: 0.9" in parameters and "Image: pose walk/e/1" in parameters
    assert "Init image: file " in read_png_text((out / "tree" / "default.png").read_bytes())["parameters"]

    sbom = json.loads((out / "sbom.cdx.json").read_text())
    by_name = {component["name"]: component for component in sbom["components"]}
    controlnet = by_name["controlnet:openpose"]
    assert controlnet["type"] == "machine-learning-model"
    assert controlnet["modelCard"]["modelParameters"]["modelArchitecture"] == "controlnet-sdxl"
    assert any(sub["name"] == "diffusion_pytorch_model.safetensors" for sub in controlnet["components"])
    bark = by_name["bark.png"]
    assert bark["type"] == "data" and bark["data"][0]["type"] == "dataset"

    from pixelgen.files.hashing import sha256_file

    statement = json.loads((out / "provenance.intoto.json").read_text())
    dependencies = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    names = {d["name"]: d for d in dependencies}
    assert names["bark.png"]["digest"]["sha256"] == sha256_file(cond_project / "manifests" / "bark.png")
    assert names["bark.png"]["annotations"]["kind"] == "conditioning"
    weights = names["models/controlnet:openpose/diffusion_pytorch_model.safetensors"]
    folder = next((cond_project / "manifests" / ".pixelgen" / "cache" / "models").glob("tiny-controlnet-*"))
    assert weights["digest"]["sha256"] == sha256_file(folder / "diffusion_pytorch_model.safetensors")


CLIP_GATE = """\
version: 1
name: clipgate
models:
  tiny: {builtin: tiny-sdxl}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2}
  pixelart: {cell: 4}
assets:
  - id: walker
    kind: sprite
    prompt: "a walker, frame {frame}"
    animations: [{name: walk, frames: 3}]
    quality: {min_frame_clip_similarity: 0.999999, max_frame_lpips: 0.5}
"""


def test_frame_similarity_from_a_local_clip_and_its_gate(project, tmp_path, monkeypatch):
    from clip_helpers import write_tiny_clip

    (project / "manifests/clipgate.yaml").write_text(CLIP_GATE)
    # Without a CLIP model the gate is skipped, and says why.
    monkeypatch.delenv("PIXELGEN_CLIP_MODEL", raising=False)
    result = run_cli(project, "build", "manifests/clipgate.yaml", "--json")
    assert result.code == 0, result.err
    quality = json.loads((project / "assets_out/clipgate/quality.json").read_text())
    walker = quality["assets"]["walker"]
    assert walker["metrics"]["frame_clip_image_similarity"] is None
    assert "PIXELGEN_CLIP_MODEL" in walker["metrics"]["frame_clip_image_similarity_reason"]
    skipped = {entry["gate"]: entry["reason"] for entry in walker["gates"]["skipped"]}
    assert "PIXELGEN_CLIP_MODEL" in skipped["min_frame_clip_similarity"]
    assert "lpips" in skipped["max_frame_lpips"]

    model_dir = tmp_path / "tiny-clip"
    model_dir.mkdir()
    write_tiny_clip(model_dir)
    monkeypatch.setenv("PIXELGEN_CLIP_MODEL", str(model_dir))
    edit_path = project / "manifests/clipgate.yaml"
    edit_path.write_text(CLIP_GATE.replace("a walker,", "a slow walker,"))  # a change, so the records are rewritten
    result = run_cli(project, "build", "manifests/clipgate.yaml", "--json")
    quality = json.loads((project / "assets_out/clipgate/quality.json").read_text())
    walk = quality["assets"]["walker"]["animations"]["walk"]
    similarities = walk["frames_clip_image_similarity"]
    assert len(similarities) == 2 and all(-1.0 <= value <= 1.0 for value in similarities)
    assert walk["clip_image_similarity"] == min(similarities)
    assert quality["assets"]["walker"]["metrics"]["frame_clip_image_similarity"] == min(similarities)
    # Two different noise frames are not the same picture to CLIP: the near-1 gate fails the build.
    assert min(similarities) < 0.999999
    assert result.code == 1
    violations = json.loads(result.out)["gate_violations"]
    assert [v["gate"] for v in violations] == ["min_frame_clip_similarity"], violations
