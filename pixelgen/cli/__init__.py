"""Command-line interface. Errors become one clear message and an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click

from pixelgen import __version__
from pixelgen.errors import EXIT_FAILURE, InputError, PixelgenError

log = logging.getLogger("pixelgen")


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _setup_logging(logging.INFO)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _setup_logging(logging.ERROR)


def _quiet() -> bool:
    return log.level >= logging.ERROR


def _verbosity(func: Callable[..., Any]) -> Callable[..., Any]:
    """-v/-q, accepted before the command (``pixelgen -v build``) and after it (``pixelgen build -v``)."""
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                        help="Print errors only: no progress, no warnings.")(func)
    return click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose,
                        help="Print informational messages too, and the traceback of an unexpected error.")(func)


def _json_option(help_text: str = "Print the result as JSON on stdout.") -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """The error boundary: whatever goes wrong ends as one message and an exit code, never a traceback.

    pixelgen's own errors carry their exit code (2 bad input, 1 build or
    environment). Anything else is a failure nobody has worded yet: it is
    reported in one line (its traceback with ``-v``) and exits 1.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PixelgenError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if kwargs.get("as_json"):
                problems = [vars(problem) for problem in getattr(exc, "problems", [])]
                _print_json({"error": exc.message, "exit_code": exc.exit_code, "problems": problems})
            sys.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except MemoryError:
            click.echo("error: out of memory; build fewer images at once (--batch-size 1, --only ID) or free memory", err=True)
            sys.exit(EXIT_FAILURE)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            _traceback_if_verbose()
            sys.exit(EXIT_FAILURE)
        except Exception as exc:  # noqa: BLE001 - the boundary: nothing escapes as a traceback
            click.echo(f"error: {type(exc).__name__}: {_one_line(str(exc))}", err=True)
            click.echo("    this failure has no clearer message yet; rerun with -v to see where it happened, and report it", err=True)
            _traceback_if_verbose()
            sys.exit(EXIT_FAILURE)

    return wrapper


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _traceback_if_verbose() -> None:
    if log.isEnabledFor(logging.INFO):
        import traceback

        click.echo(traceback.format_exc(), err=True, nl=False)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pixelgen")
@click.option("-v", "--verbose", is_flag=True, help="Print informational messages too.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def cli(verbose: bool, quiet: bool) -> None:
    """pixelgen: declarative, content-addressed pixel-art generation for games."""
    _setup_logging(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


manifest_argument = click.argument("manifest", type=click.Path(path_type=Path, dir_okay=False))
manifests_argument = click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))


@cli.command()
@click.option("--markdown", is_flag=True, help="Print the reference of every manifest key (docs/manifest.md) instead.")
@_json_option("The schema is JSON already; accepted so every command takes --json.")
@_verbosity
def schema(markdown: bool, as_json: bool) -> None:
    """Print the manifest JSON Schema (version 1)."""
    from pixelgen.manifest import manifest_schema_text

    if markdown:
        from pixelgen.manifest.reference import manifest_reference_markdown

        click.echo(manifest_reference_markdown(), nl=False)
        return
    click.echo(manifest_schema_text(), nl=False)


@cli.command()
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path, file_okay=False))
@_json_option()
@_verbosity
@_friendly
def init(folder: Path, as_json: bool) -> None:
    """Start a game repo: a commented manifest, a palette, and a .gitignore for the cache and outputs."""
    from pixelgen.commands.init import scaffold

    written = scaffold(folder)
    manifest = written[0]
    if as_json:
        _print_json({"written": [str(path) for path in written], "manifest": str(manifest)})
        return
    for path in written:
        click.echo(f"wrote {path}")
    shown = manifest.relative_to(folder) if folder != Path(".") else manifest
    where = f"cd {folder} && " if folder != Path(".") else ""
    click.echo(f"next: {where}pixelgen build {shown}   (the built-in tiny model: a minute on a CPU, no downloads)")


def _each_manifest(manifests: tuple[Path, ...], as_json: bool, one: Callable[[Path], tuple[int, Any]]) -> None:
    """Run ``one`` per manifest (as pre-commit passes several); a failure of one does not hide the others.

    ``one`` returns (exit code, JSON value). The exit code is the worst of all.
    """
    results = []
    worst = 0
    for manifest in manifests:
        try:
            code, value = one(manifest)
        except PixelgenError as exc:
            if len(manifests) == 1:
                raise
            click.echo(f"error: {exc.message}", err=True)
            problems = [vars(problem) for problem in getattr(exc, "problems", [])]
            code, value = exc.exit_code, {"manifest": str(manifest), "error": exc.message, "exit_code": exc.exit_code, "problems": problems}
        results.append(value)
        worst = max(worst, code)
    if as_json:
        _print_json(results[0] if len(manifests) == 1 else results)
    if worst:
        sys.exit(worst)


