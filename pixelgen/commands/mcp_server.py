"""``pixelgen mcp``: a Model Context Protocol server for game engines and AI agents.

Built on the official ``mcp`` SDK (``pip install 'pixelgen[mcp]'``). Tools run
the same functions as the CLI and fail with the same messages (as MCP tool
errors); resources expose outputs (PNG as ``image/png`` blobs), ``quality.json``,
the report and the lock. Every path a client names is confined to ``root``:
a path outside it, or a symlink that leads outside, is refused.

``build`` reports progress per finished job; a cancelled build stops between
jobs, before anything is written to the output folder or the lock (renders
finished so far stay in the cache), exactly like a build stopped with Ctrl-C.
"""

# No `from __future__ import annotations`: the SDK reads the tools' annotations at runtime,
# and `Context` is imported lazily inside create_server.

import dataclasses
import functools
import inspect
import json
import logging
import mimetypes
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from pixelgen.errors import EnvironmentProblem, PixelgenError
from pixelgen.files.confine import confine, relative_to_root

log = logging.getLogger("pixelgen")
URI_PREFIX = "pixelgen://file/"
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".pixelgen", "__pycache__"}


class BuildCancelled(PixelgenError):
    """Raised from the progress hook once the client cancelled the build."""


def _sdk() -> Any:
    try:
        from mcp.server.mcpserver import Context, MCPServer
    except ImportError:
        raise EnvironmentProblem("pixelgen mcp needs the MCP SDK: pip install 'pixelgen[mcp]'") from None
    return Context, MCPServer


def file_uri(root: Path, path: Path) -> str:
    return URI_PREFIX + relative_to_root(root, path)


