"""Benchmark pixelize and its peers on real AI renders (bench/real_renders.json).

    python bench/pixelize_real.py --images bench/real/images [--split heldout2] [--no-peers]

Splits: "tune" (detector development), "heldout" (looked at during development,
so not clean), "heldout2" to "heldout27" (fresh sets from other repositories,
sizes judged by eye before the engine ran on them; heldout7 aims at background
removal, its backgrounds labelled scene or uniform by eye; heldout8 at framed
pictures against rectangular sprites and UI on a backdrop, labelled alike;
heldout9 at dark or vignetted scenes against sprites on a black backdrop;
heldout10 at generators and repositories not used before; heldout11 at
GPT Image 1 style previews of one subject, pixel-styled and smooth; heldout12
at pixel art that games and apps ship: Replit-built apps, an Azure OpenAI and
Midjourney sprite set, a Gemini scene; heldout13 at GPT-4o / Sora renders from
pixel-art tools' and a prompt collection's examples; heldout14 at documentation
sites' and demos' AI pixel art: Ideogram hero images, Qwen-Image, DALL-E 2/3 and
gpt-image-1 blog images, a Gemini edit; heldout15 at sprites, tiles and
sheets that games ship: ChatGPT fish sprites in big bevelled blocks, DALL-E 2
cars at 256 px, Nano Banana Pro sheets on baked checkerboards; heldout16 at
AI-art tools' own pixel-art samples: a StableStudio style-preset preview,
HiDream and FLUX style thumbnails, PixArt-Sigma workflow demos; heldout17 at
games' AI art: a Phaser platformer's Gemini portrait in clean 8-px blocks and
its soft sheets, cover and background, gpt-image sprite sheets from an RPG's
concept art; heldout18 at pixel-art generator CLIs' and skills' committed
samples: Gemini 3 Pro sprites and tiles resized by a Vertex CLI, gpt-image-2
sprites quantized and shown 4x, a Codex-generated map; heldout19 at hobby
games' AI sprites, tiles and backgrounds: a Phaser platformer's hand-cropped
ChatGPT sprites in 26-47-px blocks and its C2PA-marked GPT-4o backdrops, a
Python-teaching game's Gemini sheets and tiles cut by its own pipeline; heldout20 at pixel-art
generation models' and research repositories' own samples: Stable Diffusion
GIF frames resampled to 11.9-px cells, SD 1.5 LoRA outputs shown 4x and 8x, the
Pixel Art XL gallery card, a Gemini sprite sheet, small diffusion models'
sample grids; heldout21 at game-building pipelines' and games' AI art: a Unity
RPG's C2PA-marked Gemini potion in 9.7-px blocks, an AI asset studio's
gpt-image forest layer and UI set and its docs' generated farmers in 9.4- and
15.5-px blocks; heldout22 at blog and tutorial images, of which only a small
DDPM project's nearest-enlarged 16 x 16 samples on story panels had a licence
that covers them; heldout23 at READMEs', logos' and banners' AI pixel art: an
agent-skills project's Gemini 3 Pro logos and banners in 5.7- to 41-px blocks,
an MCP plugin's Gemini README banners without a grid; heldout24 at game and
agent projects' committed AI pixel art: a fighting game's Gemini fighter
references on green and magenta keys in soft 4.5-5-px and crisp 6.7-px blocks
and two smooth crowdsourced JPEGs, a focus-group simulator's Nano Banana 2
sprites on transparency in 10-12.8-px blocks and its blurred office backdrop;
heldout25 at mobile games' in-app AI pixel art: three Flutter games' Gemini
(C2PA-marked) sprites, icons and a sheet on baked checkerboards, white or black
in 5.1- to 25.6-px blocks, two cut-outs on transparency, two soft 5.1-px
scenes and a smooth lobby backdrop without a grid; heldout26 at AI game-asset generators' committed outputs: a Gemini asset
generator web game's Gemini sprites in crisp 20.5-px blocks and a mixed-grid
edit, its C2PA-marked GPT-4o sprites in 10.2-px and non-square 10.25 x 9.84-px
blocks, a soft troll, a START button whose letters sit on the half cell and a
soft title scene, and a FLUX sprite strip without a grid; heldout27 at games'
committed ChatGPT and Gemini pixel art: a RuneScape-clone's C2PA-marked GPT-4o
NPCs and rocks in crisp grainy 32-px blocks, a walk sheet, a lighthouse and a
lava tile in 11.6-16.3-px blocks, two props on baked checkerboards in soft
5-6-px blocks, a platformer's GPT-4o logo in 13.8-px blocks and its smooth
skyline without a grid, and a VS Code pet extension's Gemini release banners in
7.6- and 6.8-px blocks; heldout28 at
non-English game repositories' committed AI pixel art: a Korean idle game's
C2PA-marked GPT-4o icons and sprites in crisp 20.4- to 51.2-px blocks, a soft
golem and a soft non-square thumbnail scene, its C2PA-marked Gemini JPEGs (a
25.6-px moonstone on white, a 2.84-px shop interior, a faint 3.8-px dungeon),
and a Korean typing pet's Gemini Imagen creatures on transparency in 9.2- to
12.8-px blocks, two soft, and a smooth Gemini playground backdrop without a
grid; heldout29 at small games' committed AI pixel art: an ESP32 tamagotchi's
C2PA-marked gpt-image hat sprites on chroma green in soft 13-14-px blocks and
its three style sheets whose motifs use different block sizes (2-12 px), a
p5.js adventure's DALL-E 2 outpainted park scene with blocks of many sizes and
no lattice, and two Stable Diffusion DOS-adventure screenshots without a grid; heldout30 at LLM-agent demos' committed AI pixel art: a Claude Code
visualiser's C2PA-marked GPT-4o robot in crisp 15.3-px blocks, two soft
mountain tiles and a smooth gate without a grid, an agent-village monitor's
pre-generated FF6-style JPEG scenes (a crisp 5.12-px dungeon, a village and a
machine room in faint 4.27-px blocks), and a generative-agents school fork's
Gemini campus map without a grid and a soft Doubao librarian; heldout31 at
image-generation tools', agent plugins' and style catalogues' committed
samples: a Gemini CLI's C2PA-marked Nano Banana Pro banana in crisp 17.07-px
blocks, a Gemini MCP server's cut-out treasure chest in crisp 7.12-px blocks,
a Codex pet plugin's chroma-green image_gen bunny in crisp 14.0-px blocks with
a soft waving row strip and a soft 9.1 x 9.5-px robot, an AI Horde model
showcase grid of 8-px panels, a prompt library's resized 2.39-px infographic,
a C2PA-marked Gemini world map in faint 2.9-px blocks, and three pixel-styled
renders without a grid (two AI Horde SDXL style previews and a pixel-art
skill's Sana sample from Pollinations); heldout32 at
slide, content and agent projects' committed AI pixel art: a content-skill
set's Nano Banana Pro style previews (a slide and an article banner in crisp
5.74-px blocks, a cover whose motifs use 6-7.4-px blocks, a smooth
infographic without a grid), an agent's Seedream mood portraits on
transparency in crisp 3.8-4.6-px blocks, its soft mascot, Gemini room and
gramophone, and a YouTuber's C2PA-marked Gemini docs infographics without
a grid); heldout33 at text-to-image comparison, evaluation and
prompt-rewriter repositories' committed pixel-art renders: a prompt-recipe
skill's gpt-image validation sample (an orange cat in soft, drifting
21-25-px blocks) and a Z-Image style reference for style-transfer
experiments (a castle scene in soft blocks of several sizes, 8-11 px);
heldout34 at pixel-art converters' committed example and docs renders: a
Rust converter's C2PA-marked GPT-4o docs art (a hero banner whose pixelated
panel has crisp 9.9-px cells, a tile-mosaic logo in crisp 95.75 x 92.75-px
cells, a paper-textured logo in soft 42.5-px blocks, its JPEG sample landscape
in soft, drifting 8-px blocks and a tile icon without a grid); heldout35 at
committed AI assets of repositories named for pixels, found by their C2PA
marks: a farm game's raw gpt-image icon masters on a magenta matte in crisp
13.5-21-px cells (corn, coin, pumpkin, a strawberry whose 10.5-px peak is the
half-cell trap), its soft 4.2-4.5-px asset and icon sheets, a soft 2.7-px
autumn scene and a UI mock-up without a grid; an agent office's ChatGPT
sprite sheets in soft 4.4-6.9-px blocks (two on transparency); a parquet
tile strip in soft 4.65-px blocks; a pet-fish game's GPT-4o sprites on
transparency in soft 9-10-px blocks; and a Gemini cyberpunk city without a
grid);
heldout36 at sprite, RPG and dungeon repositories triaged by the C2PA/XMP
metadata of their committed images: an RPG prototype's Gemini and gpt-image
chibi characters (crisp 9.95-px and 8.58-px blocks, soft 7.5-11-px ones,
walk sheets in soft 4.1-4.3-px blocks, a smooth sheet without a grid) and a
dungeon crawler's Gemini assets (a cobblestone tile in soft 17-px blocks, a
wall tile and logo resized to about 2.5-px blocks, a parchment without a
grid) and a PS1-style engine's Grok Imagine mech portrait in crisp 6.82-px
blocks;
heldout37 at game, shooter, survivor, tower-defense and jam repositories
triaged by the C2PA marks of their committed images: a tower-defense game's
gpt-image monster sheets on chroma-key backdrops (soft 3.4-4.9-px blocks)
and its smooth pixel-styled map without a grid, a Mars mining game's Gemini
rover sprites on a baked checkerboard (soft 4.8- and 5-px blocks, a smooth
3D-style source without a grid) and a survivors kit's grainy GPT-4o dungeon
panels (soft, about 6.8-px blocks);
heldout38 at agent-office, pet, idle and town repositories triaged by the
C2PA metadata of their committed images: an agent office's Gemini desk and
chair sprites on painted fake-transparency checkerboards (crisp 5.87-px,
10.24-px and 11.73-px blocks, one soft) and a pixel-pet app's ChatGPT/GPT-4o
pets and paw icon on transparency (a crisp 32-px paw, soft 22-32-px pets).

Every tool gets the same files, in automatic mode (no size, no cell, no
palette). Per tool and split it prints:

* output: share of images the tool gave an output for (a refusal or crash
  counts against it); for images without a grid, pixelgen should refuse;
* size: share of images with a grid (``grid`` "clear" or "soft", with an
  eye-judged ``native`` size) whose output is within +-max(1 px, 2 %) of the
  judged size on both axes; "clear grids only" counts the ``clear`` ones alone
  (the issue's target is stated on clear-grid renders);
* idempotent: share of outputs ``y`` for which the tool, run on the x4
  nearest-neighbour upscale of ``y``, gives ``y`` again (pixelgen: every mode
  and k = 1..8, k = 1 being ``y`` itself, the four MODES below); an output of one
  flat colour is not checked and is counted apart ("flat not checked"):
  its upscales are those of every flat image of any size, so no tool can
  tell its size back;
* colours: median number of colours in the outputs;
* scenes kept whole: for pixelgen with ``--background transparent``, how many
  of the outputs of images whose background is judged a scene have no pixel
  made transparent (target: all), and the mean share made transparent
  (pixels transparent in the render itself, which stay so with the background
  kept, do not count);
* backdrops removed: the other side of that decision, how many outputs of
  images judged a sprite (or sheet, icon) on a uniform backdrop had it
  removed (any pixel made transparent);
* ms: median whole-call time (decode the file, run, encode a PNG), one core.

The images are not in the repository: bench/real_renders.json records each
one's repository, commit, path, licence and sha256 (bench/real_collect.py
rebuilds the folder from fetched mirrors) and how its native size was judged.
"""

