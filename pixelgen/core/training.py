"""Trained LoRAs as jobs of the build: identity, planning, running, scoring (no torch here).

A LoRA declared with ``train:`` is identified by everything that changes its
weights: the digest of every image and caption of its dataset, the training
settings, and the base model's identity. That identity stands where a LoRA
file's sha256 would, so it flows into the keys of every render that uses the
LoRA: changing the dataset re-trains the LoRA and re-renders exactly the
assets that use it. The trained weights are cached like renders, under
``jobs/train/``; checkpoints under ``jobs/train-checkpoint/`` let a killed
training resume; validation renders, scores and the loss curve are kept with
the trained LoRA for the report, the gates and the provenance.

Torch is imported only by :mod:`pixelgen.render.train`, when something is
actually trained.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO

import numpy as np

from pixelgen.core.dataset import DatasetImage, dataset_listing, describe_dataset_change
from pixelgen.files.hashing import content_key
from pixelgen.manifest.model import TrainSpec

# Bump when pixelgen's training recipe changes the weights it produces.
TRAIN_VERSION = 1
# The settings that change the trained weights. Not checkpoint_every (resuming reaches the
# same bytes), not gradient_checkpointing (it recomputes the same activations to save memory),
# not validation or quality (they read the LoRA, they do not change it).
KEY_SETTINGS = ("rank", "alpha", "steps", "lr", "resolution", "batch_size", "seed", "precision", "flip")
DEFAULT_VALIDATION_PROMPTS = 4
TRAIN_LEVEL = "train"
CHECKPOINT_LEVEL = "train-checkpoint"
VALIDATION_LEVEL = "train-validation"


def train_identity(spec: TrainSpec, images: Sequence[DatasetImage], base_identity: dict[str, Any]) -> dict[str, Any]:
    """The identity of a trained LoRA: what its key is the digest of (recorded in the lock, so ``status`` can say what changed)."""
    return {
        "train": {
            "version": TRAIN_VERSION,
            "base": base_identity,
            "settings": {name: getattr(spec, name) for name in KEY_SETTINGS},
            "dataset": dataset_listing(list(images)),
        }
    }


@dataclass(frozen=True)
class TrainJob:
    """One LoRA to train: a pure value derived from the manifest and the resolved dataset."""

    key: str
    lora: str  # the LoRA's name under `loras:`
    spec: TrainSpec
    identity: dict[str, Any]
    images: tuple[DatasetImage, ...]

    @property
    def validation_prompts(self) -> tuple[str, ...]:
        return self.spec.validation_prompts or tuple(image.caption for image in self.images[:DEFAULT_VALIDATION_PROMPTS])


def plan_trainings(loras: dict[str, Any], resolved_loras: dict[str, dict[str, Any]], datasets: dict[str, tuple[DatasetImage, ...]]) -> dict[str, TrainJob]:
    """The training jobs of the LoRAs resolved as trained (pure)."""
    jobs = {}
    for name, identity in sorted(resolved_loras.items()):
        spec = loras[name]
        if spec.kind != "trained" or name not in datasets:
            continue
        jobs[name] = TrainJob(key=content_key(identity), lora=name, spec=spec.train, identity=identity, images=datasets[name])
    return jobs


def lora_change_reasons(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Why a trained LoRA's identity changed, in words: ``dataset changed (3 images added)``, ``training settings changed (steps, lr)``."""
    if previous is None:
        return ["new"]
    before, now = previous.get("train"), current.get("train")
    if not isinstance(before, dict) or not isinstance(now, dict):
        return ["changed from a LoRA file to a trained LoRA"]
    reasons = []
    change = describe_dataset_change(before.get("dataset") or {}, now.get("dataset") or {})
    if change:
        reasons.append(change)
    settings = sorted(name for name in set(now["settings"]) | set(before.get("settings") or {})
                      if now["settings"].get(name) != (before.get("settings") or {}).get(name))
    if settings:
        reasons.append(f"training settings changed ({', '.join(settings)})")
    if before.get("base") != now.get("base"):
        reasons.append("base model changed")
    if before.get("version") != now.get("version"):
        reasons.append("pixelgen's training recipe changed")
    return reasons


