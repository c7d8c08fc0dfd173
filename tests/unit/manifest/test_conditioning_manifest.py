"""init, mask, control, controlnets, from: first-frame and derived facings in the manifest; every mistake named with its place and fix."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from pixelgen.errors import ManifestError
from pixelgen.manifest import load_manifest

HEAD = """\
version: 1
name: game
models:
  tiny: {builtin: tiny-sdxl}
controlnets:
  openpose: {builtin: tiny-controlnet}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2}
assets:
  - id: hero
    kind: sprite
    prompt: a hero
    variants: [1, 2]
"""


def load(tmp_path: Path, assets: str):
    Image.new("RGB", (8, 8)).save(tmp_path / "init.png")
    path = tmp_path / "game.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(assets), "  "))
    return load_manifest(path)


def problems(tmp_path: Path, assets: str) -> str:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, assets)
    return str(caught.value)


def test_asset_references_are_completed(tmp_path):
    manifest = load(tmp_path, """\
      - id: shield
        kind: sprite
        prompt: a shield
        init: {image: "asset:hero", strength: 0.4, mask: init.png}
        control: [{model: openpose, image: "asset:hero/seed2", scale: 0.5, start: 0.1, end: 0.9}]
    """)
    (image,) = manifest.asset("shield").images
    assert image.init.image.source == "hero/seed1" and image.init.strength == 0.4  # asset:ID is its first image
    assert image.init.mask.kind == "file" and image.init.mask.source == str(tmp_path / "init.png")
    (use,) = image.control
    assert (use.model, use.image.source, use.scale, use.start, use.end) == ("openpose", "hero/seed2", 0.5, 0.1, 0.9)
    assert image.upstream == ("hero/seed1", "hero/seed2")
    assert manifest.controlnets["openpose"].kind == "builtin"


def test_openpose_json_files_are_poses(tmp_path):
    (tmp_path / "pose.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [0.5, 0.5, 1.0] * 18}]}))
    manifest = load(tmp_path, """\
      - id: statue
        kind: sprite
        prompt: a statue
        control: [{model: openpose, image: pose.json}]
    """)
    (image,) = manifest.asset("statue").images
    assert image.control[0].image.kind == "pose_file" and image.pose == image.control[0].image


def test_from_first_frame_and_from_an_earlier_clip(tmp_path):
    manifest = load(tmp_path, """\
      - id: knight
        kind: sprite
        prompt: a knight
        control: [{model: openpose, image: "pose:{cycle}/{facing}/{frame}"}]
        animations:
          - {name: walk, frames: 3, from: first-frame}
          - {name: idle, frames: 2, from: walk, cycle: idle}
    """)
    images = {image.name: image for image in manifest.asset("knight").images}
    assert images["walk-0"].init is None
    assert images["walk-2"].init.image.source == "knight/walk-0" and images["walk-2"].init.strength == 0.6
    assert images["idle-0"].init.image.source == "knight/walk-0"
    assert images["idle-1"].init.image.source == "knight/idle-0"
    assert images["idle-1"].control[0].image.source == "idle/e/1"


@pytest.mark.parametrize("assets, expected", [
    ("""\
      - id: a
        kind: sprite
        prompt: a
        init: {image: "asset:b"}
      - id: b
        kind: sprite
        prompt: b
        init: {image: "asset:a"}
    """, ["game.yaml:18: at /assets/1/init/image: dependency cycle: a/default → b/default → a/default", "fix: break the cycle"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        init: {image: "asset:nobody"}
    """, ["game.yaml:18: at /assets/1/init/image: 'asset:nobody' names no asset 'nobody'"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        init: {image: "asset:hero/seed9"}
    """, ["asset 'hero' has no image 'seed9'", "fix: use one of: seed1, seed2"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        control: [{model: depth, image: "pose:fly/e/0", start: 0.6, end: 0.5}]
    """, ["undefined ControlNet 'depth'", "fix: define it under `controlnets:` or use one of: openpose",
          "no pose cycle 'fly'", "control starts at 0.6 and ends at 0.5"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        init: {image: missing.png, strength: 1.5}
    """, ["at /assets/1/init/strength: 1.5 is too large (maximum 1)"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        init: {image: missing.png}
    """, ["init image 'missing.png' does not exist"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a {frame}
        animations:
          - {name: walk, frames: 2, from: run}
    """, ["`from: run` names no earlier animation of this sprite"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a {frame}
        directions: {count: 4, from: first-facing, first: se}
        animations:
          - {name: walk, frames: 2}
    """, ["facing 'se' is not one of the 4 directions"]),
    ("""\
      - id: a
        kind: sprite
        prompt: a
        style_images: ["pose:idle/s/0"]
    """, ["style_images need an IP-Adapter and none is chosen", "a style image cannot be a pose"]),
])
def test_conditioning_mistakes_are_named(tmp_path, assets, expected):
    text = problems(tmp_path, assets)
    for part in expected:
        assert part in text, text