@cli.command()
@manifests_argument
@_json_option()
@_verbosity
@_friendly
def validate(manifests: tuple[Path, ...], as_json: bool) -> None:
    """Check manifests; report every problem at once (exit 2 on any)."""
    from pixelgen.core.resolve import resolve
    from pixelgen.core.workspace import default_cache_dir
    from pixelgen.files.hashing import FileDigestCache
    from pixelgen.manifest import load_manifest

    def one(manifest: Path) -> tuple[int, Any]:
        # The schema and references, then the files it names (weights that do not open, pins); not the lock or outputs.
        loaded = load_manifest(manifest)
        digests = default_cache_dir(manifest) / "file-digests.json"
        resolve(loaded, FileDigestCache(digests if digests.parent.is_dir() else None))
        images = sum(len(asset.images) for asset in loaded.assets)
        if not as_json:
            click.echo(f"{manifest}: valid ({len(loaded.assets)} assets, {images} images)")
        return 0, {"manifest": str(manifest), "valid": True, "assets": len(loaded.assets), "images": images}

    _each_manifest(manifests, as_json, one)


def _options(**kwargs: Any):
    from pixelgen.core.workspace import BuildOptions

    return BuildOptions(**{k: v for k, v in kwargs.items() if v is not None})


class _CacheLocation(click.ParamType):
    """A cache folder, or a shared cache URL (s3://bucket/prefix) kept as text: a Path would fold its '//'."""

    name = "folder|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pixelgen.core.remote_store import is_url

        if isinstance(value, Path) or not is_url(value):
            return click.Path(path_type=Path, file_okay=False).convert(value, param, ctx)
        return str(value)


cache_option = click.option(
    "--cache-dir", type=_CacheLocation(), envvar="PIXELGEN_CACHE",
    help="Cache folder, or a shared cache URL such as s3://bucket/prefix (default: .pixelgen/cache beside the manifest; env PIXELGEN_CACHE).",
)
out_option = click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Output root (default: ./assets_out).")
only_option = click.option("--only", multiple=True, metavar="ID", help="Only these asset ids (repeatable).")


@cli.command()
@manifest_argument
@out_option
@cache_option
@only_option
@_json_option("Print the jobs and their keys as JSON.")
@_verbosity
@_friendly
def plan(manifest: Path, out: Path | None, cache_dir: Path | None, only: tuple[str, ...], as_json: bool) -> None:
    """Expand a manifest into content-addressed jobs and show what is stale and why."""
    from dataclasses import asdict

    from pixelgen.commands.status import compute_status
    from pixelgen.core.workspace import open_workspace

    options = _options(out=out, cache_dir=cache_dir, only=frozenset(only) or None)
    ws = open_workspace(manifest, options)
    states = {state.asset_id: state for state in compute_status(ws.plan, ws.lock, ws.out_dir, selection=options.only)}
    if as_json:
        _print_json(
            {
                "manifest": ws.manifest.name,
                "renders": [asdict(job) for job in ws.plan.renders.values()],
                "trainings": [{"lora": job.lora, "key": job.key, "base": job.spec.base, "images": len(job.images), "steps": job.spec.steps}
                              for job in ws.plan.trainings.values()],
                "assets": [
                    {
                        "id": asset_plan.asset.id,
                        "kind": asset_plan.asset.kind,
                        "up_to_date": states[asset_plan.asset.id].up_to_date,
                        "reasons": states[asset_plan.asset.id].reasons,
                        "depends_on": list(asset_plan.depends_on),
                        "posts": [asdict(post) for post in asset_plan.posts],
                    }
                    for asset_plan in ws.plan.assets
                ],
                "removed": [s.asset_id for s in states.values() if s.removed],
            }
        )
        return
    click.echo(f"{ws.manifest.name}: {len(ws.plan.assets)} assets, {len(ws.plan.renders)} render jobs, {len(ws.plan.posts)} post-process jobs")
    for job in ws.plan.trainings.values():
        click.echo(f"  training LoRA {job.lora}: {len(job.images)} images, {job.spec.steps} steps on {job.spec.base}, key {job.key[:12]}")
    _print_states(list(states.values()), keys={a.asset.id: a for a in ws.plan.assets}, needs=_asset_edges(ws.plan))


