"""``pixelgen train`` and ``pixelgen dataset check|prepare``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pixelgen.cli import (
    _friendly,
    _json_option,
    _options,
    _print_json,
    _quiet,
    _verbosity,
    cache_option,
)
from pixelgen.errors import EXIT_FAILURE, InputError


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("loras", nargs=-1)
@cache_option
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--force", is_flag=True, help="Train again even when the cache has the LoRA (and ignore its checkpoints).")
@click.option("--gates", type=click.Choice(["error", "warn"]), default="error", show_default=True, help="warn: report training-gate violations without failing.")
@_json_option("Print the outcome per LoRA as JSON on stdout.")
@_verbosity
@_friendly
def train(manifest: Path, loras: tuple[str, ...], cache_dir: Path | None, device: str, force: bool, gates: str, as_json: bool) -> None:
    """Train the LoRAs MANIFEST declares with `train:` (only LORA… if given); nothing else is built."""
    from pixelgen.core.store import CacheLock
    from pixelgen.core.training import (
        TrainProgress,
        run_trainings,
        training_gate_violations,
    )
    from pixelgen.core.workspace import BuildOptions, open_workspace

    ws = open_workspace(manifest, _options(cache_dir=cache_dir))
    declared = sorted(ws.plan.trainings)
    unknown = sorted(set(loras) - set(declared))
    if unknown:
        raise InputError(f"{manifest}: no LoRA with `train:` named {', '.join(map(repr, unknown))}\n"
                         f"    fix: name one of: {', '.join(declared) or '(none declared)'}")
    names = list(loras) or declared
    if not names and not as_json:
        click.echo(f"{ws.manifest.name}: no LoRA is declared with `train:`")
    progress = TrainProgress(None if as_json or _quiet() else sys.stderr)
    with CacheLock(ws.cache_dir, exclusive=False, wait_seconds=BuildOptions().lock_wait_seconds):
        outcomes = run_trainings(ws, names, device=device, force=force, progress=progress)
    violations = training_gate_violations({name: ws.plan.trainings[name] for name in names}, ws.store)
    result = []
    for name in names:
        outcome = outcomes[name]
        metrics = outcome.meta.get("metrics", {})
        result.append({"lora": name, "key": outcome.key, "trained": outcome.trained, "path": str(outcome.path),
                       "steps": outcome.meta.get("steps"), "resumed_from": outcome.meta.get("resumed_from", 0),
                       "seconds": outcome.meta.get("seconds"), "metrics": metrics})
        if not as_json:
            resumed = f" (resumed at step {outcome.meta['resumed_from']})" if outcome.meta.get("resumed_from") else ""
            how = f"trained in {outcome.meta.get('seconds', 0):.1f} s{resumed}" if outcome.trained else "up to date (from the cache)"
            loss = f", loss {metrics['first_loss']:.4f} → {metrics['final_loss']:.4f}" if metrics.get("final_loss") is not None else ""
            click.echo(f"{name}: {how}, {outcome.meta.get('steps')} steps{loss} → {outcome.path}")
    if violations and not as_json:
        from pixelgen.quality.gates import format_violations

        word = "failed" if gates == "error" else "warning (--gates warn)"
        click.echo(f"training gates {word}: {len(violations)} violation(s)", err=True)
        click.echo(format_violations(violations), err=True)
    if as_json:
        _print_json({"manifest": ws.manifest.name, "loras": result, "gate_violations": [v.to_dict() for v in violations]})
    if violations and gates == "error":
        sys.exit(EXIT_FAILURE)


@click.group()
@_json_option("Print the subcommand's result as JSON (also accepted after the subcommand).")
@_verbosity
@click.pass_context
def dataset(ctx: click.Context, as_json: bool) -> None:
    """Check or prepare a folder of training images."""
    ctx.ensure_object(dict)["json"] = as_json


def _json_asked(as_json: bool) -> bool:
    context = click.get_current_context(silent=True)
    parent = context.parent.obj if context is not None and context.parent is not None and context.parent.obj else {}
    return as_json or bool(parent.get("json"))


@dataset.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--captions", default="sidecar", show_default=True, help="sidecar, filename or prompt:TEXT (as in the manifest).")
@_json_option("Print the report as JSON on stdout.")
@_verbosity
@_friendly
def check(folder: Path, captions: str, as_json: bool) -> None:
    """Sizes, duplicates (by content), missing captions, images that are not pixel art, unusable files. Exit 2 on an unusable file."""
    from pixelgen.core.dataset import check_dataset

    as_json = _json_asked(as_json)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder\n    fix: give the folder of training images")
    report = check_dataset(folder, captions)
    if as_json:
        _print_json(report)
    else:
        click.echo(f"{folder}: {report['images']} images; sizes: " + ", ".join(f"{size} ×{count}" for size, count in report["sizes"].items()))
        for names in report["duplicates"]:
            click.echo(f"  duplicate: {', '.join(names)} (same bytes)")
        if report["missing_captions"]:
            click.echo(f"  missing captions ({len(report['missing_captions'])}, the file name is used): {', '.join(report['missing_captions'][:8])}"
                       + (" …" if len(report["missing_captions"]) > 8 else ""))
        for name, reason in report["not_pixel_art"].items():
            click.echo(f"  not pixel art? {name}: {reason}")
        for problem in report["problems"]:
            click.echo(f"error: {folder / problem['file']} {problem['message']}\n    fix: {problem['fix']}", err=True)
    if report["problems"]:
        sys.exit(2)


@dataset.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--from-sprites", "sprites", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder of native-resolution sprites to upscale (nearest neighbour) into FOLDER, captions from their file names.")
@click.option("--resolution", type=click.IntRange(8, 4096), default=1024, show_default=True, help="Training resolution to upscale towards (integer factors only).")
@_json_option()
@_verbosity
@_friendly
def prepare(folder: Path, sprites: Path, resolution: int, as_json: bool) -> None:
    """Fill FOLDER with training images: each sprite upscaled by the largest integer factor that fits RESOLUTION, and a caption file."""
    from pixelgen.core.dataset import prepare_from_sprites

    as_json = _json_asked(as_json)
    if not sprites.is_dir():
        raise InputError(f"{sprites}: no such folder\n    fix: give the folder of sprites (--from-sprites)")
    written = prepare_from_sprites(sprites, folder, resolution=resolution)
    if as_json:
        _print_json({"folder": str(folder), "written": written})
    else:
        click.echo(f"{folder}: {len(written)} images and captions written")


def register(cli: Any) -> None:
    cli.add_command(train)
    cli.add_command(dataset)
