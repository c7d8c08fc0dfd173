"""``pixelgen verify``: are the outputs on disk the ones the lock and provenance say were built?

Checks, in order: each output's sha256 against the lock; each output against
the cache object of its job key, and packed files against a fresh re-pack of
those objects (so editing an output, the lock and the provenance together is
still caught); the provenance statement's subjects against the lock; the
model and LoRA files on disk against the digests the lock recorded (``--full``
re-hashes them without the digest memo); and, with ``render_sample``, re-renders
a few assets from scratch (into a throw-away cache) and compares them with
what was built — byte equality on CPU, SSIM on GPU where bit-exactness is not
promised.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pixelgen.errors import CorruptStoreError, InputError, translate_os_errors
from pixelgen.files.fsutil import file_digest_inside
from pixelgen.files.hashing import FileDigestCache, content_key

GPU_MIN_SSIM = 0.98


@dataclass(frozen=True)
class Mismatch:
    subject: str
    message: str

    def render(self) -> str:
        return f"{self.subject}: {self.message}"


@translate_os_errors("read")
def verify(manifest_path: Path, options: Any, *, render_sample: int = 0, sample_seed: int = 0,
           make_generator: Callable[[Any], Any] | None = None) -> tuple[list[Mismatch], list[str]]:
    """Return (mismatches, notes). No mismatches means everything checked out.

    The lock and the provenance statement are not trusted on their own (both
    are plain files anyone with write access can edit consistently): each
    output is also compared with the cache object its job produced, packed
    files are packed again from those objects, and model files are compared
    with the digest recorded for their identity. ``options.full_hash``
    re-hashes every model file instead of trusting the digest memo.
    """
    from pixelgen.commands.build import diffusers_generator_factory
    from pixelgen.core.workspace import open_workspace
    from pixelgen.records.buildinfo import model_files
    from pixelgen.records.intoto import read_provenance_subjects
    from pixelgen.records.provenance import PROVENANCE_FILENAME

    ws = open_workspace(manifest_path, options)
    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build the manifest before verifying it")
    mismatches: list[Mismatch] = []
    notes: list[str] = []

    # 1. Outputs (images and packed files) against the lock; an adopted override is what the file must hold.
    from pixelgen.core.overrides import expected_digest

    recorded = {path: expected_digest(entry) for path, entry in ws.lock.outputs.items()}
    recorded.update({path: entry["sha256"] for path, entry in ws.lock.packs.items()})
    on_disk: dict[str, str | None] = {}
    for path, digest in sorted(recorded.items()):
        on_disk[path] = actual = file_digest_inside(ws.out_dir, ws.out_dir / path)
        if actual is None:
            mismatches.append(Mismatch(path, "missing from the output folder"))
        elif actual != digest:
            hint = f" (a touch-up? `pixelgen adopt {manifest_path} {path}` records it)" if path in ws.lock.outputs else ""
            mismatches.append(Mismatch(path, f"sha256 differs from the lock ({digest[:12]}…): the file was modified{hint}"))

    # 2. Outputs against what their jobs produced (the cache objects of their
    # job keys): an output edited together with the lock and provenance fails here.
    unchecked = 0
    for path, entry in sorted(ws.lock.outputs.items()):
        try:
            hit = ws.store.get("post", entry.post_key)
        except CorruptStoreError as exc:
            mismatches.append(Mismatch(path, f"its cache entry is malformed: {exc.message.splitlines()[0]}"))
            continue
        if entry.override:
            mismatches += _check_override(ws, path, entry, hit, on_disk.get(path))
        elif hit is None:
            unchecked += 1
        elif on_disk.get(path) is not None and hit.digest != on_disk[path]:
            mismatches.append(Mismatch(path, f"differs from the image its job {entry.post_key[:12]}… produced (cache object {hit.digest[:12]}…)"))
        elif hit.digest != entry.sha256:
            mismatches.append(Mismatch(path, "the lock records another sha256 than its job produced: the lock was edited"))
    mismatches += _repack(ws, on_disk, notes)
    if unchecked:
        notes.append(f"{unchecked} output(s) are not in the cache here: checked against the lock only (use --render-sample to re-derive them)")

    # 3. Provenance subjects against the lock.
    statement = ws.out_dir / PROVENANCE_FILENAME
    if statement.is_file():
        try:
            subjects = read_provenance_subjects(statement)
        except ValueError as exc:
            subjects = None
            mismatches.append(Mismatch(PROVENANCE_FILENAME, f"unreadable: {exc}"))
        for path, digest in sorted(recorded.items()) if subjects is not None else ():
            if subjects.get(path) != digest:
                mismatches.append(Mismatch(path, "provenance statement does not record this output's sha256"))
        for path in sorted(set(subjects or ()) - set(recorded)):
            mismatches.append(Mismatch(path, "in the provenance statement but not in the lock"))
    else:
        mismatches.append(Mismatch(PROVENANCE_FILENAME, "missing: run pixelgen build to write it"))
    # The other records must be the ones that statement lists (the set one build wrote).
    from pixelgen.records.recordset import BOUND_RECORDS, record_problems

    for problem in record_problems(ws.out_dir, ws.lock):
        name = problem.split(" ", 1)[0]
        if name in BOUND_RECORDS:
            mismatches.append(Mismatch(name, problem.split(" ", 1)[1] + ": run pixelgen build to write the records again"))

    # 4. Model and LoRA files against what the outputs were built with.
    digests = FileDigestCache(None if getattr(options, "full_hash", False) else ws.cache_dir / "file-digests.json")
    for name, record in sorted(ws.lock.models.items()):
        files_recorded = record.get("files_sha256") if isinstance(record, dict) else None
        if name not in ws.manifest.models or files_recorded is None:
            continue
        files = model_files(ws.manifest.models[name], ws.resolved.models.get(name, {}), ws.cache_dir, digests)
        if not files:
            notes.append(f"model {name!r}: files not present here, not checked")
        elif content_key(files) != files_recorded:
            mismatches.append(Mismatch(f"model {name}", "its files differ from those the outputs were built with (swapped or modified weights)"))
    for name, identity in sorted(ws.lock.loras.items()):
        current = ws.resolved.loras.get(name)
        if current is not None and current != identity:
            mismatches.append(Mismatch(f"lora {name}", "its file differs from the one the outputs were built with"))

    # 5. Re-render a sample from scratch.
    if render_sample > 0:
        mismatches += _render_sample(ws, render_sample, sample_seed, make_generator or diffusers_generator_factory(options), notes)
    return mismatches, notes


def _check_override(ws: Any, path: str, entry: Any, generated: Any, actual: str | None) -> list[Mismatch]:
    """An adopted override: its stored bytes must be the file's, and the generated image the lock's."""
    from pixelgen.core.overrides import override_bytes

    found = []
    if generated is not None and generated.digest != entry.sha256:
        found.append(Mismatch(path, "the lock records another sha256 for the generated image than its job produced: the lock was edited"))
    try:
        stored = sha256_of(override_bytes(ws, path, entry))
    except CorruptStoreError as exc:
        return found + [Mismatch(path, exc.message.splitlines()[0])]
    if actual is not None and stored != actual:
        found.append(Mismatch(path, "differs from the adopted override kept in the cache or the repo"))
    return found


def sha256_of(data: bytes) -> str:
    from pixelgen.files.hashing import sha256_bytes

    return sha256_bytes(data)


def _repack(ws: Any, on_disk: dict[str, str | None], notes: list[str]) -> list[Mismatch]:
    """Pack each asset again from the cache objects of its images and compare with the packed files on disk."""
    from pixelgen.core.overrides import effective_pack_key, override_bytes
    from pixelgen.core.pack import pack_asset
    from pixelgen.files.hashing import sha256_bytes
    from pixelgen.formats.png import decode_png

    mismatches = []
    skipped = 0
    by_asset: dict[str, list[str]] = {}
    for path, entry in ws.lock.packs.items():
        by_asset.setdefault(entry["asset"], []).append(path)
    plans = {asset_plan.asset.id: asset_plan for asset_plan in ws.plan.assets}
    for asset_id, paths in sorted(by_asset.items()):
        asset_plan = plans.get(asset_id)
        if asset_plan is None or effective_pack_key(asset_plan, ws.lock) != ws.lock.packs[paths[0]]["key"]:
            skipped += 1  # the manifest changed since the build: `build --check` reports it
            continue
        images = {}
        for post in asset_plan.posts:
            entry = ws.lock.outputs.get(post.output)
            try:
                hit = ws.store.get("post", entry.post_key) if entry is not None else None
            except CorruptStoreError:
                hit = None  # reported per output above
            if hit is None:
                break
            try:
                data = override_bytes(ws, post.output, entry) if entry.override else hit.data
            except CorruptStoreError:
                break  # reported per output above
            images[post.image] = decode_png(data)
        else:
            packed = pack_asset(asset_plan.asset, images, manifest_name=ws.manifest.name)
            for name, data in packed.files.items():
                path = f"{asset_id}/{name}"
                if path in on_disk and on_disk[path] is not None and on_disk[path] != sha256_bytes(data):
                    mismatches.append(Mismatch(path, "differs from the file packed again from its images"))
            continue
        skipped += 1
    if skipped:
        notes.append(f"{skipped} asset(s) with packed files not re-packed (images not in the cache, or the manifest changed)")
    return mismatches


def _render_sample(ws: Any, count: int, seed: int, make_generator: Callable[[Any], Any], notes: list[str]) -> list[Mismatch]:
    from pixelgen.core.run import Runner
    from pixelgen.core.store import Store

    posts = {post.output: post for post in ws.plan.posts}
    candidates = sorted(path for path, entry in ws.lock.outputs.items() if path in posts and posts[path].key == entry.post_key)
    chosen_assets = sorted({ws.lock.outputs[p].asset for p in candidates})
    chosen_assets = random.Random(seed).sample(chosen_assets, min(count, len(chosen_assets)))
    selected = [posts[p] for p in candidates if ws.lock.outputs[p].asset in chosen_assets]
    mismatches = []
    with tempfile.TemporaryDirectory(prefix="pixelgen-verify-") as scratch:
        generator = make_generator(ws)
        runner = Runner(Store(Path(scratch)), lambda: generator, ws.resolved, batch_size=1, force=True)
        result = runner.run(ws.plan, selected)
        on_gpu = getattr(generator, "device", "cpu") != "cpu"
        for post in selected:
            entry = ws.lock.outputs[post.output]
            produced = result.produced.get(post.key)
            if produced is None:
                mismatches.append(Mismatch(post.output, f"re-render failed: {result.failures.get(post.asset_id, 'unknown error')}"))
            elif produced.digest == entry.sha256:
                continue
            elif on_gpu or entry.batch_size > 1:
                # An adopted touch-up is in OUT: compare with the generated image its job made then.
                generated = ws.store.get("post", entry.post_key) if entry.override else None
                ssim = (reference_ssim(produced.data, generated.data) if generated is not None
                        else _ssim_against_output(ws.out_dir / post.output, produced.data))
                why = "GPU" if on_gpu else f"built in a batch of {entry.batch_size}"
                if ssim is None or ssim < GPU_MIN_SSIM:
                    mismatches.append(Mismatch(post.output, f"re-render differs (SSIM {ssim} < {GPU_MIN_SSIM}, {why})"))
                else:
                    notes.append(f"{post.output}: re-render not bit-identical ({why}) but SSIM {ssim:.4f}")
            else:
                mismatches.append(Mismatch(post.output, "re-render on CPU is not byte-identical to the built output"))
        notes.append(f"re-rendered {len(selected)} image(s) of {len(chosen_assets)} asset(s): {', '.join(chosen_assets)}")
    return mismatches


def reference_ssim(data: bytes, other: bytes) -> float | None:
    from pixelgen.formats.png import decode_png
    from pixelgen.quality.scores import reference_metrics

    return reference_metrics(decode_png(data), decode_png(other)).get("ssim")


def _ssim_against_output(path: Path, data: bytes) -> float | None:
    from pixelgen.files.fsutil import read_bytes_inside
    from pixelgen.formats.png import decode_png
    from pixelgen.quality.scores import reference_metrics

    current = read_bytes_inside(path.parent, path)
    if current is None:
        return None
    return reference_metrics(decode_png(data), decode_png(current)).get("ssim")
