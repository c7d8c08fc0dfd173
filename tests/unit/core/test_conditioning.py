"""The job DAG: conditioned renders' keys cover every conditioning input; levels; --only closures. Pure planning."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from pixelgen.core.plan import make_plan
from pixelgen.core.resolve import resolve
from pixelgen.files.hashing import FileDigestCache
from pixelgen.manifest import load_manifest

MANIFEST = """\
version: 1
name: cond
models:
  tiny: {builtin: tiny-sdxl}
controlnets:
  openpose: {builtin: tiny-controlnet}
defaults:
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2, guidance: 3.0}
assets:
  - id: hero
    kind: sprite
    prompt: a hero
  - id: hero-walk
    kind: sprite
    prompt: a hero walking
    control: [{model: openpose, image: "pose:walk/{facing}/{frame}", scale: 0.8}]
    animations:
      - {name: walk, frames: 3, from: first-frame, strength: 0.5}
  - id: shield
    kind: sprite
    prompt: a shield
    init: {image: "asset:hero", strength: 0.5}
  - id: tree
    kind: sprite
    prompt: a tree
    init: {image: init.png, strength: 0.7, mask: mask.png}
"""


def plan_of(tmp_path: Path, text: str = MANIFEST, **options):
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "init.png") if not (tmp_path / "init.png").exists() else None
    Image.new("L", (32, 32), 255).save(tmp_path / "mask.png") if not (tmp_path / "mask.png").exists() else None
    path = tmp_path / "cond.yaml"
    path.write_text(textwrap.dedent(text))
    manifest = load_manifest(path)
    return make_plan(manifest, resolve(manifest, FileDigestCache(None)), **options)


def render_of(plan, output: str):
    post = next(post for post in plan.posts if post.output == output)
    return plan.renders[post.render_key]


def test_a_render_conditioned_on_another_depends_on_its_key(tmp_path):
    plan = plan_of(tmp_path)
    hero, shield = render_of(plan, "hero/default.png"), render_of(plan, "shield/default.png")
    assert hero.depends == () and hero.level == 0 and hero.mode == "text"
    assert shield.depends == (hero.key,) and shield.level == 1 and shield.mode == "img2img"
    assert shield.init == {"image": {"render": hero.key}, "strength": 0.5, "mask": None}
    shield_plan = next(a for a in plan.assets if a.asset.id == "shield")
    assert shield_plan.depends_on == ("hero",)


def test_editing_the_upstream_prompt_changes_it_and_its_dependants_only(tmp_path):
    before = plan_of(tmp_path)
    after = plan_of(tmp_path, MANIFEST.replace("prompt: a hero\n", "prompt: a brave hero\n"))
    changed = {post.output for post in after.posts if post.key not in {p.key for p in before.posts}}
    assert changed == {"hero/default.png", "shield/default.png"}


def test_first_frame_animation_levels_and_keys(tmp_path):
    plan = plan_of(tmp_path)
    frames = [render_of(plan, f"hero-walk/walk-{i}.png") for i in range(3)]
    assert [f.level for f in frames] == [0, 1, 1]
    assert frames[0].init is None and all(f.depends == (frames[0].key,) for f in frames[1:])
    assert [f.control[0]["image"] for f in frames] == [{"pose": f"walk/e/{i}"} for i in range(3)]
    assert frames[1].group == frames[2].group  # one level, one pipeline configuration: one batch
    edited = plan_of(tmp_path, MANIFEST.replace("prompt: a hero walking", "prompt: a hero strolling"))
    assert all(render_of(edited, f"hero-walk/walk-{i}.png").key != frames[i].key for i in range(3))
    # The control scale and the ControlNet's identity are part of the key.
    rescaled = plan_of(tmp_path, MANIFEST.replace("scale: 0.8", "scale: 0.7"))
    assert render_of(rescaled, "hero-walk/walk-0.png").key != frames[0].key


def test_render_levels_order_the_jobs(tmp_path):
    plan = plan_of(tmp_path)
    levels = plan.render_levels()
    seen: set[str] = set()
    for level in levels:
        assert all(set(job.depends) <= seen for job in level)
        seen |= {job.key for job in level}
    assert len(levels) == 2 and seen == set(plan.renders)


def test_conditioning_files_are_keyed_by_their_bytes(tmp_path):
    before = render_of(plan_of(tmp_path), "tree/default.png")
    assert before.mode == "inpaint" and before.init["image"]["sha256"] and before.init["mask"]["sha256"]
    Image.new("L", (32, 32), 0).save(tmp_path / "mask.png")
    after = render_of(plan_of(tmp_path), "tree/default.png")
    assert after.key != before.key


def test_text_only_keys_do_not_change_when_conditioning_exists_elsewhere(tmp_path):
    alone = plan_of(tmp_path, MANIFEST[: MANIFEST.index("  - id: hero-walk")])
    together = plan_of(tmp_path)
    assert render_of(alone, "hero/default.png").key == render_of(together, "hero/default.png").key


def test_only_includes_what_the_selection_needs(tmp_path):
    plan = plan_of(tmp_path, only=frozenset({"shield"}))
    assert [a.asset.id for a in plan.assets] == ["hero", "shield"]
    assert [a.asset.id for a in plan_of(tmp_path, only=frozenset({"tree"})).assets] == ["tree"]


def test_directions_derived_from_the_first_facing(tmp_path):
    text = MANIFEST.replace("    animations:\n      - {name: walk", "    directions: {count: 4, from: first-facing}\n    animations:\n      - {name: walk")
    plan = plan_of(tmp_path, text)
    root = render_of(plan, "hero-walk/walk-s-0.png")
    assert root.level == 0 and root.init is None
    east0, east1 = render_of(plan, "hero-walk/walk-e-0.png"), render_of(plan, "hero-walk/walk-e-1.png")
    assert east0.depends == (root.key,) and east0.level == 1
    assert east1.depends == (east0.key,) and east1.level == 2
    assert east0.control[0]["image"] == {"pose": "walk/e/0"}


def test_condition_images_are_drawn_and_resized(tmp_path):
    from pixelgen.core.conditioning import condition_images

    plan = plan_of(tmp_path)
    tree = render_of(plan, "tree/default.png")
    images = condition_images(tree, {})
    assert images["init"].shape == (64, 64, 3) and images["init"][0, 0].tolist() == [200, 30, 30]
    assert images["mask"].min() == 255
    frame = render_of(plan, "hero-walk/walk-1.png")
    upstream = np.full((64, 64, 3), 7, np.uint8)
    drawn = condition_images(frame, {frame.depends[0]: upstream})
    assert np.array_equal(drawn["init"], upstream)
    from pixelgen.core.poses import draw_library_pose

    assert np.array_equal(drawn["control"][0], draw_library_pose("walk/e/1", (64, 64)))


def test_style_images_are_keyed_by_adapter_reference_and_scale(tmp_path):
    text = MANIFEST.replace("controlnets:", "adapters:\n  ip: {builtin: tiny-ip-adapter}\ncontrolnets:").replace(
        "    prompt: a tree\n", "    prompt: a tree\n    style_images: [\"asset:hero\"]\n    style_scale: 0.5\n")
    plan = plan_of(tmp_path, text)
    tree, hero = render_of(plan, "tree/default.png"), render_of(plan, "hero/default.png")
    assert tree.style == {"adapter": "ip", "images": [{"render": hero.key}], "scale": 0.5}
    assert hero.key in tree.depends and tree.level == 1
    rescaled = render_of(plan_of(tmp_path, text.replace("style_scale: 0.5", "style_scale: 0.6")), "tree/default.png")
    assert rescaled.key != tree.key and rescaled.group != tree.group
