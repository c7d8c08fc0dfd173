"""``pixelgen init``: a first manifest, a palette and a .gitignore for a game repo."""

from __future__ import annotations

from pathlib import Path

from pixelgen.errors import InputError
from pixelgen.files.fsutil import write_text_atomic

MANIFEST = """\
# For completion in editors: `pixelgen schema > manifests/manifest.v1.json` and
# yaml-language-server: $schema=manifest.v1.json
#
# A pixelgen manifest: the sprites, tilesets and UI kits of a game, built with
#   pixelgen build manifests/game.yaml
# Every key is described in docs/manifest.md (or `pixelgen schema --markdown`).
version: 1
name: game                      # outputs go to assets_out/game/, the lock to manifests/game.lock.json

models:
  # The built-in tiny model renders coloured noise in seconds on a CPU: it checks the
  # set-up and the pipeline, not the art. For real art, download SDXL once
  # (`hf download stabilityai/stable-diffusion-xl-base-1.0`) and pin its commit:
  #   sdxl: {repo: stabilityai/stable-diffusion-xl-base-1.0, revision: <commit>, variant: fp16}
  sdxl: {builtin: tiny-sdxl}

palettes:
  game: {path: palettes/game.hex}   # one #rrggbb per line (Lospec .hex); or {builtin: endesga-32}, {auto: 16}

defaults:                       # every asset inherits these; any asset may override them
  model: sdxl
  prompt_prefix: "pixel art, "
  negative: "blurry, photo, 3d render"
  size: [32, 32]                # the final sprite, in pixels
  render: {width: 256, height: 256, steps: 8, guidance: 5.0, scheduler: euler}   # SDXL: 1024×1024, ~30 steps
  palette: game
  seed: 1

assets:
  - id: hero
    kind: sprite
    prompt: "a {class} hero, side view"
    vars: {class: knight}
    background: transparent     # cut the background away (border flood fill)
    variants: [1, 2]            # two seeds: hero/seed1.png, hero/seed2.png

  - id: ground
    kind: tileset
    prompt: "top-down {name} ground texture, seamless"
    size: [16, 16]
    seamless: true              # tiles that wrap around
    tiles: [{name: grass}, {name: dirt}]

  - id: hud
    kind: ui
    prompt: "fantasy game UI {name}, wooden frame"
    elements:
      - {name: button, size: [24, 12], border: [3, 3, 3, 3]}   # 9-slice borders: left, top, right, bottom
"""

# A small warm/cool ramp, in Lospec's .hex format.
PALETTE = """\
1a1c2c
5d275d
b13e53
ef7d57
ffcd75
a7f070
38b764
257179
29366f
3b5dc9
41a6f6
73eff7
f4f4f4
94b0c2
566c86
333c57
"""

GITIGNORE_LINES = (
    "# pixelgen: the cache (renders, models) beside each manifest, and the build outputs",
    ".pixelgen/",
    "assets_out/",
)


def scaffold(folder: Path) -> list[Path]:
    """Write a first manifest, its palette and .gitignore lines into ``folder``; the files written or changed.

    Never overwrites a manifest or palette that is already there.
    """
    folder = Path(folder)
    manifest = folder / "manifests" / "game.yaml"
    palette = folder / "manifests" / "palettes" / "game.hex"
    existing = [path for path in (manifest, palette) if path.exists()]
    if existing:
        raise InputError(
            f"{', '.join(str(p) for p in existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "pixelgen init never overwrites: choose another folder, or move them away"
        )
    write_text_atomic(manifest, MANIFEST)
    write_text_atomic(palette, PALETTE)
    written = [manifest, palette]
    gitignore = folder / ".gitignore"
    present = gitignore.read_text("utf-8").splitlines() if gitignore.is_file() else []
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if any(not line.startswith("#") for line in missing):
        text = "\n".join(present)
        write_text_atomic(gitignore, (text + "\n\n" if text.strip() else "") + "\n".join(missing) + "\n")
        written.append(gitignore)
    return written
