"""Resolve what the manifest names into identities that can go into cache keys.

This is the only step between loading and planning that reads the disk: model
and LoRA digests (memoised by file stat), the resolved commit of hub models
from the local Hugging Face cache. It never imports torch and never touches
the network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelgen.errors import ManifestError, Problem
from pixelgen.files.hashing import FileDigestCache
from pixelgen.manifest.model import LoraSpec, Manifest, ModelSpec
from pixelgen.render import TINY_SDXL_RECIPE

log = logging.getLogger("pixelgen")


@dataclass(frozen=True)
class Resolved:
    """Identities of models and LoRAs: what their bytes are, not where they live."""

    models: dict[str, dict[str, Any]]
    loras: dict[str, dict[str, Any]]
    model_files: dict[str, tuple[tuple[str, str], ...]]
    warnings: tuple[str, ...] = ()
    controlnets: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # conditioning file (absolute path) → sha256
    datasets: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # trained LoRA → its DatasetImages


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub itself locates it (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, …)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_hub_file(repo: str, filename: str, revision: str | None) -> Path | None:
    """The cached copy of ``filename`` of ``repo`` at ``revision`` (a commit, branch or tag), if the cache has it."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, revision=revision or "main")
    return Path(found) if isinstance(found, str) else None


def hub_snapshot_dir(repo: str, commit: str) -> Path:
    """Where the hub cache keeps the files of ``repo`` at ``commit``."""
    from huggingface_hub.file_download import repo_folder_name

    return hf_cache_dir() / repo_folder_name(repo_id=repo, repo_type="model") / "snapshots" / commit


def cached_hub_commit(repo: str, revision: str | None, filename: str = "model_index.json") -> str | None:
    """The commit a branch or tag points to in the local Hugging Face cache, if known."""
    ref = revision or "main"
    if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
        return ref
    found = cached_hub_file(repo, filename, ref)
    if found is None:
        return None
    parts = found.parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None


def hub_download_hint(repo: str, revision: str | None) -> str:
    return f"hf download {repo}" + (f" --revision {revision}" if revision else "")


def resolve(manifest: Manifest, digests: FileDigestCache, *, used_only: bool = True) -> Resolved:
    problems: list[Problem] = []
    warnings: list[str] = []
    used_models = {asset.model for asset in manifest.assets} if used_only else set(manifest.models)
    used_loras = {use.name for asset in manifest.assets for use in asset.loras} if used_only else set(manifest.loras)
    used_loras |= {name for name, spec in manifest.loras.items() if spec.kind == "trained"}  # a declared training is a target
    models: dict[str, dict[str, Any]] = {}
    files: dict[str, tuple[tuple[str, str], ...]] = {}
    shown = str(manifest.path)
    for name in sorted(used_models):
        spec = manifest.models[name]
        identity, model_files = _model_identity(spec, digests, problems, warnings, shown)
        models[name] = identity
        files[name] = model_files
    datasets: dict[str, tuple[Any, ...]] = {}
    loras = {}
    for name in sorted(used_loras):
        spec = manifest.loras[name]
        if spec.kind == "trained":
            loras[name] = _trained_identity(manifest, spec, digests, problems, warnings, shown, datasets)
        else:
            loras[name] = _lora_identity(spec, digests, problems, warnings, shown)
    from pixelgen.core.resolve_conditioning import resolve_conditioning

    controlnets, condition_files = resolve_conditioning(manifest, digests, problems, warnings, used_only=used_only)
    if problems:
        raise ManifestError(problems)
    digests.save()
    for warning in warnings:
        log.warning(warning)
    return Resolved(models=models, loras=loras, model_files=files, warnings=tuple(warnings), controlnets=controlnets,
                    files=condition_files, datasets=datasets)