from __future__ import annotations

import os

# One core for every tool, set before numpy (or a peer) starts its thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import hashlib
import io
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pixelgen.pixelart import builtin_palette, pixelize  # noqa: E402
from pixelgen.pixelart.engine import GridDetectionError  # noqa: E402
from pixelgen.pixelart.options import PixelArtOptions  # noqa: E402

SPLITS = ("tune", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7", "heldout8", "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18", "heldout19", "heldout20", "heldout21", "heldout22", "heldout23", "heldout24", "heldout25", "heldout26", "heldout27", "heldout28", "heldout29", "heldout30", "heldout31", "heldout32", "heldout33", "heldout34", "heldout35", "heldout36", "heldout37", "heldout38")

# The modes whose idempotence pixelgen promises (dithering is left out: an
# ordered dither of colours already in the palette may pick a neighbour).
MODES = {
    "auto": {},
    "palette": {"palette": "pico-8"},
    "transparent": {"background": "transparent"},
    "outline": {"background": "transparent", "outline": "#000000"},
}


def within(got: tuple[int, int], judged: tuple[int, int]) -> bool:
    return all(abs(g - j) <= max(1, 0.02 * j) for g, j in zip(got, judged))


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        return np.asarray(image.convert(mode)).copy()


def encode(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def one_colour(image: np.ndarray) -> bool:
    return bool((image.reshape(-1, image.shape[-1]) == image.reshape(-1, image.shape[-1])[0]).all())


def upscale(image: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.repeat(image, k, axis=0), k, axis=1)


def run_pixelgen(pixels: np.ndarray, mode: str) -> np.ndarray | None:
    options = dict(MODES[mode])
    palette = builtin_palette(options.pop("palette")) if "palette" in options else None
    try:
        background = options.pop("background", "keep")
        return pixelize(pixels, size=None, palette=palette, background=background, options=PixelArtOptions(**options)).image
    except GridDetectionError:
        return None


@dataclass
class Tally:
    outputs: int = 0
    refused_no_grid: int = 0
    images: int = 0
    no_grid: int = 0
    size_cases: int = 0
    size_ok: int = 0
    clear_cases: int = 0  # the target counts images whose grid was judged "clear"
    clear_ok: int = 0
    idem_cases: int = 0
    idem_ok: int = 0
    idem_flat: int = 0  # outputs of one colour: any upscale of them is every such image's upscale
    colours: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    scene_removed: list[float] = field(default_factory=list)
    backdrop_removed: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def count_size(self, entry: dict, got: tuple[int, int]) -> bool:
        ok = within(got, tuple(entry["native"]))
        self.size_cases += 1
        self.size_ok += ok
        if entry.get("grid") == "clear":
            self.clear_cases += 1
            self.clear_ok += ok
        return ok


def pixelgen_whole_call(path: Path) -> tuple[np.ndarray | None, float, dict]:
    """The CLI's default work for one file (auto colours, background removal), timed whole."""
    start = time.perf_counter()
    pixels = decode(path)
    report: dict = {}
    try:
        result = pixelize(pixels, size=None, palette=None, background="transparent")
        out, report = result.image, result.report
        encode(out)
    except GridDetectionError as exc:
        out, report = None, {"error": str(exc)}
    return out, time.perf_counter() - start, report


def score_pixelgen(entries: list[dict], images: Path, tally: Tally, ks: list[int]) -> None:
    for entry in entries:
        path = images / entry["file"]
        out, seconds, report = pixelgen_whole_call(path)
        tally.images += 1
        tally.ms.append(seconds * 1000)
        no_grid = entry.get("grid") == "none"
        tally.no_grid += no_grid
        if out is None:
            tally.refused_no_grid += no_grid
            if not no_grid:
                tally.misses.append(f"{entry['file']}: refused: {report.get('error')}")
            continue
        tally.outputs += 1
        colours = out[out[..., 3] > 0][:, :3]
        tally.colours.append(int(np.unique(colours.astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)).size) if colours.size else 0)
        if entry.get("native") and not no_grid:
            got = (out.shape[1], out.shape[0])
            if not tally.count_size(entry, got):
                tally.misses.append(
                    f"{entry['file']}: {got[0]}x{got[1]} vs judged {entry['native'][0]}x{entry['native'][1]} "
                    f"(cell {report['cell'][0]:.2f}, confidence {report['confidence']:.2f}; "
                    f"next: {[h['cell'][0] for h in report.get('hypotheses', [])[1:3]]})"
                )
        if entry.get("background") == "scene":
            removed_mask = out[..., 3] == 0
            if removed_mask.any():
                # What is transparent in the render itself (an outpainting's
                # unfilled canvas) stays so with the background kept: not removed.
                kept = run_pixelgen(decode(path), "auto")
                if kept is not None and kept.shape == out.shape:
                    removed_mask &= kept[..., 3] != 0
            removed = float(removed_mask.mean())
            tally.scene_removed.append(removed)
            if removed > 0:
                tally.misses.append(f"{entry['file']}: a scene, {100 * removed:.1f} % of it removed as background")
        if entry.get("background") == "uniform":
            removed = float((out[..., 3] == 0).mean())
            tally.backdrop_removed.append(removed)
            if removed == 0:
                why = next((note for note in report.get("notes", []) if note.startswith("background kept")), "no note")
                tally.misses.append(f"{entry['file']}: on a uniform backdrop, kept whole ({why})")
        # Idempotence, every mode, every k.
        pixels = decode(path)
        for mode in MODES:
            first = run_pixelgen(pixels, mode)
            if first is None:
                continue
            if one_colour(first):
                tally.idem_flat += 1
                tally.misses.append(f"{entry['file']}: mode {mode} gives one flat colour: no size survives an upscale, not checked")
                continue
            for k in ks:
                tally.idem_cases += 1
                again = run_pixelgen(upscale(first, k), mode)
                if again is not None and again.shape == first.shape and np.array_equal(again, first):
                    tally.idem_ok += 1
                else:
                    tally.misses.append(f"{entry['file']}: not idempotent in mode {mode} at x{k}")


def score_peer(name: str, adapter, entries: list[dict], images: Path, tally: Tally, scratch: Path) -> None:
    for entry in entries:
        result = adapter(images / entry["file"])
        tally.images += 1
        tally.ms.append(result.seconds * 1000)
        no_grid = entry.get("grid") == "none"
        tally.no_grid += no_grid
        if result.image is None:
            tally.refused_no_grid += no_grid
            continue
        out = result.image
        tally.outputs += 1
        colours = out[out[..., 3] > 0][:, :3]
        tally.colours.append(int(np.unique(colours.astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)).size) if colours.size else 0)
        if entry.get("native") and not no_grid:
            tally.count_size(entry, (out.shape[1], out.shape[0]))
        if one_colour(out):
            tally.idem_flat += 1
            continue
        upscaled = scratch / f"{name}-{Path(entry['file']).stem}-x4.png"
        upscaled.write_bytes(encode(upscale(out, 4)))
        again = adapter(upscaled)
        tally.idem_cases += 1
        tally.idem_ok += again.image is not None and again.image.shape == out.shape and np.array_equal(again.image, out)


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f} % ({part}/{whole})" if whole else "n/a"


