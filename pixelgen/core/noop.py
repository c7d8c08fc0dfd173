"""The no-op shortcut: answer "nothing to do" from a manifest digest and file stats alone.

A full no-op build parses and validates the manifest, resolves and plans every
job, and re-hashes every output: seconds for 10,000 assets. After a build that
left everything up to date, :func:`write_stamp` records

* the sha256 of the manifest's bytes;
* the stat (size, mtime, ctime, inode) of every other file the build read or
  wrote: the lock, model / LoRA / palette / reference files, every output and
  every build record, and of the folders that hold model files (a file added
  to a model folder changes the folder's mtime);
* the options and environment that change what a build does;
* the summary a no-op build prints.

:func:`shortcut` then answers a later build with that summary when the manifest
hashes the same and every stat matches, reading neither YAML nor any image: it
imports only the standard library. Any difference, or a stamp that is missing
or unreadable, means "build as usual", which is always correct. ctime cannot be
set from user space, so an edit that restores size and mtime is still seen.
Stamps live in ``.pixelgen/noop/`` beside the manifest, next to the build locks;
a build that may write removes its stamp before it writes anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pixelgen.files.hashing import sha256_bytes

if TYPE_CHECKING:
    from pixelgen.core.workspace import BuildOptions, BuildSummary, Workspace
    from pixelgen.records.lock import Lock

STAMP_VERSION = 1
# Environment that changes where a build reads from or writes to.
_ENVIRONMENT = ("PIXELGEN_CACHE", "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "XDG_CACHE_HOME")


def _stamp_folder(manifest_path: Path) -> Path:
    return manifest_path.resolve().parent / ".pixelgen" / "noop"


def options_key(manifest_path: Path, *, out: Path | None, cache_dir: Path | None, strip_metadata: bool,
                sbom_timestamp: str | None, gates: str, overrides: str = "keep") -> str:
    """What, besides files, decides a build's result: resolved folders, options, environment, pixelgen's version."""
    from pixelgen import __version__

    described = {
        "version": STAMP_VERSION,
        "pixelgen": __version__,
        "manifest": str(manifest_path.resolve()),
        "out": str(Path(out).resolve()) if out else str(Path("assets_out").resolve()),
        "cache_dir": (str(cache_dir) if "://" in str(cache_dir) else str(Path(cache_dir).resolve())) if cache_dir else None,
        "strip_metadata": bool(strip_metadata),
        "sbom_timestamp": sbom_timestamp,
        "gates": gates,
        "overrides": overrides,
        "environment": {name: os.environ.get(name) for name in _ENVIRONMENT},
    }
    return sha256_bytes(json.dumps(described, sort_keys=True).encode("utf-8"))


def stamp_path(manifest_path: Path, key: str) -> Path:
    return _stamp_folder(manifest_path) / f"{manifest_path.stem}.{key[:16]}.json"


def _stat(path: Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode]


def _sha256_file(path: Path) -> str | None:
    try:
        return sha256_bytes(path.read_bytes())
    except OSError:
        return None


def shortcut(manifest_path: Path, *, out: Path | None = None, cache_dir: Path | None = None, strip_metadata: bool = False,
             sbom_timestamp: str | None = None, gates: str = "error", overrides: str = "keep") -> dict[str, Any] | None:
    """The recorded no-op summary (``BuildSummary`` fields) if nothing changed since the stamp; None to build as usual."""
    import time

    started = time.perf_counter()
    manifest_path = Path(manifest_path)
    key = options_key(manifest_path, out=out, cache_dir=cache_dir, strip_metadata=strip_metadata,
                      sbom_timestamp=sbom_timestamp, gates=gates, overrides=overrides)
    try:
        stamp = json.loads(stamp_path(manifest_path, key).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("key") != key or stamp.get("version") != STAMP_VERSION:
        return None
    if _sha256_file(manifest_path) != stamp.get("manifest_sha256"):
        return None
    stats = stamp.get("stats")
    if not isinstance(stats, dict):
        return None
    for path, recorded in stats.items():
        if _stat(Path(path)) != recorded:
            return None
    summary = stamp.get("summary")
    if not isinstance(summary, dict):
        return None
    return {**summary, "seconds": time.perf_counter() - started}


def forget(manifest_path: Path) -> None:
    """Remove every stamp of this manifest: called before a build writes anything."""
    folder = _stamp_folder(Path(manifest_path))
    if not folder.is_dir() or folder.is_symlink():
        return
    prefix = f"{Path(manifest_path).stem}."
    for stamp in folder.iterdir():
        if stamp.name.startswith(prefix) and stamp.name.count(".") == 2 and stamp.suffix == ".json":
            stamp.unlink(missing_ok=True)


def watched_files(ws: "Workspace", lock: "Lock | None") -> tuple[list[Path], list[Path]]:
    """(files, folders) whose stats stand for the build's inputs and outputs, the manifest itself excepted."""
    from pixelgen.records.buildinfo import model_directory
    from pixelgen.records.recordset import BOUND_RECORDS, PROVENANCE_FILENAME

    files: list[Path] = [ws.manifest.lock_path]
    folders: list[Path] = []
    for name, spec in ws.manifest.models.items():
        if spec.kind == "single_file":
            files.append(Path(spec.source))
            continue
        if spec.kind == "hub":
            _add_tree(_hub_repo_folder(spec.source), files, folders)
            continue
        folder = model_directory(spec, ws.resolved.models.get(name, {}), ws.cache_dir)
        if folder is None:
            # Not here yet (the built-in model before its first render): its appearance must be seen.
            folder = _expected_model_folder(spec, ws.cache_dir)
        if folder is not None:
            _add_tree(folder, files, folders)
    for spec in ws.manifest.loras.values():
        if spec.kind == "hub":
            _add_tree(_hub_repo_folder(spec.source), files, folders)
        elif spec.kind == "trained":
            _add_tree(Path(spec.source), files, folders)  # the training images and captions
        else:
            files.append(Path(spec.source))
    for palette in ws.manifest.palettes.values():
        if palette.path:
            files.append(Path(palette.path))
    for asset in ws.manifest.assets:
        for image in asset.images:
            if image.reference:
                files.append(Path(image.reference))
            files.extend(Path(path) for path in image.condition_files)
    for spec in [*ws.manifest.controlnets.values(), *ws.manifest.adapters.values()]:
        if spec.kind == "hub":
            _add_tree(_hub_repo_folder(spec.source), files, folders)
        elif spec.kind == "diffusers_dir":
            _add_tree(Path(spec.source), files, folders)
        else:
            from pixelgen.render.tiny import tiny_controlnet_dir, tiny_ip_adapter_dir

            _add_tree((tiny_controlnet_dir if spec in ws.manifest.controlnets.values() else tiny_ip_adapter_dir)(ws.cache_dir),
                      files, folders)
    overrides_dir = getattr(ws.manifest, "overrides_dir", None)
    if overrides_dir:
        # Touch-ups kept in the repo: an edited, added or deleted file is a change.
        _add_tree(ws.manifest.path.parent / overrides_dir / ws.manifest.name, files, folders)
    lock_outputs: Iterable[str] = []
    if lock is not None:
        lock_outputs = [*lock.outputs, *lock.packs]
    files.extend(ws.out_dir / path for path in lock_outputs)
    files.extend(ws.out_dir / name for name in (*BOUND_RECORDS, PROVENANCE_FILENAME))
    return files, folders


