"""``pixelgen build``: the recipe, step by step."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pixelgen.commands.status import AssetState, compute_status, removed_outputs
from pixelgen.core.outputs import remove_outputs, write_output
from pixelgen.core.store import CacheLock
from pixelgen.core.workspace import (
    BUILD_LOCK_WAIT_SECONDS,
    BuildOptions,
    BuildSummary,
    Workspace,
    check_writable_folder,
    open_workspace,
)
from pixelgen.errors import (
    EnvironmentProblem,
    FileSystemError,
    InputError,
    ModelChangedError,
    translate_os_errors,
)
from pixelgen.files.hashing import FileDigestCache
from pixelgen.quality.stage import lock_quality_summary
from pixelgen.records.buildinfo import lock_model_records, utc_now
from pixelgen.records.lock import Lock, LockEntry, read_lock, write_lock_if_changed

log = logging.getLogger("pixelgen")
def describe_stale(states: list[AssetState]) -> list[dict[str, Any]]:
    return [
        {"asset": state.asset_id, "reasons": ["removed from the manifest"] if state.removed else state.reasons}
        for state in states
        if not state.up_to_date
    ]


@translate_os_errors("write")
def build(
    manifest_path: str | Path,
    options: BuildOptions = BuildOptions(),
    *,
    make_generator: Callable[[Workspace], Any] | None = None,
) -> BuildSummary:
    started = time.perf_counter()
    started_at = utc_now()
    manifest_path = Path(manifest_path)

    # 1. Load, validate and plan. Bad input stops here, before anything is written.
    if options.metrics_file:
        from pixelgen.records.metrics import check_metrics_file

        check_metrics_file(Path(options.metrics_file))
    ws = open_workspace(manifest_path, options)
    if options.only:
        # --only X also builds the assets whose renders X is conditioned on.
        options = dataclasses.replace(options, only=frozenset(asset_plan.asset.id for asset_plan in ws.plan.assets))
    summary = BuildSummary(manifest=ws.manifest.name, out_dir=str(ws.out_dir))
    if not options.check:
        check_writable_folder(ws.out_dir, "--out" if options.out else "the output folder")
        check_writable_folder(ws.cache_dir, "--cache-dir" if options.cache_dir else "the cache folder")
        deploy_dir = options.deploy or ws.manifest.deploy_dir
        if deploy_dir is not None:
            check_writable_folder(Path(deploy_dir), "--deploy" if options.deploy else "deploy.dir")

    # 2. Compare the plan with the lock and the output folder.
    states = compute_status(ws.plan, ws.lock, ws.out_dir, selection=options.only)
    summary.stale = describe_stale(states)
    if options.check:
        reasons = records_stale_reasons(ws, ws.lock)
        if reasons:
            summary.stale.append({"asset": "(build records)", "reasons": reasons})
        _check_overrides(ws, options, summary)
        summary.seconds = time.perf_counter() - started
        return summary

    # 3. Refuse early what would fail late: an unwritable folder must not
    # stop the build after outputs were written or removed.
    _check_writable(ws, options)

    # 4. One build of this manifest at a time; the cache is held shared, so
    # gc (which holds it exclusively) never collects what this build stores.
    # Shards write only write-once cache entries, so several may run at once beside one manifest.
    with (_build_lock(manifest_path, options.lock_wait_seconds) if options.shard is None else _NoBuildLock()) as held, \
            CacheLock(ws.cache_dir, exclusive=False, wait_seconds=options.lock_wait_seconds):
        if held.waited:
            # Another build finished while we waited: compare again with what it wrote.
            ws.lock = read_lock(ws.manifest.lock_path)
            states = compute_status(ws.plan, ws.lock, ws.out_dir, selection=options.only)
        from pixelgen.core import noop

        noop.forget(manifest_path)  # before anything is written: a stamp must never outlive the files it describes
        stale_posts = [o.post for s in states for o in s.outputs if o.post is not None and (o.stale or options.force)]
        if options.shard is not None:
            from pixelgen.core.shard import select

            mine = select([(a.asset.id, [post.key for post in a.posts]) for a in ws.plan.assets], options.shard)
            stale_posts = [post for post in stale_posts if post.asset_id in mine]
        removed_paths = removed_outputs(states)
        recorded_digests = _recorded_digests(ws.lock, removed_paths)
        summary.up_to_date = sum(1 for s in states for o in s.outputs if o.post is not None and not o.stale)
        if options.force:
            summary.up_to_date = 0
        # Before anything renders: stop on stale overrides (fail), or rewrite them with their renders (drop).
        kept_overrides = _overrides_to_keep(ws, stale_posts, options, summary)

        # 5. Models whose bytes changed under the same identity stop the build
        # before anything is rendered with them or recorded as theirs.
        digests = FileDigestCache(ws.cache_dir / "file-digests.json")
        _check_model_files(ws, ws.lock, digests)

        # 5a. Train the LoRAs the renders below need (and declared ones never trained) that the cache lacks;
        # shards and the finishing build never train: training is the stage before them.
        if ws.plan.trainings:
            from pixelgen.core.training import stale_trainings, train_for_build, trained_for_shard

            if options.shard is not None or options.finish:
                ws.trained = trained_for_shard(ws, options)
            else:
                ws.trained = train_for_build(ws, stale_posts, options)
            summary.trained = stale_trainings(ws, ws.trained)

        # 6. Render and post-process what the cache lacks.
        from pixelgen.commands.progress import BuildProgress
        from pixelgen.core.run import Runner

        generator_factory = make_generator or diffusers_generator_factory(options)
        if options.finish:
            generator_factory = _no_renders_left
        with BuildProgress(enabled=options.progress, on_advance=options.on_progress) as progress:
            progress.add_total(len(stale_posts))

            def start_generator() -> Any:
                progress.note("starting the renderer: importing torch and diffusers…")
                generator = generator_factory(ws)
                if hasattr(generator, "on_status"):
                    generator.on_status = progress.note
                return generator

            from pixelgen.core.executor import GeneratorInputs, make_executor

            # --finish renders nothing, so it never needs the cluster.
            executor_name = "local" if options.finish else options.executor
            trained_weights = ()
            if executor_name == "ray" and ws.plan.trainings and stale_posts:
                from pixelgen.core.training import weights_for_workers

                trained_weights = weights_for_workers(ws)
            executor = make_executor(executor_name, options.ray_address, start_generator, generator_factory,
                                     GeneratorInputs(ws.manifest, ws.cache_dir, ws.resolved, trained_weights))
            runner = Runner(
                ws.store,
                start_generator,
                ws.resolved,
                batch_size=options.batch_size,
                force=options.force,
                keep_going=options.keep_going,
                progress=progress,
                executor=executor,
            )
            if stale_posts:
                summary.executor = {"name": executor.name, "from": options.executor_from if executor.name == options.executor else "--finish"}
            try:
                result = runner.run(ws.plan, stale_posts)
            finally:
                executor.close()
        rendered_at = time.perf_counter()
        if options.shard is not None:
            # A shard's work ends in the cache: the finishing build writes OUT, the lock and the records, once.
            summary.stale = []
            summary.built, summary.cached, summary.rendered = result.posts_built, result.posts_cached, result.rendered
            summary.failed = dict(result.failures)
            summary.seconds = time.perf_counter() - started
            return summary

        # 7. Write outputs into OUT, remove those of removed assets.
        lock = ws.lock or Lock(manifest=ws.manifest.name)
        previous_entries = dict(lock.outputs)
        previous_identities = (dict(lock.models), dict(lock.loras))
        _write_outputs(ws, lock, stale_posts, result, summary, kept_overrides)

        # 8. Pack engine-ready files (sheets, tilesets, 9-slice data) where images or settings changed.
        stale_packs = {s.asset_id for s in states for o in s.outputs if o.pack_key and (o.stale or options.force)}
        stale_packs |= _packs_of_changed_overrides(ws, lock)
        for asset_plan in ws.plan.assets:
            if asset_plan.asset.id in stale_packs and asset_plan.asset.id not in result.failures:
                summary.packed += _pack(ws, asset_plan, result, lock, summary)
        summary.removed, kept = remove_outputs(ws.out_dir, recorded_digests)
        for path in kept:
            summary.warnings.append(f"{path}: kept in {ws.out_dir} although its asset was removed, because it is not the file "
                                    "pixelgen wrote there (its bytes changed, or it is a link); delete it yourself if it is not needed")
        for path in removed_paths:
            lock.outputs.pop(path, None)
            lock.packs.pop(path, None)

        # 9. Write the lock, only if an entry changed: serialising a big lock
        # costs more than the rest of a no-op build.
        _refresh_identities(ws, lock, options, digests)
        if ws.lock is None or stale_posts or stale_packs or removed_paths or (lock.models, lock.loras) != previous_identities:
            summary.lock_written = write_lock_if_changed(ws.manifest.lock_path, lock)

        # 10. Deploy changed files into the game's asset folder, first, so a game's
        # hot reload sees them as soon as possible (the records below follow).
        deploy_dir = options.deploy or ws.manifest.deploy_dir
        if deploy_dir is not None:
            _deploy(ws, lock, Path(deploy_dir), summary, rendered_at)

        # 11. Quality scores, gates and report; provenance: SBOM and in-toto statement.
        summary.warnings.extend(ws.resolved.warnings)
        summary.notes.extend(ws.override_notes)
        from pixelgen.core.overrides import stale_overrides

        summary.warnings.extend(stale_overrides(ws.plan, lock).values())
        changed = bool(summary.lock_written or result.posts_built or result.posts_cached or summary.packed or summary.removed)
        if changed or records_stale_reasons(ws, lock):
            assessment = _write_records(ws, lock, previous_entries, result, stale_posts, summary, options, started_at, digests)
        else:
            assessment = _gates_from_recorded_scores(ws)
        if options.only:
            assessment.violations = [v for v in assessment.violations if v.asset in options.only]
        summary.gate_violations = [violation.to_dict() for violation in assessment.violations]
        summary.gates_failed = bool(assessment.violations) and options.gates == "error"

    # 12. Metrics for Prometheus' textfile collector, when asked for.
    if options.metrics_file:
        from pixelgen.records.metrics import write_build_metrics

        written = result.posts_built + result.posts_cached
        write_build_metrics(
            Path(options.metrics_file),
            manifest=ws.manifest.name,
            model_names=sorted({asset_plan.asset.model for asset_plan in ws.plan.assets}),
            images_total=written,
            build_seconds=time.perf_counter() - started,
            image_latencies_s=result.image_latencies,
            cache_hits=min(written, result.posts_cached + result.renders_cached),
            gpu_energy_joules=None,  # energy is measured by bench/throughput.py (NVML), not per build
            gpu_memory_peak_bytes=getattr(runner.started_generator, "memory_peak_bytes", None),
        )

    # 13. Summary.
    summary.built = result.posts_built
    summary.cached = result.posts_cached
    summary.rendered = result.rendered
    summary.failed = dict(result.failures)
    summary.seconds = time.perf_counter() - started
    if result.rendered and result.render_seconds > 0:
        summary.images_per_second = result.rendered / result.render_seconds
    noop.write_stamp(ws, options, summary, manifest_path, lock)
    return summary


def _recorded_digests(lock: Lock | None, paths: list[str]) -> dict[str, str]:
    """What pixelgen wrote at each path, per the lock: only files with these bytes are ever removed."""
    if lock is None:
        return {}
    from pixelgen.core.overrides import expected_digest

    found = {}
    for path in paths:
        if path in lock.outputs:
            found[path] = expected_digest(lock.outputs[path])
        elif path in lock.packs:
            found[path] = lock.packs[path]["sha256"]
    return found


def _check_writable(ws: Workspace, options: BuildOptions) -> None:
    """Every folder the build writes to must be writable, and OUT/<name> must not be a symlink, before any work."""
    if ws.out_dir.is_symlink():
        raise FileSystemError.from_os_error(OSError(errno.ELOOP, "the output folder is a symbolic link", str(ws.out_dir)), ws.out_dir, "write into")
    deploy_dir = options.deploy or ws.manifest.deploy_dir
    # The confined writes refuse a symlinked folder anyway; finding the asset
    # folders' links here stops the build before it renders anything.
    for root in [ws.out_dir, *([Path(deploy_dir)] if deploy_dir else [])]:
        for asset_plan in ws.plan.assets:
            if (Path(root) / asset_plan.asset.id).is_symlink():
                link = Path(root) / asset_plan.asset.id
                raise FileSystemError.from_os_error(OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(link)), link, "write into")
    folders = [ws.manifest.lock_path.parent, ws.out_dir, ws.cache_dir, *([Path(deploy_dir)] if deploy_dir else [])]
    for folder in folders:
        existing = Path(folder)
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise FileSystemError.from_os_error(OSError(errno.ENOTDIR, "not a folder", str(existing)), existing, "write into")
        if not os.access(existing, os.W_OK | os.X_OK):
            read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY) if hasattr(os, "statvfs") else False
            code, reason = (errno.EROFS, "read-only file system") if read_only else (errno.EACCES, "permission denied")
            raise FileSystemError.from_os_error(OSError(code, reason, str(existing)), existing, "write into")


def _check_model_files(ws: Workspace, lock: Lock | None, digests: FileDigestCache) -> None:
    from pixelgen.records.buildinfo import changed_models

    changed = changed_models(ws, lock, digests) if lock is not None else []
    if changed:
        name, where = changed[0]
        raise ModelChangedError(
            f"model {name!r}: its files{where} differ from those {ws.manifest.lock_path.name} recorded for the same model identity "
            "(swapped, modified or damaged weights); stopping before anything is rendered with them or recorded as the model's\n"
            "    fix: restore the original files"
            + (" (delete that folder: pixelgen rebuilds the built-in model)" if ws.manifest.models[name].kind == "builtin" else "")
            + f"; if the new weights are intended, delete `models.{name}` from the lock file and build again"
        )


def _check_overrides(ws: Workspace, options: BuildOptions, summary: BuildSummary) -> None:
    """``--check``: a stale override is a warning with ``--overrides keep``, and out of date with drop or fail."""
    from pixelgen.core.overrides import stale_overrides

    messages = list(stale_overrides(ws.plan, ws.lock).values())
    if not messages:
        return
    if options.overrides == "keep":
        summary.warnings.extend(messages)
    else:
        action = "the build would replace them with the new renders" if options.overrides == "drop" else "the build would stop"
        summary.stale.append({"asset": "(overrides)", "reasons": [*messages, f"--overrides {options.overrides}: {action}"]})


def _overrides_to_keep(ws: Workspace, stale_posts: list, options: BuildOptions, summary: BuildSummary) -> dict[str, tuple[dict, bytes]]:
    """Overrides to write in place of the renders of ``stale_posts``: output → (record, bytes), read and checked now.

    With ``--overrides fail`` a stale override stops the build here; with
    ``drop`` the posts of stale overrides join ``stale_posts`` (in place) and
    their overrides are not kept.
    """
    from pixelgen.core.overrides import (
        OverrideError,
        is_stale,
        override_bytes,
        stale_overrides,
    )

    if ws.lock is None:
        return {}
    stale = stale_overrides(ws.plan, ws.lock)
    if stale and options.overrides == "fail":
        raise OverrideError(
            "--overrides fail: " + "; ".join(stale.values())
            + f"\n    fix: `pixelgen rebase-override {ws.manifest.path} OUTPUT…` moves the edits onto the new render once it is built "
            "(build with --overrides keep), or build with --overrides drop to use the new renders"
        )
    if options.overrides == "drop":
        queued = {post.output for post in stale_posts}
        stale_posts.extend(post for post in ws.plan.posts if post.output in stale and post.output not in queued)
    kept = {}
    for post in stale_posts:
        entry = ws.lock.outputs.get(post.output)
        if entry is None or not entry.override:
            continue
        if options.overrides == "drop" and is_stale(entry, post):
            summary.notes.append(f"{post.output}: override dropped (--overrides drop): the new render is used")
            continue
        kept[post.output] = (entry.override, override_bytes(ws, post.output, entry))
    return kept


def _packs_of_changed_overrides(ws: Workspace, lock: Lock) -> set[str]:
    """Assets whose packed files were packed from other overrides than the lock now has."""
    from pixelgen.core.overrides import effective_pack_key

    return {
        asset_plan.asset.id
        for asset_plan in ws.plan.assets
        if asset_plan.pack_files and any(path in lock.packs and lock.packs[path]["key"] != effective_pack_key(asset_plan, lock)
                                         for path in asset_plan.pack_files)
    }


def _write_outputs(ws: Workspace, lock: Lock, stale_posts: list, result: Any, summary: BuildSummary,
                   kept_overrides: dict[str, tuple[dict, bytes]] | None = None) -> None:
    kept_overrides = kept_overrides or {}
    for post in stale_posts:
        produced = result.produced.get(post.key)
        if produced is None:
            continue  # failed: its previous output and lock entry stay
        override, override_data = kept_overrides.get(post.output, (None, b""))
        if override is not None:
            write_output(ws.out_dir, post.output, override_data, override["sha256"])
        else:
            write_output(ws.out_dir, post.output, produced.data, produced.digest)
        lock.outputs[post.output] = LockEntry(
            asset=post.asset_id,
            image=post.image,
            render_key=post.render_key,
            post_key=post.key,
            sha256=produced.digest,
            inputs=post.inputs,
            model=post.model,
            seed=post.seed,
            batch_size=int(produced.meta.get("batch_size", 1)),
            palette=produced.meta.get("palette"),
            quality=lock_quality_summary(produced.meta.get("metrics")),
            override=override,
        )
        summary.notes.extend(_notes(post.output, produced.meta))


def _refresh_identities(ws: Workspace, lock: Lock, options: BuildOptions, digests: FileDigestCache) -> None:
    """Model and LoRA records of the lock: current where this run resolved them, kept otherwise (--only)."""
    lock.manifest = ws.manifest.name
    used_models = {entry.model for entry in lock.outputs.values()}
    previous = lock.models
    lock.models = {name: record for name, record in previous.items() if name in used_models and name not in ws.resolved.models}
    lock.models.update(lock_model_records(ws, used_models, digests, previous))
    names = set(ws.resolved.loras) | set(lock.loras) if options.only else set(ws.resolved.loras)
    lock.loras = _identities_in_use(lock.loras, ws.resolved.loras, names)


def _deploy(ws: Workspace, lock: Lock, deploy_dir: Path, summary: BuildSummary, rendered_at: float) -> None:
    from pixelgen.commands.deploy import deploy_record_name, sync_deployed

    started = time.perf_counter()
    try:
        deployed = sync_deployed({path: ws.out_dir / path for path in [*lock.outputs, *lock.packs]}, deploy_dir,
                                 record_name=deploy_record_name(ws.manifest.name), source_root=ws.out_dir)
    except ValueError as exc:
        raise EnvironmentProblem(f"deploy to {deploy_dir} stopped: {exc}\n    fix: build again so every output exists, then deploy") from None
    summary.deploy_ms = (time.perf_counter() - started) * 1e3
    summary.render_to_deploy_ms = (time.perf_counter() - rendered_at) * 1e3
    summary.deployed = list(deployed.copied)
    summary.undeployed = list(deployed.removed)
    summary.deploy_dir = str(deploy_dir)
    if deployed.staging_fallback:
        summary.notes.append(f"deploy: {deployed.staging_fallback}")


def _pack(ws: Workspace, asset_plan: Any, result: Any, lock: Lock, summary: BuildSummary) -> int:
    """Pack one asset's final images into engine files; returns how many files were written."""
    from pixelgen.core.overrides import effective_pack_key, override_bytes
    from pixelgen.core.pack import pack_asset
    from pixelgen.files.fsutil import file_digest_inside, write_bytes_inside
    from pixelgen.files.hashing import sha256_bytes
    from pixelgen.formats.png import decode_png

    images = {}
    for post in asset_plan.posts:
        produced = result.produced.get(post.key)
        data = produced.data if produced else (hit.data if (hit := ws.store.get("post", post.key)) else None)
        if data is None:
            return 0  # an image is missing (failed): keep the previous pack
        entry = lock.outputs.get(post.output)
        if entry is not None and entry.override and entry.post_key == post.key:
            data = override_bytes(ws, post.output, entry)  # the engine gets the touched-up image
        images[post.image] = decode_png(data)
    packed = pack_asset(asset_plan.asset, images, manifest_name=ws.manifest.name)
    for name, seams in packed.report.get("seam", {}).items():
        summary.seam_errors[f"{asset_plan.asset.id}/{name}"] = seams.get("seam_error")
    for name, data in packed.files.items():
        path = f"{asset_plan.asset.id}/{name}"
        digest = sha256_bytes(data)
        target = ws.out_dir / path
        if file_digest_inside(ws.out_dir, target) != digest:
            write_bytes_inside(ws.out_dir, target, data)
        lock.packs[path] = {"asset": asset_plan.asset.id, "key": effective_pack_key(asset_plan, lock), "sha256": digest}
    return len(packed.files)


