"""Assemble the provenance record of a build from the workspace and the lock.

Also the digests of the model files a build used, which the lock records so
``pixelgen verify`` can tell when a model or LoRA on disk is not the one the
outputs were made with.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixelgen import __version__
from pixelgen.core.resolve import hub_snapshot_dir
from pixelgen.files.hashing import FileDigestCache, content_key
from pixelgen.manifest.model import ModelSpec
from pixelgen.pixelart import PIXELIZE_ALGORITHM_VERSION
from pixelgen.records.lock import Lock

if TYPE_CHECKING:
    from pixelgen.core.workspace import Workspace
    from pixelgen.records.provenance import BuildInfo


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_directory(spec: ModelSpec, identity: dict[str, Any], cache_dir: Path) -> Path | None:
    """Where a model's files are on this machine, if they are here."""
    if spec.kind == "builtin":
        from pixelgen.render.tiny import tiny_model_dir

        folder = tiny_model_dir(cache_dir)
    elif spec.kind == "hub":
        folder = hub_snapshot_dir(spec.source, str(identity.get("revision")))
    elif spec.kind == "diffusers_dir":
        folder = Path(spec.source)
    else:
        return None
    return folder if folder.is_dir() else None


def model_files(spec: ModelSpec, identity: dict[str, Any], cache_dir: Path, digests: FileDigestCache) -> list[tuple[str, str]]:
    """(relative path, sha256) of every file of a model that is present locally; memoised by stat."""
    if spec.kind == "single_file":
        path = Path(spec.source)
        return [(path.name, digests.file(path))] if path.is_file() else []
    folder = model_directory(spec, identity, cache_dir)
    if folder is None:
        return []
    return digests.tree(folder)[1]


def lock_model_records(ws: "Workspace", names: set[str], digests: FileDigestCache, previous: dict[str, Any]) -> dict[str, Any]:
    """The lock's record of each model: its identity and the digest of its files.

    When the files are not on this machine (a cached build on a CI runner
    without the weights), the digest recorded earlier for the same identity
    is kept rather than erased.
    """
    records = {}
    for name in sorted(names):
        if name not in ws.resolved.models:
            continue
        identity = ws.resolved.models[name]
        files = model_files(ws.manifest.models[name], identity, ws.cache_dir, digests)
        before = previous.get(name) or {}
        if files:
            files_sha256 = content_key(files)
            recorded = before.get("files_sha256") if before.get("identity") == identity else None
            if recorded is not None and recorded != files_sha256:
                # Never re-record different bytes under the same identity: that
                # would launder swapped weights (build() checks this before rendering).
                from pixelgen.errors import ModelChangedError

                raise ModelChangedError(f"model {name!r}: its files differ from those the lock recorded for the same identity; "
                                        "restore them, or delete the model's entry from the lock if the change is intended")
        else:
            files_sha256 = before.get("files_sha256") if before.get("identity") == identity else None
        records[name] = {"identity": identity, "files_sha256": files_sha256}
    return records


def changed_models(ws: "Workspace", lock: Lock, digests: FileDigestCache) -> list[tuple[str, str]]:
    """(name, " in FOLDER") of each model whose files here differ from the digest the lock recorded for its identity."""
    changed = []
    for name, record in sorted(lock.models.items()):
        if name not in ws.resolved.models or name not in ws.manifest.models or not isinstance(record, dict):
            continue
        identity = ws.resolved.models[name]
        recorded = record.get("files_sha256")
        if recorded is None or record.get("identity") != identity:
            continue
        spec = ws.manifest.models[name]
        files = model_files(spec, identity, ws.cache_dir, digests)
        if files and content_key(files) != recorded:
            folder = model_directory(spec, identity, ws.cache_dir)
            changed.append((name, f" in {folder}" if folder else f" ({spec.source})"))
    return changed