def training_status(trainings: dict[str, TrainJob], lock_loras: dict[str, Any], store: Any) -> list[dict[str, Any]]:
    """Per trained LoRA: whether its weights are trained and recorded, and if not why."""
    states = []
    for name, job in sorted(trainings.items()):
        previous = lock_loras.get(name)
        reasons = [] if previous == job.identity else lora_change_reasons(previous, job.identity)
        if not reasons and not store.has(TRAIN_LEVEL, job.key):
            reasons = ["not trained (not in the cache)"]
        states.append({"lora": name, "key": job.key, "up_to_date": not reasons, "reasons": reasons, "images": len(job.images)})
    return states


def loras_to_train(plan: Any, store: Any, stale_posts: Iterable[Any], *, force: bool = False) -> list[str]:
    """Trained LoRAs that renders of this build need: used by a render neither it nor its post-processed image is cached for."""
    names: set[str] = set()
    stale_assets = {post.asset_id for post in stale_posts}
    for asset_plan in plan.assets:
        if asset_plan.asset.id not in stale_assets:
            continue
        for post in asset_plan.posts:  # every image of the asset: a shared palette re-processes them all
            render = plan.renders[post.render_key]
            wanted = [name for name, _weight in render.loras if name in plan.trainings]
            if not wanted or names.issuperset(wanted):
                continue
            if force or not (store.has("post", post.key) or store.has("render", render.key)):
                names.update(wanted)
    return sorted(names)


# --------------------------------------------------------------------------- running


@dataclass
class TrainOutcome:
    lora: str
    key: str
    trained: bool  # False: the cache had it
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)