def _asset_edges(plan: Any) -> dict[str, tuple[str, ...]]:
    """Asset id → the assets whose renders it needs (the DAG's edges between assets)."""
    return {asset_plan.asset.id: asset_plan.depends_on for asset_plan in plan.assets if asset_plan.depends_on}


def _print_states(states: list, keys: dict | None = None, needs: dict | None = None) -> None:
    for state in states:
        edge = f"  (needs {', '.join(needs[state.asset_id])})" if needs and state.asset_id in needs else ""
        if state.removed:
            click.echo(f"  - {state.asset_id:<28} removed from the manifest")
        elif state.up_to_date:
            click.echo(f"  ✓ {state.asset_id:<28} up to date{edge}")
        else:
            click.echo(f"  ✗ {state.asset_id:<28} {', '.join(state.reasons)}{edge}")
        if keys and state.asset_id in keys:
            for post in keys[state.asset_id].posts:
                click.echo(f"      {post.output:<34} render {post.render_key[:12]}  post {post.key[:12]}")


@cli.command()
@manifests_argument
@out_option
@cache_option
@_json_option()
@_verbosity
@_friendly
def status(manifests: tuple[Path, ...], out: Path | None, cache_dir: Path | None, as_json: bool) -> None:
    """Show, per asset, whether it is up to date and, if not, why."""
    from pixelgen.commands.status import compute_status
    from pixelgen.core.workspace import open_workspace

    def one(manifest: Path) -> tuple[int, Any]:
        from pixelgen.core.overrides import stale_overrides

        ws = open_workspace(manifest, _options(out=out, cache_dir=cache_dir))
        states = compute_status(ws.plan, ws.lock, ws.out_dir)
        stale = sum(1 for s in states if not s.up_to_date)
        overrides = stale_overrides(ws.plan, ws.lock)
        from pixelgen.core.training import training_status

        loras = training_status(ws.plan.trainings, ws.lock.loras if ws.lock else {}, ws.store)
        if not as_json:
            click.echo(f"{ws.manifest.name}: {len(states) - stale} up to date, {stale} stale")
            for lora in loras:
                click.echo(f"  {'✓' if lora['up_to_date'] else '✗'} LoRA {lora['lora']:<23} " + (", ".join(lora["reasons"]) or "trained, up to date"))
            _print_states(states, needs=_asset_edges(ws.plan))
            for message in overrides.values():
                click.echo(f"  ! {message}")
        needs = _asset_edges(ws.plan)
        return 0, {"manifest": ws.manifest.name, "loras": loras, "assets": [
            {"id": s.asset_id, "up_to_date": s.up_to_date, "removed": s.removed, "reasons": s.reasons,
             "depends_on": list(needs.get(s.asset_id, ()))} for s in states],
            "stale_overrides": overrides}

    _each_manifest(manifests, as_json, one)


@cli.command()
@manifests_argument
@out_option
@cache_option
@only_option
@click.option("--force", is_flag=True, help="Ignore the cache: render and post-process again.")
@click.option("--check", is_flag=True, help="Render nothing; exit 1 if the lock, outputs or records are out of date.")
@click.option("--batch-size", type=click.IntRange(1, 64), default=None,
              help="Images per pipeline call (default: $PIXELGEN_BATCH_SIZE, else batch-size in pixelgen.toml, else 1).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--dtype", type=click.Choice(["float16", "bfloat16"]), default=None, help="GPU precision (default float16; CPU always float32).")
@click.option("--keep-going", is_flag=True, help="Build every asset that can be built, then report failures.")
@click.option("--deploy", type=click.Path(path_type=Path, file_okay=False), help="Copy changed outputs atomically into this game asset folder.")
@click.option("--gates", type=click.Choice(["error", "warn"]), default="error", show_default=True, help="warn: report quality-gate violations without failing.")
@click.option("--metrics-file", type=click.Path(path_type=Path, dir_okay=False), help="Add this build's figures to a Prometheus text file (node_exporter textfile collector).")
@click.option("--strip-metadata", is_flag=True, help="Write PNGs without the parameters/pixelgen text chunks (shipping builds).")
@click.option("--sbom-timestamp", metavar="RFC3339", help="Write this timestamp into the SBOM (default: none, for reproducible bytes).")
@click.option("--overrides", "override_mode", type=click.Choice(["keep", "drop", "fail"]), default="keep", show_default=True,
              help="A hand touch-up based on an old render: keep it in place (and warn), drop it for the new render, or fail.")
