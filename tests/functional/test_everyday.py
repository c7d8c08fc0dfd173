"""Everyday use without surprises: each case a new user hit, driven through the CLI.

Every failure a user can cause ends as one message (``error: …``) with the
exit code of its kind — 2 bad input, 1 build or environment — and no
traceback; the records beside the outputs are one consistent set, so
``build --check`` and ``verify`` agree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import build_json, hub_cache_repo, run_cli, run_subprocess

from pixelgen.files.hashing import sha256_file
from pixelgen.formats.png import decode_png, encode_png

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def _edit(project: Path, old: str, new: str) -> None:
    path = project / MANIFEST
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _one_error(result, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    # One message (progress lines may come before it, nothing after but its own indented lines).
    lines = result.err.splitlines()
    errors = [index for index, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1, result.err
    assert all(line.startswith("    ") for line in lines[errors[0] + 1:] if not line.startswith(("0", "1", "2", "3", "manifests"))), result.err
    for needle in needles:
        assert needle in result.err, result.err


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and ".pixelgen" not in p.parts}


# 1 ----------------------------------------------------------------------------------------------


def test_bad_sbom_timestamp_is_refused_before_anything_is_written(project):
    before = _tree(project)
    _one_error(run_cli(project, "build", MANIFEST, "--sbom-timestamp", "yesterday"), 2, "--sbom-timestamp", "RFC 3339")
    assert _tree(project) == before
    build_json(project)
    built = _tree(project)
    _one_error(run_cli(project, "build", MANIFEST, "--force", "--sbom-timestamp", "yesterday"), 2, "RFC 3339")
    assert _tree(project) == built
    _one_error(run_cli(project, "sbom", MANIFEST, "--timestamp", "yesterday"), 2, "--timestamp", "RFC 3339")
    assert run_cli(project, "build", MANIFEST, "--check").code == 0
    assert run_cli(project, "verify", MANIFEST).code == 0


def test_check_and_verify_agree_when_the_records_are_not_one_set(project):
    build_json(project)
    out = project / "assets_out" / "small"
    # What a build that died between the lock and its records leaves: records of another build.
    quality = json.loads((out / "quality.json").read_text())
    quality["assets"].pop("hud")
    (out / "quality.json").write_text(json.dumps(quality))
    check = run_cli(project, "build", MANIFEST, "--check")
    verify = run_cli(project, "verify", MANIFEST)
    assert check.code == 1 and "(build records)" in check.out and "quality.json" in check.out
    assert verify.code == 1 and "quality.json" in verify.out
    repaired = build_json(project)
    assert repaired["built"] == 0 and repaired["provenance_written"]
    assert run_cli(project, "build", MANIFEST, "--check").code == 0
    assert run_cli(project, "verify", MANIFEST).code == 0
    provenance = json.loads((out / "provenance.intoto.json").read_text())
    byproducts = {b["name"]: b["digest"]["sha256"] for b in provenance["predicate"]["runDetails"]["byproducts"]}
    assert byproducts == {name: sha256_file(out / name) for name in ("quality.json", "report.html", "sbom.cdx.json")}


def test_output_folder_that_cannot_be_written_is_refused_before_rendering(project):
    (project / "not-a-folder").write_text("a file where the output folder should be")
    before = _tree(project)
    result = run_cli(project, "build", MANIFEST, "--out", "not-a-folder/inside")
    # A folder that cannot be written is a file-system problem (exit 1, like every OS error), found before any work.
    _one_error(result, 1, "--out", "is a file")
    assert "progress" not in result.err and _tree(project) == before
    _one_error(run_cli(project, "build", MANIFEST, "--deploy", "not-a-folder/game"), 1, "--deploy")
    _one_error(run_cli(project, "build", MANIFEST, "--cache-dir", "not-a-folder/cache"), 1, "--cache-dir")


# 3 ----------------------------------------------------------------------------------------------


def test_animation_whose_frames_would_be_identical_is_refused(project):
    _edit(project, "assets:\n", "assets:\n  - {id: walker, kind: sprite, prompt: a walker, animations: [{name: idle, frames: 3}]}\n")
    result = run_cli(project, "validate", MANIFEST)
    _one_error(result, 2, "/assets/0/animations/0", "identical", "fix:", "{frame}")
    _edit(project, "[{name: idle, frames: 3}]", "[{name: idle, frames: 3, poses: [up, mid, down]}]")
    assert run_cli(project, "validate", MANIFEST).code == 0


# 4, 5 -------------------------------------------------------------------------------------------


def _resolve_godot_path(project_root: Path, tres: Path, path: str) -> Path:
    """Where Godot 4 loads an ext_resource path from: res:// is the project root; a relative path is relative to the .tres."""
    if path.startswith("res://"):
        return project_root / path.removeprefix("res://")
    assert "://" not in path and not path.startswith("/"), path
    return tres.parent / path