def records_stale_reasons(ws: Workspace, lock: Lock | None) -> list[str]:
    """Why the build records must be written again though no output changed; empty when they are current.

    The set must be the one the last build wrote (see :mod:`pixelgen.records.recordset`),
    and ``quality.json`` must cover every asset of the lock with the gates the
    manifest declares now.
    """
    import json

    from pixelgen.records.recordset import QUALITY_FILENAME, record_problems

    problems = record_problems(ws.out_dir, lock)
    if problems or lock is None or not lock.outputs:
        return problems
    try:
        recorded = json.loads((ws.out_dir / QUALITY_FILENAME).read_text("utf-8")).get("assets", {})
    except (OSError, ValueError):
        return [f"{QUALITY_FILENAME} unreadable"]
    locked_assets = {entry.asset for entry in lock.outputs.values()}
    if set(recorded) != locked_assets:
        return [f"{QUALITY_FILENAME} does not cover the assets of the lock"]
    for asset_plan in ws.every_asset.assets:
        entry = recorded.get(asset_plan.asset.id)
        if entry is None:
            continue
        declared = json.loads(json.dumps(dict(asset_plan.asset.quality)))
        if (entry.get("gates", {}).get("thresholds") or {}) != declared:
            return ["quality gates changed"]
    return []


def _write_records(ws: Workspace, lock: Lock, previous: dict[str, LockEntry], result: Any, stale_posts: list, summary: BuildSummary,
                   options: BuildOptions, started_at: str, digests: FileDigestCache) -> Any:
    """Score every asset, then write quality.json, report.html, the SBOM and the provenance as one set."""
    from pixelgen.files.fsutil import write_bytes_atomic
    from pixelgen.records.recordset import PROVENANCE_FILENAME, SBOM_FILENAME

    assessment, files = _assess(ws, lock, previous, result, stale_posts, summary)
    if lock.outputs:
        from pixelgen.records.buildinfo import build_info, default_tasks
        from pixelgen.records.provenance import (
            restricted_licenses,
            write_provenance_files,
        )

        info = build_info(ws, lock, started_at=started_at, selection=options.only, tasks=default_tasks(lock), digests=digests)
        write_provenance_files(ws.out_dir, info, sbom_timestamp=options.sbom_timestamp, records=files)
        summary.provenance_written = True
        summary.warnings.extend(restricted_licenses(info))
    else:
        # Nothing is built any more: the statement and SBOM of earlier outputs would describe files that are gone.
        for name in (PROVENANCE_FILENAME, SBOM_FILENAME):
            (ws.out_dir / name).unlink(missing_ok=True)
        for name, data in files.items():
            write_bytes_atomic(ws.out_dir / name, data)
    return assessment


