"""Hub models and LoRAs load through the normal Hugging Face cache, offline.

The test lays out a Hugging Face hub cache by hand (refs, snapshots, blobs)
holding the tiny pipeline and a tiny LoRA, so the real `from_pretrained(repo,
revision=...)` and `load_lora_weights(repo, weight_name=...)` paths run.
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import hub_cache_repo, run_subprocess

from pixelgen.files.hashing import sha256_file

pytestmark = pytest.mark.slow
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_hub_model_and_lora_from_the_local_cache(project, tiny_model_dir, tmp_path):
    from pixelgen.render.tiny import build_tiny_lora

    hub = tmp_path / "hub"
    hub_cache_repo(hub, "pixelgen-test/tiny-sdxl", {p.relative_to(tiny_model_dir).as_posix(): p for p in tiny_model_dir.rglob("*") if p.is_file()}, COMMIT)
    lora = build_tiny_lora(tmp_path / "lora" / "style.safetensors")
    hub_cache_repo(hub, "pixelgen-test/tiny-lora", {"style.safetensors": lora}, COMMIT)
    manifest = project / "manifests" / "small.yaml"
    text = manifest.read_text().replace(
        "tiny: {builtin: tiny-sdxl}",
        f"tiny: {{repo: pixelgen-test/tiny-sdxl, revision: {COMMIT}, license: CC-BY-NC-4.0}}",
    ).replace("palettes:", "loras:\n  style: {repo: pixelgen-test/tiny-lora, weight_name: style.safetensors}\npalettes:")
    text = text.replace("  seed: 3\n", "  seed: 3\n  loras: [{name: style, weight: 0.8}]\n", 1)
    manifest.write_text(text)
    result = run_subprocess(project, "build", "manifests/small.yaml", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 0, result.err
    assert "CC-BY-NC-4.0" in result.err  # the restricted licence is surfaced
    lock = json.loads((project / "manifests" / "small.lock.json").read_text())
    assert lock["models"]["tiny"]["identity"]["revision"] == COMMIT
    assert lock["models"]["tiny"]["files_sha256"] is not None
    assert lock["loras"]["style"]["revision"] == COMMIT  # resolved from refs/main
    sbom = json.loads((project / "assets_out" / "small" / "sbom.cdx.json").read_text())
    loras = [c for c in sbom["components"] if c["bom-ref"] == "lora/style"]
    assert loras and loras[0]["hashes"][0]["content"] == sha256_file(lora)


def test_controlnet_and_ip_adapter_from_the_local_hub_cache(project, tmp_path):
    """ControlNetModel.from_pretrained(repo, revision) and load_ip_adapter(repo, subfolder, weight_name) on a hand-laid cache."""
    from pixelgen.render.tiny import ensure_tiny_controlnet, ensure_tiny_ip_adapter

    cache = project / "manifests" / ".pixelgen" / "cache"
    controlnet = ensure_tiny_controlnet(cache)
    adapter = ensure_tiny_ip_adapter(cache)
    hub = tmp_path / "hub"
    hub_cache_repo(hub, "pixelgen-test/tiny-controlnet", {p.relative_to(controlnet).as_posix(): p for p in controlnet.rglob("*") if p.is_file()}, COMMIT)
    hub_cache_repo(hub, "pixelgen-test/tiny-ip-adapter",
                   {f"sdxl/{p.relative_to(adapter).as_posix()}": p for p in adapter.rglob("*") if p.is_file()}, COMMIT)
    manifest = project / "manifests" / "small.yaml"
    text = manifest.read_text().replace(
        "palettes:",
        f"controlnets:\n  openpose: {{repo: pixelgen-test/tiny-controlnet, revision: {COMMIT}, license: apache-2.0}}\n"
        f"adapters:\n  ip: {{repo: pixelgen-test/tiny-ip-adapter, revision: {COMMIT}, subfolder: sdxl, weight_name: ip-adapter.safetensors}}\n"
        "palettes:",
    ).replace('    variants: [1, 2]\n', '    variants: [1, 2]\n    control: [{model: openpose, image: "pose:idle/s/0"}]\n'
              '    style_images: ["asset:slime-green"]\n')
    manifest.write_text(text)
    result = run_subprocess(project, "build", "manifests/small.yaml", "--only", "hero", env={"HF_HUB_CACHE": str(hub)})
    assert result.code == 0, result.err
    sbom = json.loads((project / "assets_out" / "small" / "sbom.cdx.json").read_text())
    models = {c["name"]: c for c in sbom["components"] if c["type"] == "machine-learning-model"}
    assert models["controlnet:openpose"]["version"] == COMMIT
    assert {"adapter:ip", "image-encoder:ip"} <= set(models)
    assert models["adapter:ip"]["hashes"][0]["content"] == sha256_file(adapter / "ip-adapter.safetensors")
    plan = json.loads(run_subprocess(project, "plan", "manifests/small.yaml", "--json", env={"HF_HUB_CACHE": str(hub)}).out)
    hero = next(asset for asset in plan["assets"] if asset["id"] == "hero")
    assert hero["depends_on"] == ["slime-green"] and hero["up_to_date"]