@click.option("--shard", metavar="I/N", help="Render shard I of N (from 0) into the cache and write nothing else; N alone takes I from $JOB_COMPLETION_INDEX.")
@click.option("--finish", is_flag=True, help="After the shards: write outputs, lock and records from the cache; fail if a render is missing.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="Where renders and post-processing run: this process, or a Ray cluster (pip install 'pixelgen[ray]'). "
                   "Default: $PIXELGEN_EXECUTOR, else executor in pixelgen.toml or [tool.pixelgen], else local.")
@click.option("--ray-address", metavar="auto|HOST:PORT",
              help="The Ray cluster to join (default: $PIXELGEN_RAY_ADDRESS, else ray-address in the config file, else start one here).")
@_json_option("Print the summary as JSON on stdout (a list with several manifests).")
@_verbosity
@_friendly
def build(manifests: tuple[Path, ...], out: Path | None, cache_dir: Path | None, only: tuple[str, ...], force: bool, check: bool,
          batch_size: int | None, device: str, dtype: str | None, keep_going: bool, deploy: Path | None, gates: str, metrics_file: Path | None,
          strip_metadata: bool, sbom_timestamp: str | None, override_mode: str, shard: str | None, finish: bool, executor: str | None,
          ray_address: str | None, as_json: bool) -> None:
    """Build the assets of each MANIFEST (only what changed)."""
    from dataclasses import asdict
    from types import SimpleNamespace

    if len(manifests) > 1:
        from pixelgen.manifest import load_manifest

        for manifest in manifests:  # every manifest valid before any is built
            load_manifest(manifest)
    # Nothing changed since the last build: answered from file stats, before the build machinery is even imported.
    may_shortcut = not (only or force or deploy or metrics_file or shard)
    shard_of_n = None
    if shard is not None:
        from pixelgen.core.shard import parse_shard

        shard_of_n = parse_shard(shard)
        if finish or check:
            raise InputError("--shard renders into the cache only; it cannot be combined with --finish or --check")

    def one(manifest: Path) -> tuple[int, Any]:
        from pixelgen.core.config import build_settings

        # Flag > environment > config file > default; a bad config file stops here (exit 2), before anything is written.
        settings = build_settings(manifest, {"executor": executor, "ray_address": ray_address, "batch_size": batch_size})
        log.info("%s: %s", manifest, settings.describe())
        if may_shortcut:
            from pixelgen.core.noop import shortcut

            recorded = shortcut(manifest, out=out, cache_dir=cache_dir, strip_metadata=strip_metadata,
                                sbom_timestamp=sbom_timestamp, gates=gates, overrides=override_mode)
            if recorded is not None:
                return _report_build(SimpleNamespace(**recorded), recorded, check, as_json)
        from pixelgen.commands.build import build as run_build

        options = _options(
            out=out, cache_dir=cache_dir, only=frozenset(only) or None, force=force, check=check,
            batch_size=settings.batch_size.value, device=device, dtype=dtype, keep_going=keep_going, progress=not (as_json or _quiet()),
            sbom_timestamp=sbom_timestamp, strip_metadata=strip_metadata, metrics_file=metrics_file, gates=gates, deploy=deploy,
            overrides=override_mode, shard=shard_of_n, finish=finish or None, executor=settings.executor.value,
            ray_address=settings.ray_address.value, executor_from=settings.executor.source,
        )
        # With --json, stdout is the summary alone: whatever a library prints meanwhile (Ray's worker notices) goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            summary = run_build(manifest, options)
        return _report_build(summary, asdict(summary), check, as_json)

    _each_manifest(manifests, as_json, one)


def _report_build(summary: Any, as_dict: dict[str, Any], check: bool, as_json: bool) -> tuple[int, Any]:
    """Print a build's summary; its exit code and JSON form."""
    if check:
        if summary.stale and not as_json:
            click.echo(f"{summary.manifest}: {len(summary.stale)} asset(s) out of date:")
            for item in summary.stale:
                click.echo(f"  ✗ {item['asset']:<28} {', '.join(item['reasons'])}")
        elif not as_json:
            click.echo(f"{summary.manifest}: up to date")
        return (1 if summary.stale else 0), as_dict
    if not as_json:
        _print_summary(summary)
    return (1 if summary.failed or summary.gates_failed else 0), as_dict


