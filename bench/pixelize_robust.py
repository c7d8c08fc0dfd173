"""Does pixelize keep the judged native size of the clear-grid real renders after what users do to files?

    python bench/pixelize_robust.py                              # every variant below
    python bench/pixelize_robust.py --variants jpeg75,crop50     # some of them

Variants of each clear-grid render of bench/real_renders.json (images in
bench/real/images/, see bench/real_collect.py):

* ``orig``: the file as it is;
* ``jpegQ`` / ``webpQ``: coded again at quality Q with Pillow;
* ``resizeP``: resized to P % with Pillow's bicubic filter (the native size
  is unchanged; cells shrink, and below 3 px the detector does not look);
* ``cropP``: a window of P % of each side, off-centre (the expected size is
  the window measured in judged cells, give or take 1.5 for the two partial
  borders);
* ``padP``: the render placed off-centre on a canvas P % of each side, filled
  with the commonest colour of the render's border (a sprite put on a larger
  canvas; the expected size is the canvas in judged cells, give or take 1.5).

pixelize runs in its automatic mode (no size, no palette). A variant counts as
kept when the output is within ±max(1 px, 2 %) of the expected size (±1.5 for
crops); a refusal counts as not kept. Prints each miss and a tally per variant.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pixelgen.pixelart import GridDetectionError, pixelize  # noqa: E402

VARIANTS = ("orig", "jpeg75", "jpeg90", "webp80", "resize75", "resize60", "crop70", "crop50", "pad200", "pad400")


def variant(image: Image.Image, name: str, record: dict) -> tuple[np.ndarray, tuple[float, float], float]:
    """The pixels of one variant, the expected size and the tolerance in cells."""
    native = (float(record["native"][0]), float(record["native"][1]))
    if name == "orig":
        return np.asarray(image), native, 1.0
    if name.startswith(("jpeg", "webp")):
        coded = io.BytesIO()
        source = image.convert("RGB") if name.startswith("jpeg") else image
        source.save(coded, format="JPEG" if name.startswith("jpeg") else "WEBP", quality=int(name[4:]))
        return np.asarray(Image.open(coded)), native, 1.0
    share = int(name.removeprefix("resize").removeprefix("crop").removeprefix("pad")) / 100
    width, height = image.size
    if name.startswith("pad"):
        pixels = np.asarray(image)
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        colours, counts = np.unique(border, axis=0, return_counts=True)
        canvas_w, canvas_h = round(width * share), round(height * share)
        canvas = np.empty((canvas_h, canvas_w, pixels.shape[2]), dtype=np.uint8)
        canvas[:] = colours[int(np.argmax(counts))]
        left, top = round((canvas_w - width) * 0.37), round((canvas_h - height) * 0.61)
        canvas[top : top + height, left : left + width] = pixels
        return canvas, (canvas_w / record["cell"][0], canvas_h / record["cell"][1]), 1.5
    if name.startswith("resize"):
        return np.asarray(image.resize((round(width * share), round(height * share)), Image.BICUBIC)), native, 1.0
    crop_w, crop_h = round(width * share), round(height * share)
    left, top = round((width - crop_w) * 0.37), round((height - crop_h) * 0.61)
    pixels = np.asarray(image)[top : top + crop_h, left : left + crop_w]
    return pixels, (crop_w / record["cell"][0], crop_h / record["cell"][1]), 1.5


def main(argv: list[str] | None = None) -> dict[str, tuple[int, int]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=Path, default=ROOT / "bench" / "real_renders.json")
    parser.add_argument("--images", type=Path, default=ROOT / "bench" / "real" / "images")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    names = [name for name in args.variants.split(",") if name]
    for name in names:
        if name != "orig" and not name.startswith(("jpeg", "webp", "resize", "crop", "pad")):
            parser.error(f"unknown variant {name!r}; known: {', '.join(VARIANTS)} (any quality or percentage)")
    records = [r for r in json.loads(args.renders.read_text(encoding="utf-8")) if r["grid"] == "clear" and r["native"]]
    tally = {name: [0, 0] for name in names}
    for record in records:
        image = Image.open(args.images / record["file"])
        image = image.convert("RGBA") if "A" in image.mode or image.mode == "P" else image.convert("RGB")
        for name in names:
            pixels, (want_w, want_h), tolerance = variant(image, name, record)
            try:
                got = tuple(pixelize(pixels, size=None, palette=None).image.shape[1::-1])
            except GridDetectionError:
                got = None
            kept = got is not None and all(
                abs(g - w) <= max(tolerance, 0.02 * w) for g, w in zip(got, (want_w, want_h)))
            tally[name][0] += kept
            tally[name][1] += 1
            if not kept:
                print(f"  {name:9s} {record['file']:34s} expected {want_w:.1f}x{want_h:.1f}, got {got or 'refused'}", flush=True)
    for name, (kept, total) in tally.items():
        print(f"{name}: {kept}/{total} kept")
    return {name: (kept, total) for name, (kept, total) in tally.items()}


if __name__ == "__main__":
    main()
