"""Training speed of pixelgen's LoRA trainer: optimiser steps per second, set-up time, peak memory.

    python bench/train_speed.py                                   # tiny model, 64², CPU, 16 generated sprites
    python bench/train_speed.py --threads 1 --steps 100           # on a busy shared CPU one thread is often faster
    python bench/train_speed.py --model stabilityai/stable-diffusion-xl-base-1.0 --revision <commit> \\
        --resolution 1024 --rank 16 --steps 60 --warmup 10 --precision bf16 --gradient-checkpointing --device cuda

What is timed: one ``pixelgen.render.train.train_lora`` call, the function
``pixelgen train`` and ``pixelgen build`` run. Set-up (loading the pipeline,
encoding every image with the VAE and every caption with both text encoders,
adding the LoRA) is the time to the first step. Steps/s is measured from the
end of step ``--warmup`` to the end of the last step, by ``time.perf_counter``
in the step callback (after ``torch.cuda.synchronize()`` on a GPU, so queued
kernels are counted). The dataset is ``--images`` house-style sprites
(``pixelgen.core.dataset.house_style_sprites``) scaled by nearest neighbour to the
resolution; the hours of a full training are steps ÷ (steps/s).

Prints one JSON object (and writes it to ``--out`` if given). This is a bench
script, not part of the package.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pixelgen.core.dataset import house_style_sprites, upscale_nearest  # noqa: E402
from pixelgen.manifest.model import ModelSpec, TrainSpec  # noqa: E402


def model_spec(argument: str, revision: str | None, variant: str | None) -> ModelSpec:
    if argument == "builtin:tiny-sdxl":
        return ModelSpec(name="base", kind="builtin", source="tiny-sdxl")
    if Path(argument).is_dir():
        return ModelSpec(name="base", kind="diffusers_dir", source=str(Path(argument).resolve()), variant=variant)
    return ModelSpec(name="base", kind="hub", source=argument, revision=revision, variant=variant)


def dataset(count: int, resolution: int) -> list[tuple[Any, str]]:
    items = []
    for name, sprite in house_style_sprites(count):
        native = sprite[::8, ::8]  # the 8×8 sprite
        items.append((upscale_nearest(native, max(1, resolution // native.shape[0])), f"a {name.split('_')[0]} creature, house style"))
    return items


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from pixelgen.render.train import train_lora

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = TrainSpec(images="-", base="base", rank=args.rank, alpha=float(args.rank), steps=args.steps, lr=1e-4,
                         resolution=args.resolution, batch_size=args.batch_size, seed=0, precision=args.precision,
                         gradient_checkpointing=args.gradient_checkpointing, checkpoint_every=10**9)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    stamps: list[float] = []

    def on_step(step: int, loss: float) -> None:
        if cuda:
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    cache = Path(args.cache_dir)
    started = time.perf_counter()
    result = train_lora(model_spec(args.model, args.revision, args.variant), settings, dataset(args.images, args.resolution),
                        cache_dir=cache, device=args.device, on_step=on_step)
    total = time.perf_counter() - started
    timed = stamps[args.warmup:]
    steps_per_second = (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) > 1 else None
    return {
        "model": args.model,
        "device": "cuda" if cuda else "cpu",
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "images": args.images,
        "resolution": args.resolution,
        "rank": args.rank,
        "batch_size": args.batch_size,
        "precision": args.precision if cuda else "fp32",
        "gradient_checkpointing": args.gradient_checkpointing,
        "steps": args.steps,
        "warmup_steps": args.warmup,
        "setup_seconds": round(stamps[0] - started, 3) if stamps else None,
        "steps_per_second": None if steps_per_second is None else round(steps_per_second, 3),
        "seconds_per_step": None if not steps_per_second else round(1 / steps_per_second, 4),
        "total_seconds": round(total, 3),
        "hours_for_3000_steps": None if not steps_per_second else round(3000 / steps_per_second / 3600, 3),
        "peak_cuda_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else None,
        "lora_bytes": len(result.lora),
        "loss_first_last": [round(result.losses[0], 5), round(result.losses[-1], 5)],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="builtin:tiny-sdxl", help="builtin:tiny-sdxl, a local diffusers folder, or a hub repo id (in the HF cache)")
    parser.add_argument("--revision")
    parser.add_argument("--variant")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10, help="steps not timed (allocator and kernel warm-up)")
    parser.add_argument("--precision", choices=["bf16", "fp16", "fp32"], default="bf16", help="on a GPU; a CPU trains in fp32")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--cache-dir", default=str(REPO / ".pixelgen" / "cache"), help="where the tiny model is built")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.steps <= args.warmup + 1:
        parser.error("--steps must exceed --warmup by at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