def create_server(root: Path, *, out: str = "assets_out") -> Any:
    """The MCP server for the manifests under ``root`` (outputs under ``root/out`` by default)."""
    Context, MCPServer = _sdk()
    from pixelgen import __version__

    root = Path(root).resolve()

    def local(path: Path) -> Path:
        # Relative to the root when serving from it (`pixelgen mcp` does), so messages read as the CLI's.
        return Path(relative_to_root(root, path)) if Path.cwd().resolve() == root else path

    def manifest_path(manifest: str) -> Path:
        """The manifest, confined, after checking that the files it reads and its deploy folder are too."""
        from pixelgen.commands.watch import files_named_by
        from pixelgen.manifest import load_manifest

        path = local(confine(root, manifest, what="manifest"))
        try:
            loaded = load_manifest(path)
        except PixelgenError:
            return path  # the tool itself reports what is wrong with it
        for named in files_named_by(loaded):
            confine(root, named, what=f"a file named by {manifest}")
        if loaded.deploy_dir is not None:
            confine(root, loaded.deploy_dir, what=f"the deploy dir of {manifest}")
        return path

    def options(**kwargs: Any) -> Any:
        from pixelgen.core.workspace import BuildOptions

        return BuildOptions(out=confine(root, out, what="out"), progress=False, **{k: v for k, v in kwargs.items() if v is not None})

    # Pipelines stay loaded between build calls (an agent's edit → build loop), as in `watch`.
    generators: dict[str, Any] = {}

    def generator_factory(opts: Any) -> Any:
        from pixelgen.commands.watch import reusable_generator_factory

        key = repr((opts.device, opts.dtype))
        if key not in generators:
            generators.clear()
            generators[key] = reusable_generator_factory(opts)
        return generators[key]

    class PixelgenMCPServer(MCPServer):  # type: ignore[misc, valid-type]
        async def list_resources(self) -> list[Any]:
            from mcp_types import Resource

            listed = await super().list_resources()
            for uri, name, mime in _output_resources(root, out):
                listed.append(Resource(uri=uri, name=name, mime_type=mime))
            return listed

        async def read_resource(self, uri: Any, context: Any = None) -> Any:
            # One URI template serves every file; the MIME type is the file's own (image/png for outputs).
            results = await super().read_resource(uri, context)
            if isinstance(results, list):
                mime = _mime(Path(str(uri)))
                results = [dataclasses.replace(item, mime_type=mime) for item in results]
            return results

    server = PixelgenMCPServer(
        "pixelgen",
        log_level="WARNING",
        version=__version__,
        instructions=(
            "pixelgen builds game pixel art from a YAML manifest. Typical loop: validate → plan/status → build "
            "(progress per job) → read the outputs and quality.json as resources → deploy. Change a manifest with "
            "add_asset/edit_asset (schema-checked before writing). Paths are relative to the server root."
        ),
    )

    @server.tool()
    @_cli_errors
    def validate(manifest: str) -> dict[str, Any]:
        """Check a manifest against the schema and its references; report every problem at once."""
        from pixelgen.manifest import load_manifest

        loaded = load_manifest(manifest_path(manifest))
        return {"valid": True, "assets": len(loaded.assets), "images": sum(len(a.images) for a in loaded.assets)}

    @server.tool()
    @_cli_errors
    def plan(manifest: str, only: list[str] | None = None) -> dict[str, Any]:
        """The content-addressed jobs of a manifest and, per asset, whether it is up to date and why not."""
        from pixelgen.commands.status import compute_status
        from pixelgen.core.workspace import open_workspace

        opts = options(only=frozenset(only) if only else None)
        ws = open_workspace(manifest_path(manifest), opts)
        states = {s.asset_id: s for s in compute_status(ws.plan, ws.lock, ws.out_dir, selection=opts.only)}
        result = {
            "manifest": ws.manifest.name,
            "renders": [asdict(job) for job in ws.plan.renders.values()],
            "assets": [
                {"id": a.asset.id, "kind": a.asset.kind, "up_to_date": states[a.asset.id].up_to_date,
                 "reasons": states[a.asset.id].reasons, "posts": [asdict(post) for post in a.posts]}
                for a in ws.plan.assets
            ],
            "removed": [s.asset_id for s in states.values() if s.removed],
        }
        return json.loads(json.dumps(result, default=str))

    @server.tool()
    @_cli_errors
    def status(manifest: str) -> dict[str, Any]:
        """Per asset: up to date, or stale and why (new, prompt changed, output modified, removed, …)."""
        from pixelgen.commands.status import compute_status
        from pixelgen.core.workspace import open_workspace

        ws = open_workspace(manifest_path(manifest), options())
        states = compute_status(ws.plan, ws.lock, ws.out_dir)
        return {
            "manifest": ws.manifest.name,
            "assets": [{"id": s.asset_id, "up_to_date": s.up_to_date, "removed": s.removed, "reasons": s.reasons} for s in states],
            "stale": sum(1 for s in states if not s.up_to_date),
        }

    @server.tool()
    @_cli_errors
    async def build(manifest: str, ctx: Context, only: list[str] | None = None, force: bool = False,
                    device: str = "auto", batch_size: int = 1, gates: str = "warn") -> dict[str, Any]:
        """Build what changed; progress is reported per finished job. Cancelling stops between jobs with nothing half-written."""
        import anyio
        import anyio.from_thread
        import anyio.to_thread

        cancelled = threading.Event()
        finished = threading.Event()

        def on_progress(done: int, total: int) -> None:
            if cancelled.is_set():
                raise BuildCancelled("build cancelled by the client; nothing was written to the outputs or the lock")
            try:
                anyio.from_thread.run(ctx.report_progress, done, total, f"{done}/{total} jobs")
            except Exception:  # noqa: BLE001 - a lost progress message must not fail the build
                log.debug("progress notification not sent", exc_info=True)

        def run() -> Any:
            from pixelgen.commands.build import build as run_build

            try:
                opts = options(only=frozenset(only) if only else None, force=force, device=device,
                               batch_size=batch_size, gates=gates, on_progress=on_progress)
                return run_build(manifest_path(manifest), opts, make_generator=generator_factory(opts))
            finally:
                finished.set()

        try:
            summary = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            # Let the worker reach its next job boundary and unwind (releasing the build lock)
            # before this request is over, so a following build never waits on a ghost.
            cancelled.set()
            with anyio.CancelScope(shield=True):
                while not finished.is_set():
                    await anyio.sleep(0.05)
            raise
        result = asdict(summary)
        result["resources"] = _locked_resources(root, manifest_path(manifest), Path(summary.out_dir))
        if summary.failed or summary.gates_failed:
            return _error(json.dumps({"error": "build failed" if summary.failed else "quality gates failed", **result}, default=str))
        return json.loads(json.dumps(result, default=str))

    @server.tool()
    @_cli_errors
    def pixelize(image: str, output: str, size: str | None = None, palette: str | None = None, cell: float | None = None,
                 background: str = "keep", reduce: str = "kcentroid", dither: str = "none", outline: str | None = None,
                 on_grid_failure: str = "use_declared", wrap: bool = False) -> dict[str, Any]:
        """Turn one render into true pixel art (the `pixelgen pixelize` command, with its options)."""
        source = local(confine(root, image, what="image"))
        target = local(confine(root, output, what="output"))
        args = [str(source), "-o", str(target), "--json", "--background", background, "--reduce", reduce,
                "--dither", dither, "--on-grid-failure", on_grid_failure]
        if palette:
            # A palette file is a path (confined); anything else is a built-in name or auto:N.
            is_file = Path(palette).suffix.lower() in (".hex", ".gpl", ".pal", ".png")
            args += ["--palette", str(local(confine(root, palette, what="palette"))) if is_file else palette]
        for flag, value in (("--size", size), ("--cell", cell), ("--outline", outline)):
            if value is not None:
                args += [flag, str(value)]
        if wrap:
            args.append("--wrap")
        # The command itself, so that messages and behaviour are the CLI's to the letter.
        done = subprocess.run([sys.executable, "-m", "pixelgen", "pixelize", *args], capture_output=True, text=True, cwd=root)
        if done.returncode != 0:
            message = done.stderr.strip()
            return _error(message.removeprefix("error: ") or f"pixelize exited with {done.returncode}")
        report = json.loads(done.stdout)
        report["resource"] = file_uri(root, target)
        return report

    @server.tool()
    @_cli_errors
    def diff(manifest: str, against: str = "HEAD") -> list[dict[str, Any]]:
        """Per changed output: SSIM/PSNR, colours, changed pixels and a side-by-side image, against a git ref or lock file."""
        from pixelgen.commands.diff import diff_outputs, read_other_lock
        from pixelgen.core.workspace import open_workspace

        ws = open_workspace(manifest_path(manifest), options())
        other = against
        if (root / against).exists() or os.path.isabs(against) or against.endswith(".json"):
            other = str(confine(root, against, what="against"))  # a lock file, not a git ref
        changes = diff_outputs(ws, read_other_lock(ws.manifest.lock_path, other))
        return [{**asdict(c), "resource": file_uri(root, ws.out_dir / c.image) if c.image else None} for c in changes]

    @server.tool()
    @_cli_errors
    def verify(manifest: str, render_sample: int = 0, seed: int = 0, device: str = "auto") -> dict[str, Any]:
        """Re-hash outputs against the lock and provenance; optionally re-render N random assets."""
        from pixelgen.commands.verify import verify as run_verify

        mismatches, notes = run_verify(manifest_path(manifest), options(device=device), render_sample=render_sample, sample_seed=seed)
        return {"ok": not mismatches, "mismatches": [m.render() for m in mismatches], "notes": notes}

    @server.tool()
    @_cli_errors
    def deploy(manifest: str, dir: str) -> dict[str, Any]:
        """Copy the locked outputs atomically into a game's asset folder (only files whose bytes differ)."""
        from pixelgen.commands.deploy import deploy_files
        from pixelgen.core.workspace import open_workspace

        target = confine(root, dir, what="deploy dir")
        ws = open_workspace(manifest_path(manifest), options())
        if ws.lock is None:
            raise PixelgenError(f"{ws.manifest.lock_path}: no lock file; build {manifest} first")
        done = deploy_files({p: ws.out_dir / p for p in [*ws.lock.outputs, *ws.lock.packs]}, target)
        return {"copied": list(done.copied), "unchanged": len(done.unchanged), "dir": relative_to_root(root, target)}

    @server.tool()
    @_cli_errors
    def add_asset(manifest: str, asset: dict[str, Any], after: str | None = None) -> dict[str, Any]:
        """Add an asset (a mapping as in the manifest's `assets:` list); validated before the file is written."""
        from pixelgen.manifest.edit import add_asset as run_add

        path = local(confine(root, manifest, what="manifest"))
        run_add(path, asset, after=after)
        return {"manifest": relative_to_root(root, path), "added": asset.get("id")}

    @server.tool()
    @_cli_errors
    def edit_asset(manifest: str, id: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Change one asset with a JSON merge patch (null removes a key); comments and key order are kept."""
        from pixelgen.manifest.edit import edit_asset as run_edit

        path = local(confine(root, manifest, what="manifest"))
        run_edit(path, id, patch)
        return {"manifest": relative_to_root(root, path), "edited": id}

    @server.resource(URI_PREFIX + "{+path}", name="file", description="A file under the server root: outputs, quality.json, report.html, locks")
    def read_file(path: str) -> bytes | str:
        from mcp.server.mcpserver.exceptions import ResourceError

        try:
            target = confine(root, path)
        except PixelgenError as exc:
            raise ResourceError(exc.message) from None
        if not target.is_file():
            raise ResourceError(f"{path}: no such file under the server root")
        mime = _mime(target)
        return target.read_text("utf-8") if mime.startswith("text/") or mime == "application/json" else target.read_bytes()

    return server


def _error(message: str) -> Any:
    from mcp_types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _cli_errors(tool: Callable[..., Any]) -> Callable[..., Any]:
    """A PixelgenError becomes a tool error whose text is the CLI's message, word for word.

    (The SDK's ToolError would prefix "Error executing tool NAME: ".)
    """
    if inspect.iscoroutinefunction(tool):
        @functools.wraps(tool)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await tool(*args, **kwargs)
            except PixelgenError as exc:
                return _error(exc.message)

        return run_async

    @functools.wraps(tool)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return tool(*args, **kwargs)
        except PixelgenError as exc:
            return _error(exc.message)

    return run


def _mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _locked_resources(root: Path, manifest: Path, out_dir: Path) -> list[str]:
    """Resource URIs of a built manifest's outputs and packed files, as its lock lists them."""
    from pixelgen.records.lock import read_lock

    lock = read_lock(manifest.with_name(f"{manifest.stem}.lock.json"))
    if lock is None:
        return []
    return [file_uri(root, out_dir / path) for path in [*sorted(lock.outputs), *sorted(lock.packs)] if (out_dir / path).is_file()]


def _output_resources(root: Path, out: str) -> list[tuple[str, str, str]]:
    """Every lock under ``root`` and, per lock, its outputs, quality.json and report (those present)."""
    from pixelgen.records.lock import read_lock

    found: list[tuple[str, str, str]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".lock.json"):
                continue
            lock_file = Path(folder) / name
            found.append((file_uri(root, lock_file), f"lock: {relative_to_root(root, lock_file)}", "application/json"))
            lock = read_lock(lock_file)
            if lock is None:
                continue
            out_dir = root / out / lock.manifest
            for relative in [*sorted(lock.outputs), *sorted(lock.packs), "quality.json", "report.html"]:
                target = out_dir / relative
                if target.is_file():
                    found.append((file_uri(root, target), f"{lock.manifest}/{relative}", _mime(target)))
    return found


def run_server(root: Path, *, transport: str = "stdio", port: int = 8765, out: str = "assets_out") -> None:
    """Serve until the client disconnects (stdio) or the process is stopped (http on 127.0.0.1)."""
    server = create_server(root, out=out)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=port)
