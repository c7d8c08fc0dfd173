"""Write the house-style demo dataset (manifests/refs/house-style/) with pixelgen's own sprite generator.

    python scripts/make_house_style_refs.py [--count 12] [--out manifests/refs/house-style]

Deterministic: the same count and seed give the same PNG bytes, so the checked-in
files can be regenerated and compared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelgen.core.dataset import house_style_sprites
from pixelgen.files.fsutil import write_bytes_atomic
from pixelgen.formats.png import encode_png

CAPTIONS = {"slime": "a slime creature", "bat": "a bat creature", "ghost": "a ghost creature", "beetle": "a beetle creature"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "manifests" / "refs" / "house-style")
    args = parser.parse_args()
    for index, (name, image) in enumerate(house_style_sprites(args.count, seed=args.seed)):
        write_bytes_atomic(args.out / f"{name}.png", encode_png(image))
        if index % 2 == 0:  # half carry a sidecar caption; the others are captioned from their file name
            kind = name.split("_")[0]
            write_bytes_atomic(args.out / f"{name}.txt", f"{CAPTIONS[kind]}, house style\n".encode())
    print(f"{args.count} images in {args.out}")


if __name__ == "__main__":
    main()
