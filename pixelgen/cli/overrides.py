"""``pixelgen adopt`` and ``pixelgen rebase-override`` on the command line: hand touch-ups (see :mod:`pixelgen.core.overrides`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import click

from pixelgen.cli import (
    _friendly,
    _json_option,
    _options,
    _print_json,
    _verbosity,
    cache_option,
    cli,
    manifest_argument,
    out_option,
)


def _held(manifest: Path, options: Any) -> Iterator[Any]:
    """The workspace, read while this manifest's build lock and the cache are held (no build interleaves)."""
    from contextlib import contextmanager

    from pixelgen.commands.build import _build_lock
    from pixelgen.core.store import CacheLock
    from pixelgen.core.workspace import open_workspace

    @contextmanager
    def held() -> Iterator[Any]:
        ws = open_workspace(manifest, options)
        with _build_lock(manifest, options.lock_wait_seconds), CacheLock(ws.cache_dir, exclusive=False, wait_seconds=options.lock_wait_seconds):
            yield open_workspace(manifest, options)  # read again: a build may have finished while we waited

    return held()


@cli.command()
@manifest_argument
@click.argument("outputs", nargs=-1)
@click.option("--all-modified", is_flag=True, help="Adopt every output whose file differs from what pixelgen wrote.")
@out_option
@cache_option
@_json_option()
@_verbosity
@_friendly
def adopt(manifest: Path, outputs: tuple[str, ...], all_modified: bool, out: Path | None, cache_dir: Path | None, as_json: bool) -> None:
    """Record hand-edited OUTPUTS (e.g. hero/seed1.png) as overrides that later builds keep."""
    from pixelgen.core.overrides import adopt as run_adopt

    with _held(manifest, _options(out=out, cache_dir=cache_dir, progress=False)) as ws:
        result = run_adopt(ws, outputs, all_modified=all_modified)
        lock_name = ws.manifest.lock_path.name
    if as_json:
        _print_json({"adopted": result.adopted, "unchanged": result.unchanged, "files": result.files})
        return
    for path in result.adopted:
        where = f" (kept in {result.files[path]})" if path in result.files else ""
        click.echo(f"adopted {path}{where}")
    for path in result.unchanged:
        click.echo(f"note: {path} is not edited: nothing to adopt", err=True)
    if result.adopted:
        click.echo(f"recorded in {lock_name}; `pixelgen build {manifest}` re-packs sheets and rewrites the records with the touch-ups")


@cli.command("rebase-override")
@manifest_argument
@click.argument("outputs", nargs=-1)
@click.option("--all", "all_stale", is_flag=True, help="Rebase every override that is based on an old render.")
@click.option("--prefer", type=click.Choice(["override", "render"]), default=None,
              help="Resolve pixels changed both by hand and upstream: keep the touch-up's, or take the new render's.")
@out_option
@cache_option
@_json_option()
@_verbosity
@_friendly
def rebase_override(manifest: Path, outputs: tuple[str, ...], all_stale: bool, prefer: str | None, out: Path | None, cache_dir: Path | None,
                    as_json: bool) -> None:
    """Move the pixel edits of stale overrides onto their new renders (exit 1 on conflicts, with a conflict image)."""
    from dataclasses import asdict

    from pixelgen.core.overrides import rebase, stale_overrides
    from pixelgen.errors import InputError

    with _held(manifest, _options(out=out, cache_dir=cache_dir, progress=False)) as ws:
        targets = list(outputs) + ([path for path in stale_overrides(ws.plan, ws.lock) if path not in outputs] if all_stale else [])
        if not targets:
            raise InputError("nothing to rebase: name outputs (e.g. hero/seed1.png) or pass --all")
        outcomes = rebase(ws, targets, prefer=prefer)
        out_dir = ws.out_dir
    conflicted = [o for o in outcomes if o.status == "conflicts"]
    if as_json:
        _print_json([asdict(outcome) for outcome in outcomes])
    else:
        for outcome in outcomes:
            if outcome.status == "rebased":
                resolved = f", {outcome.conflicts} conflicting pixel(s) resolved with --prefer {prefer}" if outcome.conflicts else ""
                click.echo(f"rebased {outcome.path}: {outcome.edited_pixels} edited pixel(s) applied to the new render{resolved}")
            elif outcome.status == "current":
                click.echo(f"{outcome.path}: the override is already based on the current render")
            else:
                click.echo(f"conflicts in {outcome.path}: {outcome.conflicts} pixel(s) changed both by hand and in the new render; "
                           f"the old override is kept. See {out_dir / outcome.conflict_image} (old render | override | new render | conflicts)",
                           err=True)
        if conflicted:
            click.echo("    fix: touch up the new render by hand and adopt it, or rerun with --prefer override|render", err=True)
        if any(outcome.status == "rebased" for outcome in outcomes):
            click.echo(f"next: `pixelgen build {manifest}` re-packs sheets and rewrites the records with the rebased touch-ups")
    if conflicted:
        sys.exit(1)
