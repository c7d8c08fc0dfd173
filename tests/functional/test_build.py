"""End-to-end builds on the tiny model, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import build_json, outputs, run_cli, run_subprocess

from pixelgen.formats.png import decode_png, read_png_text

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def edit(project: Path, old: str, new: str) -> None:
    path = project / MANIFEST
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def lock(project: Path) -> dict:
    return json.loads((project / "manifests" / "small.lock.json").read_text())


def test_first_build_writes_every_output_and_the_lock(project):
    summary = build_json(project)
    assert summary["built"] == 7 and summary["rendered"] == 7 and not summary["failed"]
    files = outputs(project)
    assert sorted(files) == [
        "ground/dirt.png", "ground/grass.png", "hero/seed1.png", "hero/seed2.png",
        "hud/button.png", "slime-blue/default.png", "slime-green/default.png",
    ]
    hero = decode_png(files["hero/seed1.png"])
    assert hero.shape == (16, 16, 4) and set(np.unique(hero[..., 3])) <= {0, 255}
    assert decode_png(files["hud/button.png"]).shape == (8, 16, 4)
    # Every opaque pixel is a palette colour (pico-8 for the hero).
    from pixelgen.pixelart import builtin_palette

    pico = {tuple(c) for c in builtin_palette("pico-8")}
    assert {tuple(p[:3]) for p in hero.reshape(-1, 4) if p[3]} <= pico
    # Provenance chunks are in the PNG before hashing.
    text = read_png_text(files["hero/seed1.png"])
    assert "a knight hero" in text["parameters"] and "Seed: 1" in text["parameters"]
    assert json.loads(text["pixelgen"])["asset"] == "hero"
    data = lock(project)
    assert data["schema"] == 1 and data["models"]["tiny"]["identity"]["builtin"] == "tiny-sdxl" and len(data["models"]["tiny"]["files_sha256"]) == 64
    from pixelgen.files.hashing import sha256_bytes

    for path, entry in data["outputs"].items():
        assert entry["sha256"] == sha256_bytes(files[path])


def test_null_build_does_nothing_and_keeps_the_lock(project):
    build_json(project)
    lock_path = project / "manifests" / "small.lock.json"
    before = lock_path.stat().st_mtime_ns
    summary = build_json(project)
    assert summary["built"] == 0 and summary["rendered"] == 0 and summary["up_to_date"] == 7
    assert not summary["lock_written"] and lock_path.stat().st_mtime_ns == before


def test_prompt_edit_rerenders_only_that_asset(project):
    build_json(project)
    before = outputs(project)
    edit(project, 'prompt: "a {color} slime"', 'prompt: "a {color} slime with a hat"')
    status = run_cli(project, "status", MANIFEST)
    assert "prompt changed" in status.out and "slime-green" in status.out
    summary = build_json(project)
    assert summary["rendered"] == 2 and summary["built"] == 2
    after = outputs(project)
    changed = {p for p in after if after[p] != before[p]}
    assert changed <= {"slime-green/default.png", "slime-blue/default.png"}


def test_palette_edit_reruns_post_processing_only(project):
    build_json(project)
    edit(project, '"#ff004d"', '"#29adff"')
    status = run_cli(project, "status", MANIFEST)
    assert "ground" in status.out and "palette changed" in status.out
    summary = build_json(project)
    assert summary["rendered"] == 0 and summary["built"] == 2


def test_cosmetic_edit_changes_nothing(project):
    build_json(project)
    edit(project, "kind: tileset", "kind: tileset\n    description: grassy\n    tags: [outdoor]")
    summary = build_json(project)
    assert summary["built"] == 0 and summary["rendered"] == 0


def test_removed_asset_outputs_are_removed(project):
    build_json(project)
    text = (project / MANIFEST).read_text()
    start = text.index("  - id: slime")
    end = text.index("  - id: ground")
    (project / MANIFEST).write_text(text[:start] + text[end:])
    summary = build_json(project)
    assert sorted(summary["removed"]) == ["slime-blue/default.png", "slime-green/default.png"]
    assert not (project / "assets_out" / "small" / "slime-green").exists()
    assert not any(p.startswith("slime") for p in lock(project)["outputs"])


def test_hand_edited_output_is_detected_and_restored(project):
    build_json(project)
    target = project / "assets_out" / "small" / "hero" / "seed1.png"
    original = target.read_bytes()
    target.write_bytes(original[:-20] + b"x" * 20)
    status = run_cli(project, "status", MANIFEST)
    assert "output modified" in status.out
    check = run_cli(project, "build", MANIFEST, "--check")
    assert check.code == 1 and "output modified" in check.out
    summary = build_json(project)
    assert summary["rendered"] == 0 and summary["cached"] == 1
    assert target.read_bytes() == original


def test_check_mode(project):
    first = run_cli(project, "build", MANIFEST, "--check")
    assert first.code == 1 and "new" in first.out
    assert not (project / "assets_out").exists() and not (project / "manifests" / "small.lock.json").exists()
    build_json(project)
    assert run_cli(project, "build", MANIFEST, "--check").code == 0
    edit(project, "seed: 3", "seed: 4")
    stale = run_cli(project, "build", MANIFEST, "--check")
    assert stale.code == 1 and "seed changed" in stale.out


def test_only_builds_the_selection(project):
    summary = build_json(project, "--only", "hud")
    assert summary["built"] == 1
    assert list(outputs(project)) == ["hud/button.png"]
    unknown = run_cli(project, "build", MANIFEST, "--only", "nope")
    assert unknown.code == 2 and "nope" in unknown.err


def test_corrupt_cache_object_is_discarded_and_rebuilt(project):
    build_json(project)
    objects = sorted((project / "manifests" / ".pixelgen" / "cache" / "objects").rglob("*"))
    files = [p for p in objects if p.is_file()]
    for path in files:
        path.write_bytes(b"garbage")
    shutil.rmtree(project / "assets_out")
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 0, result.err
    assert "corrupt" in result.err
    assert len(outputs(project)) == 7


def test_builds_are_deterministic(project, tmp_path_factory, tiny_model_dir):
    build_json(project)
    other = tmp_path_factory.mktemp("again")
    shutil.copytree(project / "manifests", other / "manifests", ignore=shutil.ignore_patterns(".pixelgen", "*.lock.json"))
    # A fresh cache, so the tiny model is rebuilt from its seeds too.
    result = run_cli(other, "build", MANIFEST)
    assert result.code == 0, result.err
    assert outputs(other) == outputs(project)
    assert (other / "manifests" / "small.lock.json").read_bytes() == (project / "manifests" / "small.lock.json").read_bytes()


def test_batching_records_batch_size(project):
    summary = build_json(project, "--batch-size", "4")
    assert summary["rendered"] == 7
    sizes = {entry["batch_size"] for entry in lock(project)["outputs"].values()}
    assert max(sizes) > 1


def test_gc_removes_unreferenced_objects(project):
    build_json(project)
    edit(project, "seed: 3", "seed: 5")
    build_json(project)
    result = run_cli(project, "gc", MANIFEST)
    assert result.code == 0 and "removed" in result.out
    # Everything the lock needs is still there: a fresh OUT is restored without rendering.
    shutil.rmtree(project / "assets_out")
    summary = build_json(project)
    assert summary["rendered"] == 0 and summary["cached"] == 7


def test_lora_changes_the_render_and_is_pinned(project):
    from pixelgen.files.hashing import sha256_file
    from pixelgen.render.tiny import build_tiny_lora

    lora = build_tiny_lora(project / "manifests" / "loras" / "style.safetensors")
    edit(project, "palettes:", f"loras:\n  style: {{path: loras/style.safetensors, sha256: {sha256_file(lora)}}}\npalettes:")
    build_json(project)
    before = outputs(project)
    edit(project, 'prompt: "a {class} hero"', 'prompt: "a {class} hero"\n    loras: [{name: style, weight: 1.0}]')
    summary = build_json(project)
    assert summary["rendered"] == 2
    assert outputs(project)["hero/seed1.png"] != before["hero/seed1.png"]
    assert "Lora hashes" in read_png_text(outputs(project)["hero/seed1.png"])["parameters"]
    lora.write_bytes(lora.read_bytes() + b"\0")
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 2 and "sha256" in result.err and "Traceback" not in result.err


def test_device_cuda_without_gpu_is_a_clear_error(project):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    result = run_cli(project, "build", MANIFEST, "--device", "cuda")
    assert result.code == 1 and "no CUDA device" in result.err


def test_plan_json_lists_keys(project):
    result = run_cli(project, "plan", MANIFEST, "--json")
    assert result.code == 0
    plan = json.loads(result.out)
    assert len(plan["renders"]) == 7
    keys = [post["key"] for asset in plan["assets"] for post in asset["posts"]]
    assert len(set(keys)) == 7 and all(len(k) == 64 for k in keys)


def test_status_and_cached_build_never_import_torch(project):
    build_json(project)
    probe = (
        "import sys\n"
        "from pixelgen.cli import cli\n"
        "for args in (['status', 'manifests/small.yaml'], ['build', 'manifests/small.yaml'], ['plan', 'manifests/small.yaml']):\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "HEAVY=\n" in completed.stdout


def test_python_dash_m_works(project):
    result = run_subprocess(project, "validate", MANIFEST)
    assert result.code == 0 and "valid" in result.out


def test_metrics_file_parses_with_prometheus_client(project):
    from prometheus_client.parser import text_string_to_metric_families

    build_json(project, "--metrics-file", "build.prom")
    build_json(project, "--metrics-file", "build.prom")
    families = {f.name: f for f in text_string_to_metric_families((project / "build.prom").read_text())}
    images = [s for s in families["pixelgen_images"].samples if s.name == "pixelgen_images_total"]
    assert images[0].value == 7 and images[0].labels["manifest"] == "small"
    count = [s for s in families["pixelgen_image_latency_seconds"].samples if s.name.endswith("_count")]
    assert count[0].value == 7  # rendered once; the second build was a no-op
    assert "pixelgen_build_seconds" in families


def test_keep_going_builds_the_rest_and_reports_the_failure(project):
    # The tiny model's coloured noise has no confident grid, so `error` fails this asset.
    edit(project, "  - id: hud\n    kind: ui\n", "  - id: hud\n    kind: ui\n    pixelart: {on_grid_failure: error}\n")
    result = run_cli(project, "build", MANIFEST, "--keep-going")
    assert result.code == 1 and "failed: hud" in result.err and "grid confidence" in result.err
    assert "hud/button.png" not in outputs(project) and len(outputs(project)) == 6
    assert run_cli(project, "build", MANIFEST, "--check").code == 1


def test_cached_build_without_the_model_files_keeps_the_lock(project):
    build_json(project)
    lock_path = project / "manifests" / "small.lock.json"
    before = lock_path.read_bytes()
    # A CI runner with the cache of outputs but not the model: nothing to render, lock unchanged.
    shutil.rmtree(project / "manifests" / ".pixelgen" / "cache" / "models")
    shutil.rmtree(project / "assets_out")
    summary = build_json(project)
    assert summary["rendered"] == 0 and summary["cached"] == 7
    assert lock_path.read_bytes() == before