def test_deploy_into_a_godot_project_resolves_every_resource_path(project):
    godot = project / "godot-game"
    godot.mkdir()
    (godot / "project.godot").write_text('config_version=5\n[application]\nconfig/name="game"\n')
    deploy = godot / "art"
    build_json(project, "--deploy", str(deploy))
    resources = sorted(deploy.rglob("*.tres"))
    assert {p.name for p in resources} >= {"button.tres", "ground.tileset.tres"}
    for tres in resources:
        paths = re.findall(r'\[ext_resource [^\]]*path="([^"]+)"', tres.read_text())
        assert paths, tres
        for path in paths:
            target = _resolve_godot_path(godot, tres, path)
            assert target.is_file(), f"{tres.relative_to(godot)}: {path} → {target} is missing"
    # Tiled's references are relative too.
    for tiled in [*deploy.rglob("*.tsx"), *deploy.rglob("*.tmx")]:
        for path in re.findall(r'(?:source)="([^"]+)"', tiled.read_text()):
            assert (tiled.parent / path).is_file(), f"{tiled.name}: {path}"


def test_deploy_removes_what_the_build_removed_and_keeps_edited_files(project):
    game = project / "game"
    build_json(project, "--deploy", str(game))
    blue = sorted(p.relative_to(game).as_posix() for p in (game / "slime-blue").rglob("*") if p.is_file())
    assert blue
    edited = game / "hud" / "hud.json"
    edited.write_text('{"edited in the game": true}')
    mine = game / "slime-blue" / "notes.txt"
    mine.write_text("the game's own file")
    _edit(project, "matrix: {color: [green, blue]}", "matrix: {color: [green]}")
    text = (project / MANIFEST).read_text()
    (project / MANIFEST).write_text(text[: text.index("  - id: hud")])
    summary = build_json(project, "--deploy", str(game))
    assert set(blue) <= set(summary["undeployed"]) and "hud/button.tres" in summary["undeployed"]
    assert "hud/hud.json" not in summary["undeployed"]
    assert not any(p.is_file() and p.name != "notes.txt" for p in (game / "slime-blue").rglob("*"))
    assert mine.read_text() == "the game's own file"  # never pixelgen's: kept
    assert edited.read_text() == '{"edited in the game": true}'  # edited after deploy: kept
    assert not (game / "hud" / "button.tres").exists()


# 6, 7 -------------------------------------------------------------------------------------------


def test_only_build_keeps_every_asset_in_quality_and_report(project):
    build_json(project)
    _edit(project, "vars: {class: knight}", "vars: {class: wizard}")
    summary = build_json(project, "--only", "hero")
    assert summary["built"] == 2
    out = project / "assets_out" / "small"
    document = json.loads((out / "quality.json").read_text())
    assert set(document["assets"]) == {"hero", "slime-green", "slime-blue", "ground", "hud"}
    report = (out / "report.html").read_text()
    for asset in ("hero", "slime-green", "ground", "hud"):
        assert f'data-asset="{asset}"' in report


