"""``pixelgen watch``: rebuild (and deploy) whenever the manifest or a file it names changes.

Polls modification times every ``interval`` seconds rather than using OS
file events: a manifest names a handful of files, polling them costs
microseconds, and it behaves the same on every filesystem (network mounts
and container bind mounts included, where inotify events often go missing).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from pixelgen.errors import PixelgenError


def watched_files(manifest_path: Path) -> list[Path]:
    """The manifest and the local files it names (palettes, LoRAs, checkpoints, references)."""
    from pixelgen.manifest import load_manifest

    try:
        manifest = load_manifest(manifest_path)
    except PixelgenError:
        return [manifest_path]  # a broken manifest: wait for the next edit of the manifest itself
    return sorted({manifest_path, *files_named_by(manifest)})


def files_named_by(manifest: Any) -> list[Path]:
    """The local files a loaded manifest names (palettes, LoRAs, checkpoints, references)."""
    files = [Path(p.path) for p in manifest.palettes.values() if p.kind == "file" and p.path]
    files += [Path(l.source) for l in manifest.loras.values() if l.kind == "file"]
    files += [Path(m.source) for m in manifest.models.values() if m.kind == "single_file"]
    files += [Path(i.reference) for a in manifest.assets for i in a.images if i.reference]
    return files


def snapshot(files: list[Path]) -> dict[Path, int | None]:
    """Modification time of each file (None: missing); two equal snapshots mean nothing changed."""
    state: dict[Path, int | None] = {}
    for path in files:
        try:
            state[path] = path.stat().st_mtime_ns
        except FileNotFoundError:
            state[path] = None
    return state


def reusable_generator_factory(options: Any) -> Callable[[Any], Any]:
    """A generator factory that keeps the last generator (and its loaded pipelines) across builds.

    Loading the pipeline is most of a one-asset rebuild; a watch loop reuses it as long as the
    models and LoRAs, and their resolved content identities, are unchanged.
    """
    from pixelgen.build import diffusers_generator_factory

    make = diffusers_generator_factory(options)
    kept: dict[str, Any] = {}

    def factory(ws: Any) -> Any:
        key = repr((ws.manifest.models, ws.manifest.loras, ws.resolved.models, ws.resolved.loras, str(ws.cache_dir)))
        if key not in kept:
            kept.clear()  # one set of pipelines in memory at a time
            kept[key] = make(ws)
        return kept[key]

    return factory


def watch(manifest_path: Path, options: Any, *, echo: Callable[[str], None], interval: float = 0.2, max_builds: int | None = None) -> int:
    """Build now, then on every change; returns the number of builds run."""
    from pixelgen.build import build

    generators = reusable_generator_factory(options)

    builds = 0
    changed_at: float | None = None
    while True:
        files = watched_files(manifest_path)
        state = snapshot(files)
        try:
            summary = build(manifest_path, options, make_generator=generators)
            builds += 1
            line = f"build {builds}: {summary.built} built, {summary.cached} from cache, {summary.rendered} rendered in {summary.seconds:.2f} s"
            if summary.deploy_dir is not None:
                line += (f"; {len(summary.deployed)} file(s) deployed {summary.render_to_deploy_ms:.0f} ms after rendering finished")
            if changed_at is not None:
                line += f"; change → build done {time.perf_counter() - changed_at:.2f} s"
            echo(line)
            if summary.gate_violations:
                echo(f"build {builds}: {len(summary.gate_violations)} quality gate violation(s); see report.html")
        except PixelgenError as exc:
            builds += 1
            echo(f"build {builds} failed: {exc.message}")
        if max_builds is not None and builds >= max_builds:
            return builds
        echo(f"watching {len(files)} file(s) for changes (Ctrl-C to stop)")
        while snapshot(files) == state:
            time.sleep(interval)
        changed_at = time.perf_counter()