def _print_summary(summary: Any) -> None:
    if _quiet():  # errors only: failed assets and gates
        for asset_id, message in sorted(summary.failed.items()):
            click.echo(f"  failed: {asset_id}: {message}", err=True)
        if summary.gates_failed:
            from pixelgen.quality.gates import GateViolation, format_violations

            click.echo(format_violations([GateViolation(**v) for v in summary.gate_violations]), err=True)
        return
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    # Group identical notes ("use_declared: confidence 0.00 < 0.5") across images.
    grouped: dict[str, list[str]] = {}
    for note in summary.notes:
        output, _, text = note.partition(": ")
        grouped.setdefault(text, []).append(output)
    for text, outputs in grouped.items():
        shown = ", ".join(outputs[:4]) + (f" and {len(outputs) - 4} more" if len(outputs) > 4 else "")
        click.echo(f"note: {text} ({shown})", err=True)
    for path, ratio in sorted(summary.seam_errors.items()):
        shown = "n/a" if ratio is None else f"{ratio:.2f}"
        click.echo(f"seam: {path}: wrap-around seam error {shown} (seam ÷ interior neighbour difference; ≤ 1 tiles cleanly)", err=True)
    if summary.deploy_dir:
        removed = f", {len(summary.undeployed)} removed" if summary.undeployed else ""
        click.echo(f"deploy: {len(summary.deployed)} file(s) replaced{removed} in {summary.deploy_dir} in {summary.deploy_ms:.1f} ms", err=True)
    rate = f", {summary.images_per_second:.2f} img/s" if summary.images_per_second else ""
    click.echo(
        f"{summary.manifest}: {summary.built} built, {summary.cached} from cache, {summary.up_to_date} up to date, "
        f"{len(summary.removed)} removed, {len(summary.failed)} failed; {summary.rendered} rendered "
        f"in {summary.seconds:.2f} s{rate} → {summary.out_dir}"
    )
    for asset_id, message in sorted(summary.failed.items()):
        click.echo(f"  failed: {asset_id}: {message}", err=True)
    if summary.gate_violations:
        from pixelgen.quality.gates import GateViolation, format_violations

        word = "failed" if summary.gates_failed else "warning (--gates warn)"
        click.echo(f"quality gates {word}: {len(summary.gate_violations)} violation(s)", err=True)
        click.echo(format_violations([GateViolation(**v) for v in summary.gate_violations]), err=True)


