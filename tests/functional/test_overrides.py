"""Hand touch-ups that survive regeneration: adopt, stale overrides, rebase, packs and records, through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import build_json, run_cli

from pixelgen.files.hashing import sha256_bytes
from pixelgen.formats.png import decode_png, encode_png, read_png_text
from pixelgen.quality.changes import visible_changes

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"
OUT = Path("assets_out/small")
# Two sprites and a UI kit: enough for overrides of plain images and of packed frames, and quick to render.
TOUCHUP_MANIFEST = """\
version: 1
name: small
models:
  tiny: {builtin: tiny-sdxl}
palettes:
  pico: {builtin: pico-8}
defaults:
  model: tiny
  size: [16, 16]
  render: {width: 64, height: 64, steps: 2, guidance: 3.0}
  palette: pico
  seed: 3
assets:
  - id: hero
    kind: sprite
    prompt: "a {class} hero"
    vars: {class: knight}
    background: transparent
    variants: [1, 2]
  - id: hud
    kind: ui
    prompt: "a wooden {name}"
    elements:
      - {name: button, size: [16, 8], border: [2, 2, 2, 2]}
"""
OFF_PALETTE = (1, 2, 3, 255)  # in no palette: easy to find in sheets, and it lowers palette compliance


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("touchups")
    (root / "manifests").mkdir()
    (root / MANIFEST).write_text(TOUCHUP_MANIFEST)
    models = root / "manifests" / ".pixelgen" / "cache" / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    build_json(root)
    return root


@pytest.fixture
def touchup(built_once: Path, tmp_path: Path) -> Path:
    """A built project of its own (renders cached), with a git identity for authorship."""
    project = tmp_path / "game"
    shutil.copytree(built_once, project)
    return project


def out(project: Path, path: str) -> Path:
    return project / OUT / path


def read_image(project: Path, path: str) -> np.ndarray:
    return decode_png(out(project, path).read_bytes())


def write_image(project: Path, path: str, image: np.ndarray) -> None:
    out(project, path).write_bytes(encode_png(image))


def edit_pixel(project: Path, path: str, yx: tuple[int, int], rgba: tuple[int, ...] = OFF_PALETTE) -> np.ndarray:
    image = read_image(project, path)
    image[yx] = rgba
    write_image(project, path, image)
    return image


def lock(project: Path) -> dict:
    return json.loads((project / "manifests" / "small.lock.json").read_text())


def set_prompt(project: Path, prompt: str) -> None:
    path = project / MANIFEST
    text = path.read_text()
    path.write_text(text.replace(text.split('prompt: "', 1)[1].split('"', 1)[0], prompt, 1))


def check_code(project: Path, mode: str) -> int:
    return run_cli(project, "build", MANIFEST, "--check", "--overrides", mode).code


def test_adopted_edit_survives_rebuilds_byte_for_byte_without_torch(touchup):
    edited = edit_pixel(touchup, "hero/seed1.png", (8, 8))
    status = run_cli(touchup, "status", MANIFEST)
    assert "output modified" in status.out
    # adopt, rebuild, restore after deletion, gc, status and verify: nothing renders, so torch is never imported.
    probe = (
        "import os, sys\n"
        "from pixelgen.cli import cli\n"
        "def run(*args):\n"
        "    try:\n"
        "        cli(list(args))\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, (args, exit.code)\n"
        "run('adopt', 'manifests/small.yaml', 'assets_out/small/hero/seed1.png')\n"
        "adopted = open('assets_out/small/hero/seed1.png', 'rb').read()\n"
        "run('build', 'manifests/small.yaml', '-q')\n"
        "assert open('assets_out/small/hero/seed1.png', 'rb').read() == adopted\n"
        "run('gc', 'manifests/small.yaml')\n"
        "os.remove('assets_out/small/hero/seed1.png')\n"
        "run('build', 'manifests/small.yaml', '-q')\n"
        "assert open('assets_out/small/hero/seed1.png', 'rb').read() == adopted\n"
        "run('status', 'manifests/small.yaml')\n"
        "run('verify', 'manifests/small.yaml')\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=touchup, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "HEAVY=\n" in completed.stdout and "adopted hero/seed1.png" in completed.stdout
    final = out(touchup, "hero/seed1.png").read_bytes()
    assert np.array_equal(decode_png(final), edited)  # the artist's pixels, exactly
    entry = lock(touchup)["outputs"]["hero/seed1.png"]
    assert lock(touchup)["schema"] == 2
    override = entry["override"]
    assert override["sha256"] == sha256_bytes(final) != entry["sha256"]
    assert override["base_sha256"] == entry["sha256"] and override["base_post_key"] == entry["post_key"]
    text = read_png_text(final)
    assert json.loads(text["pixelgen-override"])["generated_sha256"] == entry["sha256"]
    assert json.loads(text["pixelgen"])["asset"] == "hero"  # the generated image's metadata is kept
    assert "up to date" in run_cli(touchup, "status", MANIFEST).out and check_code(touchup, "fail") == 0


def test_prompt_change_rerenders_and_marks_the_override_stale(touchup):
    edit_pixel(touchup, "hero/seed1.png", (8, 8))
    assert run_cli(touchup, "adopt", MANIFEST, "--all-modified").code == 0
    adopted = out(touchup, "hero/seed1.png").read_bytes()
    set_prompt(touchup, "a {class} hero with a hat")
    assert [check_code(touchup, mode) for mode in ("keep", "drop", "fail")] == [1, 1, 1]  # the hero must be re-rendered
    failed = run_cli(touchup, "build", MANIFEST, "--overrides", "fail")
    assert failed.code == 1 and "override of hero/seed1 is based on an old render: prompt changed" in failed.err
    assert "Traceback" not in failed.err and out(touchup, "hero/seed1.png").read_bytes() == adopted

    summary = build_json(touchup)  # --overrides keep (the default)
    assert summary["rendered"] == 2
    assert out(touchup, "hero/seed1.png").read_bytes() == adopted  # kept in place
    assert any("override of hero/seed1 is based on an old render: prompt changed" in w for w in summary["warnings"])
    entry = lock(touchup)["outputs"]["hero/seed1.png"]
    assert entry["override"]["base_post_key"] != entry["post_key"]
    # CI: keep accepts a kept stale override, drop and fail do not.
    assert [check_code(touchup, mode) for mode in ("keep", "drop", "fail")] == [0, 1, 1]
    status = run_cli(touchup, "status", MANIFEST, "--json")
    assert "prompt changed" in json.loads(status.out)["stale_overrides"]["hero/seed1.png"]
    assert run_cli(touchup, "verify", MANIFEST).code == 0
    sbom = json.loads(out(touchup, "sbom.cdx.json").read_text())
    assert '"pixelgen:override-stale"' in json.dumps(sbom)

    dropped = build_json(touchup, "--overrides", "drop")
    assert dropped["rendered"] == 0
    entry = lock(touchup)["outputs"]["hero/seed1.png"]
    assert "override" not in entry and lock(touchup)["schema"] == 1
    assert sha256_bytes(out(touchup, "hero/seed1.png").read_bytes()) == entry["sha256"]
    assert [check_code(touchup, mode) for mode in ("keep", "drop", "fail")] == [0, 0, 0]


def test_rebase_applies_a_clean_edit_exactly_and_reports_a_conflicting_one(touchup):
    # Learn the new renders first (then go back), so the edits can be placed where upstream did or did not change.
    old = {name: read_image(touchup, f"hero/{name}.png") for name in ("seed1", "seed2")}
    set_prompt(touchup, "a {class} hero with a hat")
    build_json(touchup)
    new = {name: read_image(touchup, f"hero/{name}.png") for name in ("seed1", "seed2")}
    set_prompt(touchup, "a {class} hero")
    assert build_json(touchup)["rendered"] == 0
    unchanged = np.argwhere(~visible_changes(old["seed1"], new["seed1"]))
    changed = np.argwhere(visible_changes(old["seed2"], new["seed2"]))
    assert len(unchanged) and len(changed)
    clean_at, conflict_at = tuple(unchanged[0]), tuple(changed[0])
    clean = edit_pixel(touchup, "hero/seed1.png", clean_at)
    edit_pixel(touchup, "hero/seed2.png", conflict_at)
    assert run_cli(touchup, "adopt", MANIFEST, "--all-modified").code == 0
    kept_conflicting = out(touchup, "hero/seed2.png").read_bytes()
    set_prompt(touchup, "a {class} hero with a hat")
    assert build_json(touchup)["rendered"] == 0  # both prompts' renders are cached

    result = run_cli(touchup, "rebase-override", MANIFEST, "hero/seed1.png")
    assert result.code == 0 and "1 edited pixel(s) applied" in result.out
    expected = new["seed1"].copy()
    expected[clean_at] = clean[clean_at]
    assert np.array_equal(read_image(touchup, "hero/seed1.png"), expected)
    entry = lock(touchup)["outputs"]["hero/seed1.png"]
    assert entry["override"]["base_post_key"] == entry["post_key"]

    conflict = run_cli(touchup, "rebase-override", MANIFEST, "hero/seed2.png")
    assert conflict.code == 1 and "conflicts in hero/seed2.png: 1 pixel(s)" in conflict.err and "Traceback" not in conflict.err
    report = read_image(touchup, "rebase/hero/seed2.png")
    assert report.shape == (16 * 4, (16 * 4 + 3) * 4, 4)  # old render | override | new render | conflicts, 4x
    assert out(touchup, "hero/seed2.png").read_bytes() == kept_conflicting  # the old override stays
    resolved = run_cli(touchup, "rebase-override", MANIFEST, "hero/seed2.png", "--prefer", "render")
    assert resolved.code == 0
    assert np.array_equal(read_image(touchup, "hero/seed2.png"), new["seed2"])
    build_json(touchup)
    assert [check_code(touchup, mode) for mode in ("keep", "drop", "fail")] == [0, 0, 0]
    assert run_cli(touchup, "verify", MANIFEST).code == 0


def test_packs_scores_and_records_use_the_override(touchup):
    edit_pixel(touchup, "hud/button.png", (4, 8))
    assert run_cli(touchup, "adopt", MANIFEST, "hud/button.png").code == 0
    summary = build_json(touchup)
    assert summary["rendered"] == 0 and summary["packed"] > 0
    sheet = read_image(touchup, "hud/hud.sheet.png")
    assert (sheet.reshape(-1, 4) == OFF_PALETTE).all(axis=1).sum() == 1  # the engine sees the touched-up frame
    quality = json.loads(out(touchup, "quality.json").read_text())
    assert quality["assets"]["hud"]["metrics"]["palette_compliance"] < 1.0  # scored like a render

    final = out(touchup, "hud/button.png").read_bytes()
    entry = lock(touchup)["outputs"]["hud/button.png"]
    statement = json.loads(out(touchup, "provenance.intoto.json").read_text())
    assert {"name": "hud/button.png", "digest": {"sha256": sha256_bytes(final)}} in statement["subject"]
    generated = [d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"] if d.get("name") == "generated/hud/button.png"]
    assert generated[0]["digest"]["sha256"] == entry["sha256"]
    assert generated[0]["annotations"]["overrideSha256"] == sha256_bytes(final)
    sbom = json.loads(out(touchup, "sbom.cdx.json").read_text())
    hud = next(c for c in sbom["components"] if c["name"] == "hud/")
    button = next(c for c in hud["components"] if c["name"] == "hud/button.png")
    assert button["hashes"][0]["content"] == sha256_bytes(final)
    assert button["pedigree"]["ancestors"][0]["hashes"][0]["content"] == entry["sha256"]
    assert {"name": "pixelgen:modified-by-hand", "value": "true"} in button["properties"]

    assert run_cli(touchup, "verify", MANIFEST).code == 0  # re-packs from the override too
    edit_pixel(touchup, "hero/seed2.png", (3, 3))  # a new edit nobody adopted
    result = run_cli(touchup, "verify", MANIFEST)
    assert result.code == 1 and "hero/seed2.png" in result.out and "pixelgen adopt" in result.out


def test_overrides_kept_as_repo_files(touchup):
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=touchup, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    git("config", "user.name", "Ada Artist")
    git("config", "user.email", "ada@example.com")
    (touchup / MANIFEST).write_text((touchup / MANIFEST).read_text().replace("palettes:", "overrides: {dir: art-overrides}\npalettes:"))
    edit_pixel(touchup, "hero/seed1.png", (8, 8))
    result = run_cli(touchup, "adopt", MANIFEST, "hero/seed1.png")
    assert result.code == 0 and "art-overrides/small/hero/seed1.png" in result.out
    repo_file = touchup / "manifests" / "art-overrides" / "small" / "hero" / "seed1.png"
    assert repo_file.read_bytes() == out(touchup, "hero/seed1.png").read_bytes()
    assert lock(touchup)["outputs"]["hero/seed1.png"]["override"]["author"] == "Ada Artist <ada@example.com>"

    # A reviewed change to the repo file is the new override, attributed to its commit.
    image = decode_png(repo_file.read_bytes())
    image[2, 2] = (255, 0, 77, 255)
    repo_file.write_bytes(encode_png(image))
    git("add", "manifests/art-overrides")
    git("commit", "-q", "-m", "touch up the hero")
    build_json(touchup)
    assert out(touchup, "hero/seed1.png").read_bytes() == repo_file.read_bytes()
    override = lock(touchup)["outputs"]["hero/seed1.png"]["override"]
    assert override["sha256"] == sha256_bytes(repo_file.read_bytes()) and override["commit"] == git("rev-parse", "HEAD")
    assert override["file"] == "art-overrides/small/hero/seed1.png"
    assert run_cli(touchup, "verify", MANIFEST).code == 0

    repo_file.unlink()
    build_json(touchup)
    entry = lock(touchup)["outputs"]["hero/seed1.png"]
    assert "override" not in entry and sha256_bytes(out(touchup, "hero/seed1.png").read_bytes()) == entry["sha256"]


def test_diff_shows_old_render_override_and_new_render(touchup):
    edit_pixel(touchup, "hero/seed1.png", (8, 8))
    run_cli(touchup, "adopt", MANIFEST, "hero/seed1.png")
    set_prompt(touchup, "a {class} hero with a hat")
    build_json(touchup)
    # gc keeps what overrides need (their bytes, the renders they were made from); diff and rebase never import torch.
    probe = (
        "import sys\n"
        "from pixelgen.cli import cli\n"
        "for args in (['gc', 'manifests/small.yaml'], ['diff', 'manifests/small.yaml', '--overrides', '--json'],\n"
        "             ['rebase-override', 'manifests/small.yaml', '--all', '--prefer', 'override']):\n"
        "    print('@@' + args[0], flush=True)\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, (args, exit.code)\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=touchup, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "HEAVY=\n" in completed.stdout and "rebased hero/seed1.png" in completed.stdout
    [item] = json.loads(completed.stdout.split("@@diff\n")[1].split("@@rebase-override\n")[0])
    assert item["path"] == "hero/seed1.png" and item["stale"] and item["edited_pixels"] == 1
    panels = read_image(touchup, item["image"])
    assert panels.shape == (16 * 4, (16 * 4 + 3) * 4, 4)


def test_adopt_refuses_what_it_cannot_record(touchup):
    assert run_cli(touchup, "adopt", MANIFEST, "--all-modified").code == 2  # nothing edited
    unknown = run_cli(touchup, "adopt", MANIFEST, "hero/nope.png")
    assert unknown.code == 2 and "not an output" in unknown.err
    out(touchup, "hero/seed1.png").write_bytes(encode_png(np.zeros((8, 8, 4), np.uint8)))
    resized = run_cli(touchup, "adopt", MANIFEST, "hero/seed1.png")
    assert resized.code == 2 and "must keep the size" in resized.err and "Traceback" not in resized.err
    out(touchup, "hero/seed1.png").write_bytes(b"not a png")
    broken = run_cli(touchup, "adopt", MANIFEST, "hero/seed1.png")
    assert broken.code == 2 and "not an image" in broken.err
    assert "override" not in json.dumps(lock(touchup))  # nothing half-adopted


def test_an_override_is_gated_like_a_render(touchup):
    manifest = touchup / MANIFEST
    manifest.write_text(manifest.read_text().replace("    kind: ui\n", "    kind: ui\n    quality: {palette_compliance: 1.0}\n"))
    assert "quality: {palette_compliance: 1.0}" in manifest.read_text()
    build_json(touchup)  # generated images snap to the palette: the gate passes
    edit_pixel(touchup, "hud/button.png", (4, 8))
    assert run_cli(touchup, "adopt", MANIFEST, "hud/button.png").code == 0
    result = run_cli(touchup, "build", MANIFEST)
    assert result.code == 1 and "palette_compliance" in result.err and "hud" in result.err


def test_a_lock_cannot_point_an_override_at_another_repo_file(touchup):
    edit_pixel(touchup, "hero/seed1.png", (8, 8))
    run_cli(touchup, "adopt", MANIFEST, "hero/seed1.png")
    set_prompt(touchup, "a {class} hero with a hat")
    build_json(touchup)
    manifest_bytes = (touchup / MANIFEST).read_bytes()
    lock_path = touchup / "manifests" / "small.lock.json"
    data = json.loads(lock_path.read_text())
    data["outputs"]["hero/seed1.png"]["override"]["file"] = "small.yaml"  # the manifest itself
    lock_path.write_text(json.dumps(data))
    result = run_cli(touchup, "rebase-override", MANIFEST, "hero/seed1.png", "--prefer", "override")
    assert result.code == 0, result.err
    assert (touchup / MANIFEST).read_bytes() == manifest_bytes
    assert "file" not in lock(touchup)["outputs"]["hero/seed1.png"]["override"]
