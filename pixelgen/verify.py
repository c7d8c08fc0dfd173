"""``pixelgen verify``: are the outputs on disk the ones the lock and provenance say were built?

Checks, in order: each output's sha256 against the lock; the provenance
statement's subjects against the lock; the model and LoRA files on disk
against the digests the lock recorded; and, with ``render_sample``, re-renders
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

from pixelgen.errors import InputError
from pixelgen.hashing import FileDigestCache, content_key, sha256_file

GPU_MIN_SSIM = 0.98


@dataclass(frozen=True)
class Mismatch:
    subject: str
    message: str

    def render(self) -> str:
        return f"{self.subject}: {self.message}"


def verify(manifest_path: Path, options: Any, *, render_sample: int = 0, sample_seed: int = 0,
           make_generator: Callable[[Any], Any] | None = None) -> tuple[list[Mismatch], list[str]]:
    """Return (mismatches, notes). No mismatches means everything checked out."""
    from pixelgen.build import diffusers_generator_factory, open_workspace
    from pixelgen.buildinfo import model_files
    from pixelgen.provenance import PROVENANCE_FILENAME, read_provenance_subjects

    ws = open_workspace(manifest_path, options)
    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build the manifest before verifying it")
    mismatches: list[Mismatch] = []
    notes: list[str] = []

    # 1. Outputs (images and packed files) against the lock.
    recorded = {path: entry.sha256 for path, entry in ws.lock.outputs.items()}
    recorded.update({path: entry["sha256"] for path, entry in ws.lock.packs.items()})
    for path, digest in sorted(recorded.items()):
        target = ws.out_dir / path
        if not target.is_file():
            mismatches.append(Mismatch(path, "missing from the output folder"))
        elif sha256_file(target) != digest:
            mismatches.append(Mismatch(path, f"sha256 differs from the lock ({digest[:12]}…): the file was modified"))

    # 2. Provenance subjects against the lock.
    statement = ws.out_dir / PROVENANCE_FILENAME
    if statement.is_file():
        subjects = read_provenance_subjects(statement)
        for path, digest in sorted(recorded.items()):
            if subjects.get(path) != digest:
                mismatches.append(Mismatch(path, "provenance statement does not record this output's sha256"))
        for path in sorted(set(subjects) - set(recorded)):
            mismatches.append(Mismatch(path, "in the provenance statement but not in the lock"))
    else:
        mismatches.append(Mismatch(PROVENANCE_FILENAME, "missing: run pixelgen build to write it"))
    # The other records must be the ones that statement lists (the set one build wrote).
    from pixelgen.records import BOUND_RECORDS, record_problems

    for problem in record_problems(ws.out_dir, ws.lock):
        name = problem.split(" ", 1)[0]
        if name in BOUND_RECORDS:
            mismatches.append(Mismatch(name, problem.split(" ", 1)[1] + ": run pixelgen build to write the records again"))

    # 3. Model and LoRA files against what the outputs were built with.
    digests = FileDigestCache(ws.cache_dir / "file-digests.json")
    for name, record in sorted(ws.lock.models.items()):
        recorded = record.get("files_sha256") if isinstance(record, dict) else None
        if name not in ws.manifest.models or recorded is None:
            continue
        files = model_files(ws.manifest.models[name], ws.resolved.models.get(name, {}), ws.cache_dir, digests)
        if not files:
            notes.append(f"model {name!r}: files not present here, not checked")
        elif content_key(files) != recorded:
            mismatches.append(Mismatch(f"model {name}", "its files differ from those the outputs were built with (swapped or modified weights)"))
    for name, identity in sorted(ws.lock.loras.items()):
        current = ws.resolved.loras.get(name)
        if current is not None and current != identity:
            mismatches.append(Mismatch(f"lora {name}", "its file differs from the one the outputs were built with"))

    # 4. Re-render a sample from scratch.
    if render_sample > 0:
        mismatches += _render_sample(ws, render_sample, sample_seed, make_generator or diffusers_generator_factory(options), notes)
    return mismatches, notes


def _render_sample(ws: Any, count: int, seed: int, make_generator: Callable[[Any], Any], notes: list[str]) -> list[Mismatch]:
    from pixelgen.run import Runner
    from pixelgen.store import Store

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
                ssim = _ssim_against_output(ws.out_dir / post.output, produced.data)
                why = "GPU" if on_gpu else f"built in a batch of {entry.batch_size}"
                if ssim is None or ssim < GPU_MIN_SSIM:
                    mismatches.append(Mismatch(post.output, f"re-render differs (SSIM {ssim} < {GPU_MIN_SSIM}, {why})"))
                else:
                    notes.append(f"{post.output}: re-render not bit-identical ({why}) but SSIM {ssim:.4f}")
            else:
                mismatches.append(Mismatch(post.output, "re-render on CPU is not byte-identical to the built output"))
        notes.append(f"re-rendered {len(selected)} image(s) of {len(chosen_assets)} asset(s): {', '.join(chosen_assets)}")
    return mismatches


def _ssim_against_output(path: Path, data: bytes) -> float | None:
    from pixelgen.png import decode_png
    from pixelgen.quality import reference_metrics

    if not path.is_file():
        return None
    return reference_metrics(decode_png(data), decode_png(path.read_bytes())).get("ssim")