@cli.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@cache_option
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@_json_option()
@_verbosity
@_friendly
def gc(manifests: tuple[Path, ...], cache_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove cache objects that no given manifest's lock references."""
    from pixelgen.commands.build import collect_garbage

    result = collect_garbage(list(manifests), cache_dir, dry_run=dry_run)
    if dry_run:
        if as_json:
            _print_json({"cache": str(result.cache_dir), "dry_run": True, "keep_renders": result.kept_renders, "keep_assets": result.kept_assets})
        else:
            click.echo(f"would keep {result.kept_renders} renders and {result.kept_assets} assets in {result.cache_dir}")
        return
    if as_json:
        _print_json({"cache": str(result.cache_dir), "removed": result.removed_entries, "freed_bytes": result.freed_bytes})
    else:
        click.echo(f"removed {result.removed_entries} cache entries, freed {result.freed_bytes / 1e6:.1f} MB in {result.cache_dir}")


@cli.command()
@manifest_argument
@out_option
@cache_option
@click.option("--render-sample", type=click.IntRange(0), default=0, show_default=True, help="Re-render N random assets and compare.")
@click.option("--seed", "sample_seed", type=int, default=0, show_default=True, help="Seed of the random sample.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--full", is_flag=True, help="Re-hash every model file too, ignoring the digest memo.")
@_json_option()
@_verbosity
@_friendly
def verify(manifest: Path, out: Path | None, cache_dir: Path | None, render_sample: int, sample_seed: int, device: str, full: bool,
           as_json: bool) -> None:
    """Re-hash every output and compare with its job's cache object, the lock and provenance (exit 1 on any mismatch)."""
    from pixelgen.commands.verify import verify as run_verify

    mismatches, notes = run_verify(manifest, _options(out=out, cache_dir=cache_dir, device=device, progress=False, full_hash=full),
                                   render_sample=render_sample, sample_seed=sample_seed)
    if as_json:
        _print_json({"verified": not mismatches, "mismatches": [{"subject": m.subject, "message": m.message} for m in mismatches], "notes": notes})
        if mismatches:
            sys.exit(1)
        return
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if mismatches:
        click.echo(f"{len(mismatches)} mismatch(es):")
        for mismatch in mismatches:
            click.echo(f"  ✗ {mismatch.render()}")
        sys.exit(1)
    click.echo("verified: every output matches the lock and the provenance")


@cli.command()
@manifest_argument
@out_option
@cache_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.option("--timestamp", metavar="RFC3339", help="Timestamp to record (default: none, reproducible).")
@_json_option("The SBOM is JSON already; accepted so every command takes --json.")
@_verbosity
@_friendly
def sbom(manifest: Path, out: Path | None, cache_dir: Path | None, output: Path | None, timestamp: str | None, as_json: bool) -> None:
    """Print (or write) the CycloneDX 1.6 SBOM of the last build of MANIFEST."""
    from pixelgen.core.workspace import open_workspace
    from pixelgen.files.fsutil import dump_json, write_text_atomic
    from pixelgen.files.hashing import FileDigestCache
    from pixelgen.records.buildinfo import build_info, default_tasks, utc_now
    from pixelgen.records.provenance import check_timestamp
    from pixelgen.records.sbom import build_sbom, validate_sbom

    if timestamp is not None:
        try:
            check_timestamp(timestamp, "--timestamp")
        except ValueError as exc:
            raise InputError(str(exc)) from None
    ws = open_workspace(manifest, _options(out=out, cache_dir=cache_dir))
    if ws.lock is None:
        raise PixelgenError(f"{ws.manifest.lock_path}: no lock file; build {manifest} first")
    info = build_info(ws, ws.lock, started_at=utc_now(), selection=None, tasks=default_tasks(ws.lock),
                      digests=FileDigestCache(ws.cache_dir / "file-digests.json"))
    document = build_sbom(info, timestamp=timestamp)
    validate_sbom(document)
    if output:
        write_text_atomic(output, dump_json(document))
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(dump_json(document), nl=False)


@cli.command()
@manifest_argument
@out_option
@cache_option
@click.option("--against", default="HEAD", show_default=True, help="A git ref of the lock file, or a path to another lock file.")
@click.option("--overrides", "show_overrides", is_flag=True, help="Instead: each hand touch-up as old render | override | new render | edited pixels.")
@_json_option()
@_verbosity
@_friendly
def diff(manifest: Path, out: Path | None, cache_dir: Path | None, against: str, show_overrides: bool, as_json: bool) -> None:
    """Per changed asset: metric deltas and side-by-side images against another version of the lock."""
    from dataclasses import asdict

    from pixelgen.commands.diff import diff_outputs, read_other_lock
    from pixelgen.core.workspace import open_workspace

    ws = open_workspace(manifest, _options(out=out, cache_dir=cache_dir))
    if show_overrides:
        from pixelgen.core.overrides import diff_overrides

        items = diff_overrides(ws)
        if as_json:
            _print_json(items)
            return
        click.echo(f"{ws.manifest.name}: {len(items)} override(s)")
        for item in items:
            state = "stale: " + ", ".join(item["reasons"]) if item["stale"] else "current"
            shown = f"  [{ws.out_dir / item['image']}]" if item["image"] else f"  ({item.get('note')})"
            click.echo(f"  {item['path']:<32} {state}, {item.get('edited_pixels', '?')} px edited by hand{shown}")
        return
    changes = diff_outputs(ws, read_other_lock(ws.manifest.lock_path, against, ws.manifest.name))
    if as_json:
        _print_json([asdict(change) for change in changes])
        return
    if not changes:
        click.echo(f"{ws.manifest.name}: no output differs from {against}")
        return
    click.echo(f"{ws.manifest.name}: {len(changes)} output(s) differ from {against}")
    for change in changes:
        m = change.metrics
        detail = ""
        if "ssim" in m:
            colours = m.get("colors_used") or ["?", "?"]
            detail = f"SSIM {m['ssim']}, PSNR {m['psnr']}, colours {colours[0]} → {colours[1]}, {m.get('changed_pixels')} px changed"
        elif m.get("note"):
            detail = m["note"]
        image = f"  [{ws.out_dir / change.image}]" if change.image else ""
        click.echo(f"  {change.status:<8} {change.path:<32} {detail}{image}")


@cli.command()
@manifest_argument
@out_option
@cache_option
@click.option("--deploy", type=click.Path(path_type=Path, file_okay=False), help="Game asset folder to deploy into after each build.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--interval", type=click.FloatRange(0.01, 10), default=0.2, show_default=True,
              help="Debounce: seconds of quiet after a change before rebuilding (and the polling period with --poll).")
@click.option("--poll", is_flag=True, default=None, help="Poll for changes instead of using file-system events (network and bind mounts).")
@click.option("--max-builds", type=click.IntRange(1), help="Stop after this many builds (for scripts and tests).")
@_json_option("Print one JSON object per build (a line each) instead of a sentence.")
@_verbosity
@_friendly
def watch(manifest: Path, out: Path | None, cache_dir: Path | None, deploy: Path | None, device: str, batch_size: int,
          interval: float, poll: bool | None, max_builds: int | None, as_json: bool) -> None:
    """Rebuild and deploy whenever the manifest or a file it names changes."""
    from pixelgen.commands.watch import watch as run_watch

    options = _options(out=out, cache_dir=cache_dir, deploy=deploy, device=device, batch_size=batch_size, progress=False, gates="warn")
    run_watch(manifest, options, echo=lambda line: click.echo(line, err=False), interval=interval, max_builds=max_builds,
              as_json=as_json, poll=poll or None)


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 32x32") from None
    if not (0 < width <= 1024 and 0 < height <= 1024):
        raise click.BadParameter(f"{value!r}: width and height must be between 1 and 1024")
    return width, height


# `colors` is chosen through --palette (auto / keep / a palette), so it has no flag of its own.
_PIXELART_FLAGLESS = frozenset({"colors"})


def _pixelart_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """One flag per pixel-art option, from the declaration the manifest and the engine share."""
    from pixelgen.pixelart.options import option_specs

    for spec in reversed(option_specs()):
        if spec.name in _PIXELART_FLAGLESS:
            continue
        if spec.choices is not None:
            kind: Any = click.Choice(spec.choices)
        elif spec.kind == "integer":
            kind = click.IntRange(spec.minimum, spec.maximum)
        elif spec.kind == "number":
            kind = click.FloatRange(spec.minimum, spec.maximum)
        else:
            kind = str
        func = click.option(spec.flag, spec.name, type=kind, default=spec.default, show_default=spec.default is not None,
                            metavar=spec.metavar, help=spec.help.replace("null", "unset"))(func)
    return func


@cli.command()
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output image: .png (or lossless .webp).")
@click.option("--size", "size_text", metavar="WxH", help="Final size; default: one pixel per detected cell.")
@click.option("--palette", metavar="NAME|FILE|auto|auto:N|keep",
              help="Built-in palette, a .hex/.gpl/.pal/.png file, auto:N (learn N colours); default auto: the art's own colours, "
                   "near-identical ones merged; keep: every cell colour.")
@_pixelart_options
@click.option("--background", type=click.Choice(["transparent", "remove", "keep"]), default="keep", show_default=True,
              help="transparent: remove a uniform backdrop connected to the border (a scene is kept); "
                   "remove: remove the border colour's region even when the image looks like a scene.")
@click.option("--wrap", is_flag=True, help="Treat the image as a seamless tile (a torus).")
@click.option("--max-input-pixels", type=click.IntRange(1), default=4096 * 4096, show_default=True,
              help="Refuse larger inputs before decoding them.")
@click.option("--json", "as_json", is_flag=True, help="Print the report (grid hypotheses, confidence, timings) as one JSON object.")
@_friendly
def pixelize(image: Path, output: Path, size_text: str | None, palette: str | None, background: str, wrap: bool,
             max_input_pixels: int, as_json: bool, **pixelart: Any) -> None:
    """Turn one render into true pixel art (grid snap, clean colours, clean alpha).

    The best grid is always used, with a warning when its confidence is low;
    the command fails only when no pixel grid is visible at all (or with
    --on-grid-failure error), unless --size gives a size to cut the render into.
    Every option is the manifest's pixelart setting of the same name.
    """
    from pixelgen.commands import pixelize as pixelize_command

    report = pixelize_command.run(image, output, size=_parse_size(size_text), palette=palette, pixelart=pixelart,
                                  background=background, wrap=wrap, max_pixels=max_input_pixels)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    cell_x, cell_y = report["cell"]
    fallback = f"; fallback: {report['fallback']}" if report.get("fallback") else ""
    click.echo(f"{output}: {report['size'][0]}x{report['size'][1]}, cell {cell_x:g}x{cell_y:g}, "
               f"confidence {report['confidence']:.2f}, {report['colors']} colours{fallback}")


@cli.command()
@manifest_argument
@click.option("--vary", "vary", multiple=True, required=True, metavar="KEY=V1,V2,…",
              help="A setting and its values: model=…, lora.NAME.weight=…, seed=…, render.steps=…, palette=… (repeatable).")
@click.option("--assets", "assets", multiple=True, metavar="ID", help="Only these assets (repeatable; default: all).")
@out_option
@cache_option
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 64), default=1, show_default=True)
@_json_option()
@_verbosity
@_friendly
def compare(manifest: Path, vary: tuple[str, ...], assets: tuple[str, ...], out: Path | None, cache_dir: Path | None,
            device: str, batch_size: int, as_json: bool) -> None:
    """Render selected assets across variations into one grid PNG and an HTML page of scores (cached like builds)."""
    from pixelgen.commands.compare import compare as run_compare
    from pixelgen.commands.compare import parse_variation

    variations = [parse_variation(text) for text in vary]
    result = run_compare(manifest, variations, _options(out=out, cache_dir=cache_dir, device=device, batch_size=batch_size, progress=False),
                         assets=[a for text in assets for a in text.split(",") if a])
    if as_json:
        _print_json({"grid": str(result.grid), "page": str(result.page), "columns": result.columns, "rows": result.rows,
                     "rendered": result.rendered, "cached": result.cached, "cells": result.cells})
        return
    click.echo(f"{len(result.rows)} image(s) × {len(result.columns)} variation(s): {result.rendered} rendered, "
               f"{result.cached} from cache → {result.grid}, {result.page}")