def _expected_model_folder(spec: Any, cache_dir: Path) -> Path | None:
    if spec.kind == "builtin":
        from pixelgen.render.tiny import tiny_model_dir

        return tiny_model_dir(cache_dir)
    if spec.kind == "diffusers_dir":
        return Path(spec.source)
    return None


def _hub_repo_folder(repo: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    from pixelgen.core.resolve import hf_cache_dir

    return hf_cache_dir() / repo_folder_name(repo_id=repo, repo_type="model")


def _add_tree(folder: Path, files: list[Path], folders: list[Path]) -> None:
    folders.append(folder)
    if not folder.is_dir():
        return
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        folders.extend(Path(root, d) for d in dirs)
        files.extend(Path(root, n) for n in sorted(names))


def noop_summary(ws: "Workspace", summary: "BuildSummary") -> dict[str, Any]:
    """What a build with nothing to do reports for this workspace, after ``summary``'s build."""
    from dataclasses import asdict

    from pixelgen.core.workspace import BuildSummary

    quiet = BuildSummary(manifest=summary.manifest, out_dir=summary.out_dir)
    quiet.up_to_date = len(ws.plan.posts)
    quiet.gate_violations = list(summary.gate_violations)
    quiet.gates_failed = summary.gates_failed
    quiet.warnings = list(ws.resolved.warnings)
    return asdict(quiet)


def write_stamp(ws: "Workspace", options: "BuildOptions", summary: "BuildSummary", manifest_path: Path, lock: "Lock") -> bool:
    """Record the stamp after a build that left this workspace up to date (``lock``: the lock it wrote or kept).

    False when this build cannot stand for a no-op: a selection, a forced or
    checking build, a deploy or metrics file (their side effects are the point), a failure.
    """
    from pixelgen.files.fsutil import write_bytes_atomic

    if (options.only or options.force or options.check or options.deploy or ws.manifest.deploy_dir
            or options.metrics_file or summary.failed):
        return False
    from pixelgen.core.overrides import stale_overrides

    if stale_overrides(ws.plan, lock):
        return False  # every build must say so (and --overrides fail must stop)
    key = options_key(manifest_path, out=options.out, cache_dir=options.cache_dir, strip_metadata=options.strip_metadata,
                      sbom_timestamp=options.sbom_timestamp, gates=options.gates, overrides=options.overrides)
    files, folders = watched_files(ws, lock)
    stats = {str(path): _stat(path) for path in [*files, *folders]}
    manifest_sha256 = _sha256_file(manifest_path)
    if manifest_sha256 != ws.manifest.raw_sha256:
        return False  # edited while this build ran: the next build must look
    stamp = {
        "version": STAMP_VERSION,
        "key": key,
        "manifest_sha256": manifest_sha256,
        "stats": stats,
        "summary": noop_summary(ws, summary),
    }
    folder = _stamp_folder(manifest_path)
    if folder.parent.is_symlink() or folder.is_symlink():
        return False
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(stamp_path(manifest_path, key), json.dumps(stamp, sort_keys=True).encode("utf-8"))
    return True