def _trained_identity(manifest: Manifest, spec: LoraSpec, digests: FileDigestCache, problems: list[Problem], warnings: list[str],
                      shown: str, datasets: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """A trained LoRA is what it is trained from: every image and caption, the settings, the base model."""
    from pixelgen.core.dataset import DecodedImages, scan_dataset
    from pixelgen.core.training import train_identity

    train = spec.train
    decoded = DecodedImages(digests.memo_path.with_name("decoded-images.json") if digests.memo_path else None)
    images, dataset_problems = scan_dataset(spec.source, train.captions, digests, decoded=decoded)
    decoded.save()
    for problem in dataset_problems:
        problems.append(Problem(shown, f"at /loras/{spec.name}/train/images", f"training image {Path(spec.source) / problem.name} {problem.message}", problem.fix))
    base, _files = _model_identity(manifest.models[train.base], digests, problems, warnings, shown)
    datasets[spec.name] = tuple(images)
    return train_identity(train, images, base)


def _check_pinned(kind: str, name: str, path: str, declared: str | None, actual: str, problems: list[Problem], shown: str) -> None:
    if declared and declared != actual:
        problems.append(
            Problem(
                shown,
                f"at /{kind}/{name}/sha256",
                f"{path} has sha256 {actual}, but the manifest pins {declared}",
                "the file changed or is the wrong one: restore the pinned file, or update `sha256` if the change is intended",
            )
        )


def _model_identity(spec: ModelSpec, digests: FileDigestCache, problems: list[Problem], warnings: list[str], shown: str) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    if spec.kind == "builtin":
        return {"builtin": spec.source, "recipe": TINY_SDXL_RECIPE}, ()
    if spec.kind == "hub":
        commit = cached_hub_commit(spec.source, spec.revision)
        if spec.revision is None:
            warnings.append(
                f"model {spec.name!r} ({spec.source}) has no pinned `revision`"
                + (f"; using the cached commit {commit}" if commit else "; its commit is unknown until it is downloaded")
                + ": pin `revision:` for reproducible builds"
            )
        return {"repo": spec.source, "revision": commit or spec.revision or "unpinned", "variant": spec.variant}, ()
    path = Path(spec.source)
    if spec.kind == "diffusers_dir":
        tree_digest, tree_files = digests.tree(path)
        return {"tree_sha256": tree_digest, "variant": spec.variant}, tuple(tree_files)
    if not path.is_file():
        problems.append(Problem(shown, f"at /models/{spec.name}/path", f"model file {path} does not exist", "fix the path or download the weights"))
        return {"sha256": None}, ()
    actual = digests.file(path)
    _check_pinned("models", spec.name, str(path), spec.sha256, actual, problems, shown)
    _check_safetensors(path, f"at /models/{spec.name}/path", f"model {spec.name!r}", problems, shown)
    return {"sha256": actual, "config": spec.config}, ((path.name, actual),)


def _check_safetensors(path: Path, where: str, what: str, problems: list[Problem], shown: str) -> None:
    """A ``.safetensors`` file must open: its header parses and its tensors fit in the file (reads the header only)."""
    if path.suffix.lower() != ".safetensors":
        return
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as weights:
            if not list(weights.keys()):
                raise ValueError("it holds no tensors")
    except Exception as exc:  # noqa: BLE001 - the Rust binding raises its own error types for every kind of damage
        problems.append(Problem(
            shown, where, f"{what}: {path} is not a readable safetensors file ({' '.join(str(exc).split())[:200]})",
            "the file is damaged or incomplete (an interrupted download?): download it again",
        ))


def _lora_identity(spec: LoraSpec, digests: FileDigestCache, problems: list[Problem], warnings: list[str], shown: str) -> dict[str, Any]:
    if spec.kind == "hub":
        commit = cached_hub_commit(spec.source, spec.revision, spec.weight_name or "pytorch_lora_weights.safetensors")
        if spec.sha256 is None and commit is None:
            warnings.append(f"LoRA {spec.name!r} ({spec.source}) is pinned by neither `sha256` nor `revision`: its content may change")
        return {"repo": spec.source, "weight_name": spec.weight_name, "revision": commit or spec.revision or "unpinned", "sha256": spec.sha256}
    path = Path(spec.source)
    if not path.is_file():
        problems.append(Problem(shown, f"at /loras/{spec.name}/path", f"LoRA file {path} does not exist", "fix the path"))
        return {"sha256": None}
    actual = digests.file(path)
    _check_pinned("loras", spec.name, str(path), spec.sha256, actual, problems, shown)
    _check_safetensors(path, f"at /loras/{spec.name}/path", f"LoRA {spec.name!r}", problems, shown)
    return {"sha256": actual}