def build_info(ws: "Workspace", lock: Lock, *, started_at: str, selection: frozenset[str] | None, tasks: dict[str, dict[str, str]], digests: FileDigestCache) -> "BuildInfo":
    from pixelgen.records.envinfo import environment_fingerprint
    from pixelgen.records.provenance import (
        BuildInfo,
        DataInfo,
        FileDigest,
        LoraInfo,
        ModelInfo,
        OutputInfo,
        TaskInfo,
    )

    manifest = ws.manifest
    used_models = sorted({entry.model for entry in lock.outputs.values()} & set(manifest.models))
    models = []
    for name in used_models:
        spec = manifest.models[name]
        identity = ws.resolved.models.get(name, {})
        files = model_files(spec, identity, ws.cache_dir, digests)
        source = f"builtin:{spec.source}" if spec.kind == "builtin" else spec.source
        models.append(
            ModelInfo(
                name=name,
                source=source,
                kind=spec.kind,
                revision=identity.get("revision") if spec.kind == "hub" else None,
                files=tuple(FileDigest(path, digest) for path, digest in files),
                license=spec.license,
            )
        )
    loras = []
    training_data: list[Any] = []
    for name, identity in sorted(ws.resolved.loras.items()):
        spec = manifest.loras[name]
        digest = identity.get("sha256")
        if not digest and spec.kind == "hub":
            # An unpinned hub LoRA: hash the file the Hugging Face cache holds for the resolved commit.
            cached = hub_snapshot_dir(spec.source, str(identity.get("revision"))) / str(spec.weight_name)
            digest = digests.file(cached) if cached.is_file() else None
        if spec.kind == "trained":
            from pixelgen.core.training import provenance_of_training

            trained = provenance_of_training(ws, name)
            if trained is not None:
                lora_info, images = trained
                loras.append(lora_info)
                training_data.extend(images)
            continue
        if not digest:
            continue  # not on this machine: the lock still records its repo and revision
        loras.append(LoraInfo(name=name, source=spec.source, weight_name=spec.weight_name, sha256=digest, license=spec.license))
    data = [DataInfo(name=manifest.name, kind="manifest", path=manifest.path.name, sha256=manifest.raw_sha256), *training_data]
    for name, palette in sorted(manifest.palettes.items()):
        if palette.kind == "file" and palette.path:
            data.append(DataInfo(name=name, kind="palette", path=Path(palette.path).name, sha256=digests.file(palette.path)))
        elif palette.colors:
            data.append(DataInfo(name=name, kind="palette", path=f"{name}.palette", sha256=content_key(list(palette.colors))))
    from pixelgen.core.overrides import expected_digest, modification_record
    from pixelgen.records.provenance_conditioning import (
        conditioning_data,
        controlnet_infos,
    )

    models.extend(controlnet_infos(ws, lock, digests))
    data.extend(conditioning_data(ws, lock))
    prompts = {post.output: post for post in ws.plan.posts}
    outputs = []
    for path, entry in sorted(lock.outputs.items()):
        post = prompts.get(path)
        outputs.append(
            OutputInfo(path=path, sha256=expected_digest(entry), asset_id=entry.asset, job_key=entry.post_key,
                       prompt=post.prompt if post else None, seed=entry.seed, model=entry.model,
                       modification=modification_record(path, entry))
        )
    for path, entry in sorted(lock.packs.items()):
        outputs.append(OutputInfo(path=path, sha256=entry["sha256"], asset_id=entry["asset"], job_key=entry["key"]))
    outputs.sort(key=lambda output: output.path)
    digests.save()
    seeds = sorted({entry.seed for entry in lock.outputs.values()})
    return BuildInfo(
        manifest_name=manifest.name,
        manifest_path=manifest.path.name,
        selection=tuple(sorted(selection)) if selection else None,
        pixelgen_version=__version__,
        invocation_id=str(uuid.uuid4()),
        started_at=started_at,
        finished_at=utc_now(),
        models=tuple(models),
        loras=tuple(loras),
        data=tuple(data),
        outputs=tuple(outputs),
        tasks=tuple(TaskInfo(name, parameters) for name, parameters in tasks.items()),
        environment=environment_fingerprint(project_dir=manifest.path.parent, seeds=seeds),
    )


def default_tasks(lock: Lock) -> dict[str, dict[str, str]]:
    """The build workflow for the SBOM's formulation, derived from the lock only.

    The device is deliberately absent: it is in the provenance statement's
    environment, and the SBOM must be the same bytes whoever regenerates it.
    """
    batch_sizes = sorted({entry.batch_size for entry in lock.outputs.values()})
    trained = sorted(name for name, identity in lock.loras.items() if isinstance(identity, dict) and "train" in identity)
    return {
        **({"train": {"recipe": "diffusers+peft SDXL LoRA on the UNet attention", "loras": ",".join(trained)}} if trained else {}),
        "render": {"pipeline": "diffusers.StableDiffusionXLPipeline", "batch_sizes": ",".join(map(str, batch_sizes))},
        "post-process": {"engine": "pixelgen.pixelart.pixelize", "algorithm_version": str(PIXELIZE_ALGORITHM_VERSION)},
        "pack": {"format": "png", "metadata": "iTXt parameters + pixelgen"},
    }
