"""The real-model declarations in docs/conditioning.md are valid manifest YAML, pinned to full commits."""

from __future__ import annotations

import re
from pathlib import Path

from pixelgen.manifest import load_manifest

DOC = Path(__file__).resolve().parents[3] / "docs" / "conditioning.md"

ASSETS = """\
version: 1
name: real
assets:
  - id: hero
    kind: sprite
    model: sdxl
    prompt: a knight
    size: [32, 32]
    adapter: ip
    style_images: [sheet.png]
    control: [{model: openpose, image: "pose:walk/s/0"}]
"""


def _pinned_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    found = [block for block in blocks if "xinsir/controlnet-openpose-sdxl-1.0" in block and "models:" in block]
    assert len(found) == 1, "docs/conditioning.md should hold one block declaring the real models"
    return found[0]


def test_real_model_block_loads_and_pins_full_commits(tmp_path: Path) -> None:
    from PIL import Image

    block = _pinned_block()
    Image.new("RGB", (8, 8)).save(tmp_path / "sheet.png")
    path = tmp_path / "real.yaml"
    path.write_text(ASSETS.replace("assets:", block + "assets:", 1))
    manifest = load_manifest(path)

    pins = {spec.source: spec.revision for spec in [*manifest.models.values(), *manifest.controlnets.values(),
                                                   *manifest.adapters.values()]}
    assert set(pins) == {"stabilityai/stable-diffusion-xl-base-1.0", "xinsir/controlnet-openpose-sdxl-1.0", "h94/IP-Adapter"}
    for repo, revision in pins.items():
        assert revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision), (repo, revision)
    assert {spec.kind for spec in [*manifest.models.values(), *manifest.controlnets.values(), *manifest.adapters.values()]} == {"hub"}
    assert manifest.adapters["ip"].weight_name.endswith(".safetensors")  # pixelgen loads no pickles
    assert "<commit>" not in block
