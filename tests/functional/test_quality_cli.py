"""Quality scores, gates and the report, through the CLI on the tiny model."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from cli_helpers import build_json, outputs, run_cli

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def _set_gates(project, text: str) -> None:
    path = project / MANIFEST
    path.write_text(path.read_text().replace("  seed: 3\n", f"  seed: 3\n  quality: {text}\n", 1))


def test_scores_are_written_and_summarised_in_the_lock(project):
    build_json(project)
    document = json.loads((project / "assets_out" / "small" / "quality.json").read_text())
    assert document["schema"] == 1 and set(document["assets"]) == {"hero", "slime-green", "slime-blue", "ground", "hud"}
    hero = document["assets"]["hero"]["metrics"]
    assert hero["palette_compliance"] == 1.0 and hero["partial_alpha_share"] == 0.0
    assert hero["lpips"] is None and hero["lpips_reason"].startswith("not computed")
    assert document["assets"]["ground"]["metrics"]["seam_error"] is not None
    lock = json.loads((project / "manifests" / "small.lock.json").read_text())
    assert lock["outputs"]["hero/seed1.png"]["quality"]["palette_compliance"] == 1.0


def test_failing_gate_fails_the_build_after_building_everything(project):
    _set_gates(project, "{max_colors: 2, palette_compliance: 1.0}")
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 1
    assert "quality gates failed" in result.err
    # Every asset was still built; each violation names asset, metric, value and threshold.
    assert len(outputs(project)) == 7
    for asset in ("hero", "ground", "hud"):
        assert asset in result.err
    assert "colors_used" in result.err and "max_colors" in result.err
    # A no-op build re-checks the recorded scores: still failing.
    again = run_cli(project, "build", MANIFEST)
    assert again.code == 1 and "0 built" in again.out
    # Only a warning with --gates warn.
    warned = run_cli(project, "build", MANIFEST, "--gates", "warn")
    assert warned.code == 0 and "--gates warn" in warned.err


def test_ssim_against_the_previous_version(project):
    build_json(project)
    path = project / MANIFEST
    path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
    build_json(project)
    document = json.loads((project / "assets_out" / "small" / "quality.json").read_text())
    ground = document["assets"]["ground"]["metrics"]
    hero = document["assets"]["hero"]["metrics"]
    assert ground["ssim_vs_previous"] is not None and ground["ssim_vs_previous"] < 1.0
    assert hero["ssim_vs_previous"] == 1.0


def test_unknown_gate_is_a_manifest_error(project):
    _set_gates(project, "{max_colours: 3}")
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 2 and "max_colours" in result.err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (bash scripts/setup.sh --test installs it)")
def test_report_renders_in_headless_chromium(project, tmp_path):
    build_json(project)
    report = project / "assets_out" / "small" / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60).stdout
    for asset in ("hero", "slime-green", "slime-blue", "ground", "hud"):
        assert f'data-asset="{asset}"' in dom
    assert 'data-metric="palette_compliance"' in dom and "hero/seed1.png" in dom
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", *flags, f"--screenshot={shot}", "--window-size=1200,900", report.as_uri()], capture_output=True, timeout=60)
    from pixelgen.formats.png import decode_png

    pixels = decode_png(shot.read_bytes())
    assert pixels.shape[0] == 900 and len({tuple(p) for p in pixels[::17, ::17, :3].reshape(-1, 3)}) > 10


def test_diff_against_an_older_lock(project):
    build_json(project)
    old_lock = project / "old.lock.json"
    old_lock.write_bytes((project / "manifests" / "small.lock.json").read_bytes())
    path = project / MANIFEST
    path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
    build_json(project)
    result = run_cli(project, "diff", MANIFEST, "--against", str(old_lock), "--json")
    assert result.code == 0, result.err
    changes = {c["path"]: c for c in json.loads(result.out)}
    assert set(changes) == {"ground/grass.png", "ground/dirt.png"}
    grass = changes["ground/grass.png"]
    assert grass["status"] == "changed" and grass["metrics"]["changed_pixels"] > 0 and grass["metrics"]["ssim"] < 1
    from pixelgen.formats.png import decode_png

    side = decode_png((project / "assets_out" / "small" / grass["image"]).read_bytes())
    assert side.shape == (16 * 4, (16 * 3 + 2) * 4, 4)
    not_a_ref = run_cli(project, "diff", MANIFEST, "--against", "no-such-ref")
    assert not_a_ref.code == 2 and "--against" in not_a_ref.err