def test_a_new_quality_gate_shows_in_quality_json_and_the_report(project):
    build_json(project)
    _edit(project, "  seed: 3\n", "  seed: 3\n  quality: {max_colors: 2}\n")
    status = run_cli(project, "build", MANIFEST, "--check")
    assert status.code == 1 and "quality gates changed" in status.out
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 1 and "max_colors" in result.err
    out = project / "assets_out" / "small"
    document = json.loads((out / "quality.json").read_text())
    assert document["assets"]["hero"]["gates"]["thresholds"] == {"max_colors": 2}
    assert document["assets"]["hero"]["gates"]["passed"] is False
    assert 'data-gate="max_colors"' in (out / "report.html").read_text()
    assert run_cli(project, "verify", MANIFEST).code == 0


# 8 ----------------------------------------------------------------------------------------------


def test_status_shows_an_edited_asset_once(project):
    build_json(project)
    _edit(project, "variants: [1, 2]", "variants: [1, 5]")
    _edit(project, "  - id: slime\n", "  - id: slime\n    animations: [{name: wobble, frames: 2, poses: [up, down]}]\n")
    result = run_cli(project, "status", MANIFEST)
    assert result.code == 0
    assert "removed from the manifest" not in result.out, result.out
    hero = next(line for line in result.out.splitlines() if " hero " in f" {line} ")
    assert "image added" in hero and "image removed" in hero and "new" not in hero.split()
    plan = json.loads(run_cli(project, "plan", MANIFEST, "--json").out)
    assert plan["removed"] == []
    summary = build_json(project)
    assert summary["removed"] == ["hero/seed2.png"] or "hero/seed2.png" in summary["removed"]
    assert not (project / "assets_out" / "small" / "hero" / "seed2.png").exists()
    assert run_cli(project, "build", MANIFEST, "--check").code == 0


# 9 ----------------------------------------------------------------------------------------------