@cli.command()
@manifest_argument
@out_option
@cache_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; the default keeps the page on this machine.")
@click.option("--deploy", type=click.Path(path_type=Path, file_okay=False), help="Also deploy into this game asset folder after each build.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--interval", type=click.FloatRange(0.01, 10), default=0.2, show_default=True, help="Seconds between checks for edits.")
@click.option("--allow-origin", metavar="ORIGIN", help="Let pages of this origin (e.g. http://localhost:5173, a game's dev server) read /events and /state.")
@_json_option("Print each status line as a JSON object.")
@_verbosity
@_friendly
def serve(manifest: Path, out: Path | None, cache_dir: Path | None, port: int, host: str, deploy: Path | None, device: str,
          batch_size: int, interval: float, allow_origin: str | None, as_json: bool) -> None:
    """A live page of the build (contact sheet, scores, gates, diffs), rebuilt and pushed on every edit."""
    from pixelgen.commands.serve import LiveServer

    options = _options(out=out, cache_dir=cache_dir, deploy=deploy, device=device, batch_size=batch_size, progress=False, gates="warn")
    try:
        server = LiveServer(manifest, options, host=host, port=port, interval=interval, allow_origin=allow_origin)
    except OSError as exc:
        raise PixelgenError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None
    server.serve(echo=lambda line: click.echo(json.dumps({"message": line}) if as_json else line))


@cli.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="HTTP port (on 127.0.0.1; endpoint /mcp).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=".", show_default=True,
              help="Every path a client names must lie inside this folder.")
@click.option("--out", default="assets_out", show_default=True, help="Output root, relative to --root.")
@_json_option("MCP speaks JSON-RPC already; accepted so every command takes --json.")
@_verbosity
@_friendly
def mcp_command(transport: str, port: int, root: Path, out: str, as_json: bool) -> None:
    """Serve pixelgen's tools and outputs over the Model Context Protocol (stdio, or HTTP on 127.0.0.1)."""
    import os

    from pixelgen.commands.mcp_server import run_server

    # Relative paths in tools and manifests mean the same as on the command line run from --root.
    os.chdir(root)
    run_server(Path.cwd(), transport=transport, port=port, out=out)


from pixelgen.cli import overrides as _override_commands  # noqa: E402,F401 - registers adopt and rebase-override on `cli`
from pixelgen.cli.train import register as _register_training_commands  # noqa: E402 - they use the helpers above

_register_training_commands(cli)


def main() -> None:
    cli(prog_name="pixelgen")


if __name__ == "__main__":
    main()