def _assess(ws: Workspace, lock: Lock, previous: dict[str, LockEntry], result: Any, stale_posts: list, summary: BuildSummary) -> tuple[Any, dict[str, bytes]]:
    """Score every asset of the manifest (not only a ``--only`` selection) and check the gates."""
    from dataclasses import replace

    from pixelgen.formats.png import decode_png
    from pixelgen.quality.stage import assess, quality_and_report

    ws = replace(ws, plan=ws.every_asset, full_plan=None)
    images: dict[str, Any] = {}
    image_bytes: dict[str, bytes] = {}
    metrics: dict[str, Any] = {}
    for post in ws.plan.posts:
        source = result.produced.get(post.key) or ws.store.get("post", post.key)
        locked = lock.outputs.get(post.output)
        if source is None and locked is not None:
            source = ws.store.get("post", locked.post_key)  # outside a --only selection: what is on disk
        if source is None:
            continue  # failed this build
        if locked is not None and locked.override and locked.post_key == post.key:
            # Overrides are scored and gated like renders.
            from pixelgen.core.overrides import override_scores

            images[post.output], image_bytes[post.output], metrics[post.output] = override_scores(ws, post, locked, source)
            continue
        images[post.output] = decode_png(source.data)
        image_bytes[post.output] = source.data
        metrics[post.output] = source.meta.get("metrics", {})
    assessment = assess(ws, lock, previous, images, metrics)
    _add_training_gates(ws, assessment)
    changed_outputs = {post.output for post in stale_posts if post.key in result.produced}
    previous_images = {}
    for path in changed_outputs:
        before = previous.get(path)
        hit = ws.store.get("post", before.post_key) if before else None
        if hit is not None and before.post_key != lock.outputs[path].post_key:
            previous_images[path] = decode_png(hit.data)
    changed_assets = {post.asset_id for post in stale_posts if post.output in changed_outputs}
    files = quality_and_report(ws, lock, assessment, changed=changed_assets, previous_images=previous_images, image_bytes=image_bytes,
                               summary={"built": result.posts_built, "from cache": result.posts_cached, "rendered": result.rendered,
                                        "removed": len(summary.removed), "failed": len(result.failures)})
    return assessment, files