def test_corrupt_lora_is_caught_by_validate(project, tmp_path):
    from pixelgen.render.tiny import build_tiny_lora

    lora = build_tiny_lora(tmp_path / "style.safetensors")
    (project / "manifests" / "style.safetensors").write_bytes(lora.read_bytes()[: lora.stat().st_size // 2])
    _edit(project, "palettes:", "loras:\n  style: {path: style.safetensors}\npalettes:")
    _edit(project, "  seed: 3\n", "  seed: 3\n  loras: [{name: style}]\n")
    _one_error(run_cli(project, "validate", MANIFEST), 2, "style.safetensors", "not a readable safetensors file", "download it again")
    _one_error(run_cli(project, "build", MANIFEST), 2, "style.safetensors")


def test_foreign_metrics_file_is_refused_before_building(project):
    (project / "node.prom").write_text("# TYPE node_load1 gauge\nnode_load1 0.5\n")
    before = _tree(project)
    _one_error(run_cli(project, "build", MANIFEST, "--metrics-file", "node.prom"), 2, "node.prom", "node_load1")
    assert _tree(project) == before


def test_animation_with_more_colours_than_a_gif_holds(project):
    text = (project / MANIFEST).read_text()
    text = text.replace("  palette: pico\n", "", 1).replace("    palette: warm\n", "")
    text = text.replace("  size: [16, 16]\n", "  size: [32, 32]\n", 1)
    text = text.replace("assets:\n", "assets:\n  - {id: walker, kind: sprite, prompt: 'a walker, frame {frame}', animations: [{name: idle, frames: 3}]}\n")
    (project / MANIFEST).write_text(text)
    result = run_cli(project, "build", MANIFEST, "--only", "walker")
    assert result.code == 0, result.err
    gif = project / "assets_out" / "small" / "walker" / "idle.gif"
    assert gif.read_bytes()[:6] == b"GIF89a"
    frames = [decode_png((project / "assets_out" / "small" / "walker" / f"idle-{i}.png").read_bytes()) for i in range(3)]
    assert len(np.unique(np.concatenate([f[..., :3].reshape(-1, 3) for f in frames]), axis=0)) > 255


# 10 ---------------------------------------------------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_missing_hub_weights_say_how_to_download_them(project, tmp_path):
    _edit(project, "tiny: {builtin: tiny-sdxl}", f"tiny: {{repo: someone/absent-sdxl, revision: {COMMIT}}}")
    result = run_subprocess(project, "build", MANIFEST, env={"HF_HUB_CACHE": str(tmp_path / "empty-hub")}, timeout=240)
    _one_error(result, 1, "someone/absent-sdxl", f"hf download someone/absent-sdxl --revision {COMMIT}", "HF_HUB_OFFLINE")
    assert "local_files_only" not in result.err and "stacktrace" not in result.err


# 13 ---------------------------------------------------------------------------------------------


def test_hub_cache_is_found_where_huggingface_hub_looks(project, tmp_path):
    """XDG_CACHE_HOME moves the hub cache; an unpinned model resolves to the cached commit there."""
    xdg = tmp_path / "xdg"
    (tmp_path / "model_index.json").write_text("{}")
    hub_cache_repo(xdg / "huggingface" / "hub", "someone/cached-sdxl", {"model_index.json": tmp_path / "model_index.json"}, COMMIT)
    _edit(project, "tiny: {builtin: tiny-sdxl}", "tiny: {repo: someone/cached-sdxl}")
    if any(os.environ.get(name) for name in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")):
        pytest.skip("an HF_* cache variable is set here and would take precedence over XDG_CACHE_HOME")
    result = run_subprocess(project, "plan", MANIFEST, "--json", env={"XDG_CACHE_HOME": str(xdg)})
    assert result.code == 0, result.err
    assert f"using the cached commit {COMMIT}" in result.err and "its commit is unknown" not in result.err


def test_report_is_self_contained(project, tmp_path):
    build_json(project)
    report = project / "assets_out" / "small" / "report.html"
    moved = tmp_path / "elsewhere" / "report.html"
    moved.parent.mkdir()
    shutil.copy(report, moved)
    sources = re.findall(r'<img [^>]*src="([^"]*)"', moved.read_text())
    assert sources and all(src.startswith("data:image/") for src in sources)


# 11 ---------------------------------------------------------------------------------------------


def test_diff_ignores_hidden_colour_of_transparent_pixels_and_foreign_locks(project):
    build_json(project)
    lock_path = project / "manifests" / "small.lock.json"
    target = project / "assets_out" / "small" / "hero" / "seed1.png"
    # A touch-up that erases a corner, adopted: the image diffed against has transparent
    # pixels whatever the engine's background decision on the tiny model's noise.
    image = decode_png(target.read_bytes())
    image[:5, :5] = 0
    image[:5, :5, :3] = (10, 200, 30)
    target.write_bytes(encode_png(image))
    assert run_cli(project, "adopt", MANIFEST, "hero/seed1.png").code == 0
    shutil.copy(lock_path, project / "old.lock.json")
    hidden = image[..., 3] == 0
    image[hidden, :3] = 255 - image[hidden, :3]
    target.write_bytes(encode_png(image))
    lock = json.loads(lock_path.read_text())
    lock["outputs"]["hero/seed1.png"]["override"]["sha256"] = sha256_file(target)
    lock_path.write_text(json.dumps(lock))
    result = run_cli(project, "diff", MANIFEST, "--against", "old.lock.json", "--json")
    assert result.code == 0, result.err
    changes = {change["path"]: change for change in json.loads(result.out)}
    assert changes["hero/seed1.png"]["metrics"]["changed_pixels"] == 0
    other = json.loads((project / "old.lock.json").read_text())
    other["manifest"] = "another-game"
    (project / "other.lock.json").write_text(json.dumps(other))
    _one_error(run_cli(project, "diff", MANIFEST, "--against", "other.lock.json"), 2, "another-game", "small")