def row(name: str, tally: Tally) -> str:
    grid_images = tally.images - tally.no_grid
    outputs_on_grid = tally.outputs - (tally.no_grid - tally.refused_no_grid)
    colours = f"{statistics.median(tally.colours):.0f}" if tally.colours else "n/a"
    kept = sum(1 for share in tally.scene_removed if share == 0.0)
    scene = (f"{kept}/{len(tally.scene_removed)}, mean {100 * statistics.mean(tally.scene_removed):.1f} % removed"
             if tally.scene_removed else "—")
    backdrops = (f"{sum(1 for share in tally.backdrop_removed if share > 0)}/{len(tally.backdrop_removed)}"
                 if tally.backdrop_removed else "—")
    ms = f"{statistics.median(tally.ms):.0f}" if tally.ms else "n/a"
    flat = f", {tally.idem_flat} flat not checked" if tally.idem_flat else ""
    return (
        f"| {name} | {pct(outputs_on_grid, grid_images)} | {pct(tally.refused_no_grid, tally.no_grid)} | "
        f"{pct(tally.size_ok, tally.size_cases)} | {pct(tally.clear_ok, tally.clear_cases)} | {pct(tally.idem_ok, tally.idem_cases)}{flat} | {colours} | {scene} | {backdrops} | {ms} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=Path, default=ROOT / "bench" / "real_renders.json")
    parser.add_argument("--images", type=Path, default=ROOT / "bench" / "real" / "images")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--ks", default="1,2,3,4,5,6,7,8", help="upscale factors for pixelgen's idempotence check")
    parser.add_argument("--misses", action="store_true", help="list pixelgen's misses")
    args = parser.parse_args()
    entries = json.loads(args.renders.read_text())
    missing = [e["file"] for e in entries if not (args.images / e["file"]).is_file()]
    if missing:
        sys.exit(f"{len(missing)} image(s) missing under {args.images} (first: {missing[0]}); run bench/real_collect.py")
    for entry in entries:
        digest = hashlib.sha256((args.images / entry["file"]).read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            sys.exit(f"{entry['file']}: sha256 {digest} does not match the record")
    splits = list(SPLITS) if args.split == "all" else [args.split]
    ks = [int(k) for k in args.ks.split(",")]
    peers = {}
    if not args.no_peers:
        import peers as peer_module

        peers = {name: peer_module.PEERS[name] for name in peer_module.available()}
    scratch = ROOT / "bench" / "out" / "real"
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}; one thread per tool")
    for split in splits:
        chosen = [e for e in entries if e.get("split") == split]
        print(f"\n### split: {split} ({len(chosen)} images, {sum(e.get('grid') == 'none' for e in chosen)} without a grid)\n")
        print("| tool | output (grid images) | refused (no-grid images) | size within ±max(1 px, 2 %) | size, clear grids only | idempotent | median colours | scenes kept whole | backdrops removed | median ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        tally = Tally()
        score_pixelgen(chosen, args.images, tally, ks)
        print(row("pixelgen", tally))
        for name, adapter in peers.items():
            peer_tally = Tally()
            score_peer(name, adapter, chosen, args.images, peer_tally, scratch)
            print(row(name, peer_tally), flush=True)
        if args.misses and tally.misses:
            print("\npixelgen misses:")
            for miss in tally.misses:
                print(f"- {miss}")


if __name__ == "__main__":
    main()