def _gates_from_recorded_scores(ws: Workspace) -> Any:
    """A no-op build re-checks the gates on the recorded scores."""
    import json

    from pixelgen.quality.gates import evaluate_gates
    from pixelgen.quality.stage import QUALITY_FILENAME, Assessment

    quality_file = ws.out_dir / QUALITY_FILENAME
    document = json.loads(quality_file.read_text("utf-8")) if quality_file.is_file() else {"assets": {}}
    assessment = Assessment(document=document)
    for asset_plan in ws.plan.assets:
        entry = document.get("assets", {}).get(asset_plan.asset.id)
        if entry and asset_plan.asset.quality:
            gates = evaluate_gates(asset_plan.asset.id, entry["metrics"], dict(asset_plan.asset.quality))
            assessment.violations.extend(gates.violations)
            assessment.skipped.extend(gates.skipped)
    _add_training_gates(ws, assessment)
    return assessment


def _add_training_gates(ws: Workspace, assessment: Any) -> None:
    if ws.plan.trainings:
        from pixelgen.core.training import training_gate_violations

        assessment.violations.extend(training_gate_violations(ws.plan.trainings, ws.store))


def _identities_in_use(previous: dict[str, Any], current: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """Resolved identities for the lock: current where known, else what the lock had (``--only`` builds)."""
    return {name: current.get(name, previous.get(name)) for name in sorted(names) if name in current or name in previous}


def _notes(output: str, meta: dict[str, Any]) -> list[str]:
    report = meta.get("report") or {}
    notes = []
    if report.get("fallback"):
        notes.append(f"{output}: {report['fallback']}")
    for note in report.get("notes") or []:
        notes.append(f"{output}: {note}")
    return notes


def diffusers_generator_factory(options: BuildOptions) -> Callable[[Workspace], Any]:
    def factory(ws: Workspace) -> Any:
        from pixelgen.core.training import lora_specs_for_render
        from pixelgen.render.diffusers_backend import DiffusersGenerator

        return DiffusersGenerator(
            models=ws.manifest.models,
            loras=lora_specs_for_render(ws),
            cache_dir=ws.cache_dir,
            device=options.device,
            dtype=options.dtype,
            controlnets=ws.manifest.controlnets,
            adapters=ws.manifest.adapters,
        )

    return factory


def _no_renders_left(ws: Workspace) -> Any:
    raise EnvironmentProblem(
        "--finish: some renders are not in the cache, so a shard did not finish or rendered other inputs\n"
        "    fix: run the missing shards again (`pixelgen build MANIFEST --shard I/N`), then finish; `pixelgen status` lists what is stale"
    )


class _NoBuildLock:
    waited = False

    def __enter__(self) -> "_NoBuildLock":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _build_lock:
    """An exclusive lock per manifest, so two builds never interleave writes."""

    def __init__(self, manifest_path: Path, wait_seconds: float) -> None:
        from filelock import FileLock

        folder = manifest_path.resolve().parent / ".pixelgen" / "locks"
        for part in (folder.parent, folder):
            if part.is_symlink():  # beside the manifest, i.e. in a checkout: create nothing through a link
                raise OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(part))
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{manifest_path.stem}.build.lock"
        self.lock = FileLock(str(self.path))
        self.wait_seconds = wait_seconds

    def __enter__(self) -> "_build_lock":
        from filelock import Timeout

        self.waited = False
        try:
            self.lock.acquire(timeout=0)
            return self
        except Timeout:
            log.warning("another build of this manifest is running; waiting for it to finish (lock %s)", self.path)
            self.waited = True
        try:
            self.lock.acquire(timeout=self.wait_seconds)
        except Timeout:
            raise EnvironmentProblem(
                f"another build of this manifest still holds {self.path} after {self.wait_seconds:.0f} s; "
                "wait for it, or stop it"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@dataclass(frozen=True)
class GcResult:
    cache_dir: Path
    kept_renders: int
    kept_assets: int
    removed_entries: int = 0
    freed_bytes: int = 0


@translate_os_errors("clean the cache")
def collect_garbage(manifests: list[Path], cache_dir: Path | None, *, dry_run: bool = False,
                    wait_seconds: float = BUILD_LOCK_WAIT_SECONDS) -> GcResult:
    """Remove cache entries no given manifest's lock references, holding the cache exclusively.

    The locks are read only once no build holds the cache, so renders a build
    stored but has not yet recorded in its lock are never collected.
    """
    from pixelgen.core.remote_store import cache_location, open_store

    roots = {cache_location(Path(manifest), cache_dir) for manifest in manifests}
    if len(roots) != 1:
        raise InputError("these manifests use different cache folders; pass --cache-dir or run gc once per cache")
    root, shared_cache = roots.pop()
    store = open_store(root, shared_cache)
    with CacheLock(root, exclusive=True, wait_seconds=wait_seconds):
        from pixelgen.core.overrides import store_keeps

        keep: dict[str, set[str]] = {"render": set(), "post": set(), "override": set()}
        for manifest in manifests:
            lock_path = Path(manifest).with_name(f"{Path(manifest).stem}.lock.json")
            lock = read_lock(lock_path)
            if lock is None:
                raise InputError(f"{lock_path}: no lock file; build {manifest} first so gc knows what to keep")
            for entry in lock.outputs.values():
                keep["render"].add(entry.render_key)
                keep["post"].add(entry.post_key)
            for level, keys in store_keeps(lock).items():
                keep[level] |= keys
            from pixelgen.core.training import trained_keys

            for level, keys in trained_keys(lock.loras).items():
                keep.setdefault(level, set()).update(keys)
        if dry_run:
            return GcResult(root, len(keep["render"]), len(keep["post"]))
        removed, freed = store.gc(keep)
    return GcResult(Path(root) if shared_cache is None else shared_cache, len(keep["render"]), len(keep["post"]), removed, freed)
