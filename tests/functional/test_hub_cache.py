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
