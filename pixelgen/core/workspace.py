"""A manifest opened for work: the build options, and everything a command derives from a manifest before doing any work."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pixelgen.core.outputs import manifest_out_dir
from pixelgen.core.plan import Plan, make_plan
from pixelgen.core.resolve import Resolved, resolve
from pixelgen.core.store import Store
from pixelgen.errors import (
    FileSystemError,
    InputError,
    translate_os_errors,
)
from pixelgen.files.hashing import FileDigestCache
from pixelgen.manifest import Manifest, load_manifest, remember_validated
from pixelgen.records.lock import Lock, read_lock

log = logging.getLogger("pixelgen")
DEFAULT_OUT = "assets_out"
BUILD_LOCK_WAIT_SECONDS = 600


@dataclass(frozen=True)
class BuildOptions:
    out: Path | None = None
    cache_dir: Path | None = None
    only: frozenset[str] | None = None
    force: bool = False
    check: bool = False
    batch_size: int = 1
    device: str = "auto"
    dtype: str | None = None
    keep_going: bool = False
    progress: bool = True
    lock_wait_seconds: float = BUILD_LOCK_WAIT_SECONDS
    sbom_timestamp: str | None = None
    strip_metadata: bool = False
    metrics_file: Path | None = None
    gates: str = "error"  # "warn": report gate violations without failing the build
    deploy: Path | None = None  # overrides the manifest's deploy.dir
    # (done, total) jobs after each finished job; raising from it stops the build before
    # anything is written to OUT or the lock (finished renders stay cached).
    on_progress: Callable[[int, int], None] | None = field(default=None, compare=False)
    full_hash: bool = False  # hash every model file again instead of trusting the digest memo (verify --full)
    overrides: str = "keep"  # a hand-made override based on an old render: keep it, drop it, or fail (pixelgen.core.overrides)
    shard: tuple[int, int] | None = None  # (I, N): render this shard's jobs into the cache only (pixelgen.core.shard)
    finish: bool = False  # every render must come from the cache (the step after the shards)
    executor: str = "local"  # where renders and post-processing run: "local" | "ray" (pixelgen.core.executor)
    ray_address: str | None = None  # "auto", HOST:PORT; None starts a Ray instance on this machine
    executor_from: str = field(default="default", compare=False)  # the flag, variable or config file key that chose it

    def __post_init__(self) -> None:
        # Checked before any work, so a bad option never leaves a half-recorded build.
        if self.sbom_timestamp is not None:
            from pixelgen.records.provenance import check_timestamp

            try:
                check_timestamp(self.sbom_timestamp, "--sbom-timestamp")
            except ValueError as exc:
                raise InputError(str(exc)) from None
        if self.gates not in ("error", "warn"):
            raise InputError(f"--gates {self.gates!r}: use error or warn")
        if self.overrides not in ("keep", "drop", "fail"):
            raise InputError(f"--overrides {self.overrides!r}: use keep, drop or fail")
        from pixelgen.core.executor import check_executor

        check_executor(self.executor, self.ray_address)


@dataclass
class BuildSummary:
    manifest: str
    out_dir: str
    stale: list[dict[str, Any]] = field(default_factory=list)
    built: int = 0
    cached: int = 0
    up_to_date: int = 0
    removed: list[str] = field(default_factory=list)
    packed: int = 0
    seam_errors: dict[str, float | None] = field(default_factory=dict)
    gate_violations: list[dict[str, Any]] = field(default_factory=list)
    gates_failed: bool = False
    deployed: list[str] = field(default_factory=list)
    undeployed: list[str] = field(default_factory=list)  # removed from the deploy folder with the assets they came from
    deploy_dir: str | None = None
    deploy_ms: float | None = None
    render_to_deploy_ms: float | None = None  # from the last render/post-process finishing to the deploy finishing
    rendered: int = 0
    trained: list[str] = field(default_factory=list)  # LoRAs trained by this build (not taken from the cache)
    # What ran this build's renders and post-processing, and what chose it (pixelgen.core.config); None when nothing ran.
    executor: dict[str, str] | None = None
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    images_per_second: float | None = None
    lock_written: bool = False
    provenance_written: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Workspace:
    """Everything a command derives from a manifest before doing any work."""

    manifest: Manifest
    resolved: Resolved
    plan: Plan
    lock: Lock | None
    out_dir: Path
    store: Store
    cache_dir: Path
    full_plan: Plan | None = None  # the plan of every asset when ``plan`` is a selection (--only)
    override_notes: list[str] = field(default_factory=list)  # what the repo's override files changed in the lock
    trained: dict[str, Any] = field(default_factory=dict)  # LoRA name → TrainOutcome (weights ready to load)

    @property
    def every_asset(self) -> Plan:
        return self.full_plan or self.plan


def default_cache_dir(manifest_path: Path) -> Path:
    """The local cache folder (with a shared ``PIXELGEN_CACHE`` URL: its local read-through copy)."""
    from pixelgen.core.remote_store import cache_location

    return cache_location(manifest_path, None)[0]


@translate_os_errors("read")
def open_workspace(manifest_path: Path, options: BuildOptions) -> Workspace:
    from pixelgen.core.remote_store import cache_location, open_store

    cache_dir, shared_cache = cache_location(manifest_path, options.cache_dir)
    memo = cache_dir / "validated" if cache_dir.is_dir() else None
    manifest = load_manifest(manifest_path, validation_memo=memo)
    if options.only:
        unknown = sorted(options.only - {asset.id for asset in manifest.assets})
        if unknown:
            raise InputError(f"--only names assets the manifest does not have: {', '.join(unknown)}")
    digests = FileDigestCache(cache_dir / "file-digests.json" if cache_dir.is_dir() and not options.full_hash else None)
    resolved = resolve(manifest, digests)
    plan = make_plan(manifest, resolved, only=options.only, strip_metadata=options.strip_metadata)
    full_plan = make_plan(manifest, resolved, only=None, strip_metadata=options.strip_metadata) if options.only else None
    if memo is not None:
        remember_validated(memo, manifest)
    out_root = Path(options.out) if options.out else Path(DEFAULT_OUT)
    ws = Workspace(
        manifest=manifest,
        resolved=resolved,
        plan=plan,
        lock=read_lock(manifest.lock_path),
        out_dir=manifest_out_dir(out_root, manifest.name),
        store=open_store(cache_dir, shared_cache),
        cache_dir=cache_dir,
        full_plan=full_plan,
    )
    from pixelgen.core.overrides import sync_repo_overrides

    ws.override_notes = sync_repo_overrides(ws)
    return ws


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse, before any work, a folder that cannot be created or written (a file in the way, no permission)."""
    existing = Path(folder)
    while not existing.exists():
        if existing.parent == existing:
            return
        existing = existing.parent
    # An environment problem (exit 1, like the OS errors met later), caught before any work.
    if not existing.is_dir():
        raise FileSystemError(f"{what} {folder}: {existing} is a file, not a folder\n    fix: choose another folder or move the file", str(existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FileSystemError(
            f"{what} {folder}: {existing} is read-only for this user (permission denied)\n"
            "    fix: make it writable, or choose another folder (--out, --cache-dir, --deploy)",
            str(existing),
        )