class TrainProgress:
    """``train house: step 120/1500  loss 0.0831  2.41 it/s  ETA 9 m 32 s`` lines (a few per second at most)."""

    def __init__(self, stream: TextIO | None, *, interval_s: float = 1.0) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self._last = 0.0

    def note(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def step_printer(self, name: str, total: int, start: int) -> Callable[[int, float], None]:
        began = time.perf_counter()

        def on_step(step: int, loss: float) -> None:
            now = time.perf_counter()
            if self.stream is None or (now - self._last < self.interval_s and step < total):
                return
            self._last = now
            done = step - start
            rate = done / (now - began) if now > began else 0.0
            eta = f"  ETA {_duration((total - step) / rate)}" if rate > 0 and step < total else ""
            print(f"train {name}: step {step}/{total}  loss {loss:.4f}  {rate:.2f} it/s{eta}", file=self.stream, flush=True)

        return on_step


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{int(seconds // 60)} m {int(seconds % 60)} s"
    return f"{seconds / 3600:.1f} h"


def lora_file(cache_dir: Path, job: TrainJob) -> Path:
    return Path(cache_dir) / "trained-loras" / f"{job.lora}-{job.key[:16]}.safetensors"


def run_trainings(ws: Any, names: Sequence[str], *, device: str = "auto", force: bool = False,
                  progress: TrainProgress | None = None) -> dict[str, TrainOutcome]:
    """Train (or take from the cache) each named LoRA; write its weights where ``load_lora_weights`` reads them."""
    from pixelgen.files.fsutil import file_digest_inside, write_bytes_inside

    outcomes = {}
    for name in names:
        job = ws.plan.trainings[name]
        hit = None if force else ws.store.get(TRAIN_LEVEL, job.key)
        trained = hit is None
        if hit is None:
            _train(ws, job, device=device, force=force, progress=progress)
            hit = ws.store.get(TRAIN_LEVEL, job.key)
            if hit is None:  # pragma: no cover - the store lost what was just written
                raise RuntimeError(f"the trained LoRA {name!r} vanished from the cache")
        path = lora_file(ws.cache_dir, job)
        if file_digest_inside(ws.cache_dir, path) != hit.digest:
            write_bytes_inside(ws.cache_dir, path, hit.data)
        outcomes[name] = TrainOutcome(name, job.key, trained, path, hit.meta)
    return outcomes


def _train(ws: Any, job: TrainJob, *, device: str, force: bool, progress: TrainProgress | None) -> None:
    from pixelgen.core.dataset import load_rgba
    from pixelgen.render.train import train_lora

    store = ws.store
    checkpoint = None if force else store.get(CHECKPOINT_LEVEL, job.key)
    start = int(checkpoint.meta.get("step", 0)) if checkpoint else 0
    if progress:
        resumed = f", resuming at step {start}" if checkpoint else ""
        progress.note(f"training LoRA {job.lora!r} on {len(job.images)} images, {job.spec.steps} steps{resumed}…")
    items = [(load_rgba(image.path), image.caption) for image in job.images]

    # Scores of the validations during training (validation.every), kept with the checkpoints so a resumed training has them all.
    history: list[dict[str, Any]] = list(checkpoint.meta.get("validation_history", [])) if checkpoint else []

    def save_checkpoint(data: bytes, step: int) -> None:
        store.put(CHECKPOINT_LEVEL, job.key, data, {"step": step, "validation_history": list(history)})

    def on_validation(step: int, renders: dict[str, Any]) -> None:
        history.append({"step": step, **score_validation(job, items, renders)["summary"]})

    base = ws.manifest.models[job.spec.base]
    try:
        result = train_lora(
            base, job.spec, items, cache_dir=ws.cache_dir, device=device,
            checkpoint=checkpoint.data if checkpoint else None, save_checkpoint=save_checkpoint,
            on_step=progress.step_printer(job.lora, job.spec.steps, start) if progress else None,
            on_status=progress.note if progress else None,
            validation_prompts=job.validation_prompts, on_validation=on_validation,
        )
    except ValueError as exc:
        if checkpoint is None:
            raise
        # A checkpoint that does not fit (damaged, or another recipe's): start over rather than fail.
        from pixelgen.core.store import log

        log.warning("checkpoint of LoRA %r cannot be resumed (%s); training from the start", job.lora, exc)
        return _train(ws, job, device=device, force=True, progress=progress)
    validation = score_validation(job, items, result.validation) if result.validation else {}
    grid_digest = None
    if result.validation:
        from pixelgen.formats.png import encode_png

        grid_digest = store.put(VALIDATION_LEVEL, job.key, encode_png(validation_grid(items, job, result.validation)), {})
    meta = {
        "steps": job.spec.steps,
        "losses": [round(loss, 6) for loss in result.losses],
        "seconds": round(result.seconds, 3),
        "resumed_from": result.resumed_from,
        "images": len(items),
        "validation": validation,
        "validation_history": history + ([{"step": job.spec.steps, **validation["summary"]}] if validation else []),
        "validation_grid": grid_digest,
        "metrics": training_metrics(result.losses, validation),
    }
    store.put(TRAIN_LEVEL, job.key, result.lora, meta)
    if progress:
        progress.note(f"trained LoRA {job.lora!r} in {result.seconds:.1f} s: loss {meta['metrics']['first_loss']:.4f} → {meta['metrics']['final_loss']:.4f}")


# --------------------------------------------------------------------------- validation scores (numpy)


def _fit_square(image: np.ndarray, side: int) -> np.ndarray:
    from pixelgen.core.dataset import fit_nearest, flatten_alpha

    return flatten_alpha(fit_nearest(image, (side, side)))


def palette_distance(image: np.ndarray, palette: np.ndarray, *, max_pixels: int = 16384) -> float:
    """Mean Oklab distance (×100) from each pixel of ``image`` to its nearest ``palette`` colour."""
    from pixelgen.pixelart.color import srgb_to_oklab

    pixels = image[..., :3].reshape(-1, 3)
    if len(pixels) > max_pixels:
        pixels = pixels[:: len(pixels) // max_pixels + 1]
    a, b = srgb_to_oklab(pixels.astype(np.uint8)), srgb_to_oklab(palette.astype(np.uint8))
    distances = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(distances.mean() * 100.0)


def training_palette(items: Sequence[tuple[np.ndarray, str]], *, limit: int = 256) -> np.ndarray:
    """The ``limit`` most frequent colours of the training images."""
    rgb = np.concatenate([(image[..., :3][image[..., 3] > 0] if image.shape[-1] == 4 else image.reshape(-1, 3)).reshape(-1, 3) for image, _ in items])
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    return colours[np.argsort(-counts, kind="stable")[:limit]]


def score_validation(job: TrainJob, items: Sequence[tuple[np.ndarray, str]], validation: dict[str, Any]) -> dict[str, Any]:
    """SSIM/PSNR against the best-matching training image and palette distance, with and without the LoRA.

    LPIPS (against that image) and CLIP distance (against the prompt) are added
    where their packages and weights are installed, else ``None`` with the reason.
    """
    from pixelgen.quality.scores import optional_metrics, reference_metrics

    side = validation["size"]
    references = [_fit_square(image, side) for image, _ in items]
    palette = training_palette(items)
    rows = []
    for index, prompt in enumerate(validation["prompts"]):
        row: dict[str, Any] = {"prompt": prompt}
        for label in ("without", "with"):
            render = validation[label][index]
            scores = [reference_metrics(render, reference) for reference in references]
            ssims = [s["ssim"] for s in scores if s["ssim"] is not None]
            psnrs = [s["psnr"] for s in scores if s["psnr"] is not None]
            closest = max(range(len(scores)), key=lambda i: scores[i]["ssim"] if scores[i]["ssim"] is not None else -2.0)
            row[label] = {
                "ssim": round(max(ssims), 4) if ssims else None,
                "psnr": round(max(psnrs), 3) if psnrs else None,
                "palette_distance": round(palette_distance(render, palette), 3),
                **optional_metrics(render, prompt=prompt, reference=references[closest]),
            }
        rows.append(row)

    def mean(label: str, metric: str) -> float | None:
        values = [row[label][metric] for row in rows if row[label][metric] is not None]
        return round(float(np.mean(values)), 4) if values else None

    summary = {f"{metric}_{label}": mean(label, metric) for label in ("with", "without")
               for metric in ("ssim", "psnr", "palette_distance", "lpips", "clip_distance")}
    return {"prompts": rows, "summary": summary, "size": side}


def training_metrics(losses: Sequence[float], validation: dict[str, Any]) -> dict[str, Any]:
    """What the training gates read: first and final loss (means of the first and last 10% of steps), the drop, validation gains."""
    window = max(1, len(losses) // 10)
    first = float(np.mean(losses[:window])) if losses else None
    final = float(np.mean(losses[-window:])) if losses else None
    summary = validation.get("summary", {}) if validation else {}
    ssim_with, ssim_without = summary.get("ssim_with"), summary.get("ssim_without")
    return {
        "first_loss": None if first is None else round(first, 6),
        "final_loss": None if final is None else round(final, 6),
        "loss_drop": None if not first or final is None else round(1.0 - final / first, 6),
        "ssim_gain": None if ssim_with is None or ssim_without is None else round(ssim_with - ssim_without, 4),
        "palette_distance": summary.get("palette_distance_with"),
    }


def validation_grid(items: Sequence[tuple[np.ndarray, str]], job: TrainJob, validation: dict[str, Any], *, gap: int = 2) -> np.ndarray:
    """One row per prompt: the training image it was taken from (default prompts) or blank, without the LoRA, with it."""
    side = validation["size"]
    rows = []
    for index, _prompt in enumerate(validation["prompts"]):
        reference = _fit_square(items[index][0], side) if not job.spec.validation_prompts and index < len(items) else np.full((side, side, 3), 255, np.uint8)
        cells = [reference, validation["without"][index], validation["with"][index]]
        row = np.full((side, 3 * side + 2 * gap, 3), 255, np.uint8)
        for column, cell in enumerate(cells):
            row[:, column * (side + gap) : column * (side + gap) + side] = cell[..., :3]
        rows.append(row)
    grid = np.full((len(rows) * side + (len(rows) - 1) * gap, 3 * side + 2 * gap, 3), 255, np.uint8)
    for index, row in enumerate(rows):
        grid[index * (side + gap) : index * (side + gap) + side] = row
    return grid


def training_gate_violations(trainings: dict[str, TrainJob], store: Any) -> list[Any]:
    """The training ``quality:`` gates, checked on the metrics recorded with each trained LoRA."""
    from pixelgen.quality.gates import evaluate_gates

    violations = []
    for name, job in sorted(trainings.items()):
        if not job.spec.quality:
            continue
        meta = store.meta(TRAIN_LEVEL, job.key)  # the metrics only: the weights need not be read and re-hashed
        if meta is None:
            continue
        violations.extend(evaluate_gates(f"lora:{name}", meta.get("metrics", {}), dict(job.spec.quality)).violations)
    return violations


# --------------------------------------------------------------------------- build integration


def train_for_build(ws: Any, stale_posts: Sequence[Any], options: Any) -> dict[str, TrainOutcome]:
    """What ``pixelgen build`` trains before it renders: LoRAs stale renders need, and (whole builds) declared ones never trained."""
    import sys

    names = set(loras_to_train(ws.plan, ws.store, stale_posts, force=options.force))
    if options.only is None:
        names.update(name for name, job in ws.plan.trainings.items() if not ws.store.has(TRAIN_LEVEL, job.key))
    if not names:
        return {}
    progress = TrainProgress(sys.stderr if options.progress else None)
    return run_trainings(ws, sorted(names), device=options.device, force=options.force, progress=progress)


def trained_for_shard(ws: Any, options: Any) -> dict[str, TrainOutcome]:
    """``--shard`` and ``--finish`` never train: every trained LoRA must already be in the shared cache.

    Shards run at once, so a shard that trained would train the same LoRA N
    times over (and a shard that waited for another would need a scheduler);
    training is a stage before rendering, like the finishing build after it.
    """
    missing = sorted(name for name, job in ws.plan.trainings.items() if not ws.store.has(TRAIN_LEVEL, job.key))
    if missing:
        from pixelgen.errors import EnvironmentProblem

        step = "--finish" if options.finish else f"--shard {options.shard[0]}/{options.shard[1]}"
        names = ", ".join(repr(name) for name in missing)
        raise EnvironmentProblem(
            f"{step}: the LoRA{'s' if len(missing) > 1 else ''} {names} of {ws.manifest.path.name} "
            f"{'are' if len(missing) > 1 else 'is'} trained by the build and not in the cache ({ws.cache_dir}); "
            "shards run in parallel, so they do not train\n"
            f"    fix: train first, once, with the same cache: `pixelgen train {ws.manifest.path}` "
            "(deploy/k8s/train.yaml on Kubernetes), then run the shards and the finishing build"
        )
    return run_trainings(ws, sorted(ws.plan.trainings))  # from the cache: writes each LoRA's file where renders load it


def weights_for_workers(ws: Any) -> tuple[tuple[str, str, bytes], ...]:
    """(name, sha256, bytes) of every trained LoRA the cache holds, for render workers on other machines (Ray).

    A worker elsewhere cannot read the driver's cache folder, so the weights travel with the generator's inputs.
    """
    from pixelgen.files.hashing import sha256_bytes

    weights = []
    for name, job in sorted(getattr(ws.plan, "trainings", {}).items()):
        outcome = ws.trained.get(name)
        data = outcome.path.read_bytes() if outcome is not None else None
        if data is None:
            hit = ws.store.get(TRAIN_LEVEL, job.key)
            data = hit.data if hit is not None else None
        if data is not None:
            weights.append((name, sha256_bytes(data), data))
    return tuple(weights)


@functools.lru_cache(maxsize=1)
def _worker_lora_folder() -> Path:
    """A private folder of this worker process (mkdtemp: 0700, a fresh name that no other user can plant first)."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pixelgen-trained-loras-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _weights_on_this_machine(weights: Sequence[tuple[str, str, bytes]]) -> dict[str, Path]:
    """Write trained LoRAs received from the driver into a folder of this machine; their paths by name."""
    from pixelgen.files.fsutil import write_bytes_atomic
    from pixelgen.files.hashing import sha256_bytes, sha256_file

    folder = _worker_lora_folder()
    paths = {}
    for name, digest, data in weights:
        if sha256_bytes(data) != digest:
            raise RuntimeError(f"the trained LoRA {name!r} was damaged on its way to this worker")
        path = folder / f"{name}-{digest[:16]}.safetensors"
        if not path.is_file() or path.is_symlink() or sha256_file(path) != digest:
            write_bytes_atomic(path, data)
        paths[name] = path
    return paths


def stale_trainings(ws: Any, outcomes: dict[str, TrainOutcome]) -> list[str]:
    return sorted(name for name, outcome in outcomes.items() if outcome.trained)


def lora_specs_for_render(ws: Any) -> dict[str, Any]:
    """The manifest's LoRAs, with each trained one replaced by its weights file in the cache."""
    from pixelgen.manifest.model import LoraSpec

    specs = dict(ws.manifest.loras)
    outcomes = dict(getattr(ws, "trained", {}))
    plan = getattr(ws, "plan", None)
    # verify --render-sample and compare render without training first: take what the cache holds.
    cached = [name for name, job in getattr(plan, "trainings", {}).items() if name not in outcomes and ws.store.has(TRAIN_LEVEL, job.key)]
    if cached:
        outcomes.update(run_trainings(ws, cached))
    paths = {name: outcome.path for name, outcome in outcomes.items()}
    # A Ray worker: the driver sent the weights (its cache folder may be on another machine).
    paths.update(_weights_on_this_machine(getattr(ws, "trained_weights", ())))
    for name, path in paths.items():
        specs[name] = LoraSpec(name=name, kind="file", source=str(path), license=specs[name].license)
    return specs


def report_trainings(trainings: dict[str, TrainJob], store: Any) -> list[Any]:
    """The report's view of each trained LoRA the cache holds: loss curve, validation grid and scores."""
    import base64

    from pixelgen.records.report import ReportTraining

    shown = []
    for name, job in sorted(trainings.items()):
        record = store.get(TRAIN_LEVEL, job.key)
        if record is None:
            continue
        meta = record.meta
        grid = store.get(VALIDATION_LEVEL, job.key) if meta.get("validation_grid") else None
        shown.append(ReportTraining(
            lora=name, key=job.key, images=int(meta.get("images", len(job.images))), steps=int(meta.get("steps", job.spec.steps)),
            seconds=meta.get("seconds"), metrics=dict(meta.get("metrics", {})), losses=[float(x) for x in meta.get("losses", [])],
            validation=list((meta.get("validation") or {}).get("prompts", [])),
            history=[entry for entry in meta.get("validation_history", []) if isinstance(entry, dict)],
            grid=None if grid is None else "data:image/png;base64," + base64.b64encode(grid.data).decode("ascii"),
        ))
    return shown


def provenance_of_training(ws: Any, name: str) -> tuple[Any, list[Any]] | None:
    """The SBOM/in-toto view of a trained LoRA: its LoraInfo (weights digest, training parameters) and one DataInfo per training image."""
    from pixelgen.records.provenance import DataInfo, LoraInfo

    job = ws.plan.trainings.get(name)
    record = ws.store.get(TRAIN_LEVEL, job.key) if job else None
    if record is None:
        return None  # not trained on this machine: the lock records its identity
    folder = Path(job.spec.images).name
    images = [DataInfo(name=f"{name}/{image.name}", kind="training_image", path=f"{folder}/{image.name}", sha256=image.sha256) for image in job.images]
    identity = job.identity["train"]
    spec = ws.manifest.loras[name]
    training = {
        "key": job.key,
        "base_model": job.spec.base,
        "settings": {**identity["settings"], "captions": job.spec.captions, "gradient_checkpointing": job.spec.gradient_checkpointing},
        "dataset_sha256": content_key(identity["dataset"]),
        "images": [image.name for image in images],
        "metrics": record.meta.get("metrics", {}),
    }
    source = f"trained:{folder}"
    return LoraInfo(name=name, source=source, weight_name=None, sha256=record.digest, license=spec.license, training=training), images


def trained_keys(lock_loras: dict[str, Any]) -> dict[str, set[str]]:
    """Cache entries ``gc`` keeps for the trained LoRAs a lock records: their weights and validation grids (not checkpoints)."""
    keys = {content_key(identity) for identity in lock_loras.values() if isinstance(identity, dict) and "train" in identity}
    return {TRAIN_LEVEL: keys, VALIDATION_LEVEL: set(keys)}
