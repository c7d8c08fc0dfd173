"""``pixelgen watch``: rebuild (and deploy) whenever the manifest or a file it names changes.

File events come from ``watchfiles`` (inotify, FSEvents, ReadDirectoryChangesW),
debounced so an editor's burst of writes is one rebuild. It watches the
folders holding the watched files, not the files, because editors save by
writing a new file and renaming it over the old one. Where native events
are unavailable or unreliable — no inotify watches left, network mounts,
container bind mounts — it polls (``--poll``, or ``WATCHFILES_FORCE_POLLING=1``,
or on its own when the native watcher cannot start).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
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
    # Conditioning files: init images, masks, control images, OpenPose files.
    for image in (i for a in manifest.assets for i in a.images):
        sources = [image.init.image, image.init.mask] if image.init else []
        sources += list(image.style.images) if image.style else []
        files += [Path(s.source) for s in [*sources, *(use.image for use in image.control)] if s is not None and s.kind in ("file", "pose_file")]
    return files


def snapshot(files: list[Path]) -> dict[Path, tuple[int, int] | None]:
    """Modification time and size of each file (None: absent)."""
    state: dict[Path, tuple[int, int] | None] = {}
    for path in files:
        try:
            stat = path.stat()
            state[path] = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            state[path] = None
    return state


def reusable_generator_factory(options: Any) -> Callable[[Any], Any]:
    """A generator factory that keeps the last generator (and its loaded pipelines) across builds.

    Loading the pipeline is most of a one-asset rebuild; a watch loop reuses it as long as the
    models and LoRAs, and their resolved content identities, are unchanged.
    """
    from pixelgen.commands.build import diffusers_generator_factory

    make = diffusers_generator_factory(options)
    kept: dict[str, Any] = {}

    def factory(ws: Any) -> Any:
        key = repr((ws.manifest.models, ws.manifest.loras, ws.resolved.models, ws.resolved.loras, str(ws.cache_dir)))
        if key not in kept:
            kept.clear()  # one set of pipelines in memory at a time
            kept[key] = make(ws)
        return kept[key]

    return factory


def wait_for_change(files: list[Path], since: dict[Path, tuple[int, int] | None], *, debounce_ms: int, poll: bool | None = None) -> None:
    """Block until one of ``files`` differs from the snapshot ``since`` (taken before the last build started).

    An edit made while the build ran happened before the watcher started, so
    the snapshot is compared on every event and every second of quiet too.
    """
    import watchfiles

    wanted = {path.resolve() for path in files}
    folders = sorted({path.parent for path in wanted if path.parent.is_dir()})

    def relevant(change: Any, path: str) -> bool:
        return Path(path).resolve() in wanted

    def changes(force_polling: bool | None) -> None:
        if snapshot(files) != since:
            return
        for events in watchfiles.watch(*folders, watch_filter=relevant, debounce=debounce_ms, step=min(50, debounce_ms),
                                       recursive=False, force_polling=force_polling, poll_delay_ms=max(debounce_ms, 50),
                                       rust_timeout=1000, yield_on_timeout=True):
            if events or snapshot(files) != since:
                return

    try:
        changes(poll)
    except OSError:
        changes(True)  # no native watcher here (inotify limit, unsupported filesystem): poll instead


def watch(manifest_path: Path, options: Any, *, echo: Callable[[str], None], interval: float = 0.2, max_builds: int | None = None,
          as_json: bool = False, poll: bool | None = None) -> int:
    """Build now, then on every change; returns the number of builds run. ``interval``: the debounce, in seconds."""
    from pixelgen.commands.build import build

    generators = reusable_generator_factory(options)

    builds = 0
    changed_at: float | None = None
    while True:
        files = watched_files(manifest_path)
        before = snapshot(files)
        try:
            summary = build(manifest_path, options, make_generator=generators)
            builds += 1
            if as_json:
                record = asdict(summary)
                record["build"] = builds
                record["change_to_done_s"] = None if changed_at is None else round(time.perf_counter() - changed_at, 3)
                echo(json.dumps(record, sort_keys=True, default=str))
            else:
                line = f"build {builds}: {summary.built} built, {summary.cached} from cache, {summary.rendered} rendered in {summary.seconds:.2f} s"
                if summary.deploy_dir is not None:
                    line += f"; {len(summary.deployed)} file(s) deployed {summary.render_to_deploy_ms:.0f} ms after rendering finished"
                if changed_at is not None:
                    line += f"; change → build done {time.perf_counter() - changed_at:.2f} s"
                echo(line)
                if summary.gate_violations:
                    echo(f"build {builds}: {len(summary.gate_violations)} quality gate violation(s); see report.html")
        except PixelgenError as exc:
            builds += 1
            echo(json.dumps({"build": builds, "error": exc.message, "exit_code": exc.exit_code}) if as_json else f"build {builds} failed: {exc.message}")
        if max_builds is not None and builds >= max_builds:
            return builds
        if not as_json:
            echo(f"watching {len(files)} file(s) for changes (Ctrl-C to stop)")
        wait_for_change(files, before, debounce_ms=max(1, int(interval * 1000)), poll=poll)
        changed_at = time.perf_counter()