def test_watch_follows_conditioning_files(tmp_path):
    from pixelgen.commands.watch import files_named_by

    (tmp_path / "pose.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [0.5, 0.5, 1.0] * 18}]}))
    manifest = load(tmp_path, """\
      - id: statue
        kind: sprite
        prompt: a statue
        init: {image: init.png, mask: init.png}
        control: [{model: openpose, image: pose.json}, {model: openpose, image: "pose:idle/s/0"}]
    """)
    assert {tmp_path / "init.png", tmp_path / "pose.json"} <= set(files_named_by(manifest))


def test_the_worked_characters_manifest_plans_a_three_level_dag():
    from pixelgen.core.plan import make_plan
    from pixelgen.core.resolve import resolve
    from pixelgen.files.hashing import FileDigestCache

    manifest = load_manifest(Path(__file__).resolve().parents[3] / "manifests" / "characters.yaml")
    plan = make_plan(manifest, resolve(manifest, FileDigestCache(None)))
    assert len(plan.renders) == 49  # the sheet, and 8 facings × (4 walk + 2 idle frames)
    levels = plan.render_levels()
    assert [len(level) for level in levels] == [1, 2, 18, 28]
    sheet = next(plan.renders[post.render_key] for post in plan.posts if post.output == "hero-sheet/default.png")
    assert levels[0] == [sheet] and all(sheet.key in render.depends for level in levels[1:] for render in level)
    roots = {render.key for render in levels[1]}
    by_output = {post.output: plan.renders[post.render_key] for post in plan.posts}
    assert {by_output["hero/walk-s-0.png"].key, by_output["hero/idle-s-0.png"].key} == roots
    assert by_output["hero/walk-ne-0.png"].depends == (by_output["hero/walk-s-0.png"].key, sheet.key)
    assert by_output["hero/walk-ne-3.png"].depends == (by_output["hero/walk-ne-0.png"].key, sheet.key)
    assert all(render.control[0]["image"]["pose"].split("/")[0] in ("walk", "idle") for render in plan.renders.values() if render is not sheet)


def test_style_images_use_the_only_adapter(tmp_path):
    path = tmp_path / "game.yaml"
    Image.new("RGB", (8, 8)).save(tmp_path / "init.png")
    path.write_text(HEAD.replace("defaults:", "adapters:\n  ip: {builtin: tiny-ip-adapter}\ndefaults:") + textwrap.indent(textwrap.dedent("""\
      - id: knight
        kind: sprite
        prompt: a knight
        style_images: ["asset:hero", init.png]
        style_scale: 0.7
    """), "  "))
    (image,) = load_manifest(path).asset("knight").images
    assert image.style.adapter == "ip" and image.style.scale == 0.7
    assert [i.source for i in image.style.images] == ["hero/seed1", str(tmp_path / "init.png")]
    assert image.upstream == ("hero/seed1",)
