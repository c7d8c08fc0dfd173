"""Identities of ControlNets and digests of conditioning files, for job keys (see :mod:`pixelgen.core.resolve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixelgen.errors import Problem
from pixelgen.files.hashing import FileDigestCache
from pixelgen.manifest.model import AdapterSpec, ControlNetSpec, Manifest
from pixelgen.render import (
    TINY_CONTROLNET_RECIPE,
    TINY_IP_ADAPTER_RECIPE,
    TINY_SDXL_RECIPE,
)


def resolve_conditioning(manifest: Manifest, digests: FileDigestCache, problems: list[Problem], warnings: list[str], *,
                         used_only: bool = True) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(ControlNet name → identity, conditioning file → sha256) of what the assets use."""
    used: set[str] = set()
    used_adapters: set[str] = set()
    files: dict[str, str] = {}
    shown = str(manifest.path)
    for asset in manifest.assets:
        for image in asset.images:
            sources = [image.init.image, image.init.mask] if image.init else []
            for use in image.control:
                used.add(use.model)
                sources.append(use.image)
            if image.style is not None:
                used_adapters.add(image.style.adapter)
                sources.extend(image.style.images)
            for source in sources:
                if source is None or source.kind not in ("file", "pose_file") or source.source in files:
                    continue
                try:
                    files[source.source] = digests.file(source.source)
                except OSError as exc:
                    problems.append(Problem(shown, f"asset {asset.id!r}", f"conditioning file {source.written!r} cannot be read: {exc.strerror}",
                                            "fix the path (relative to the manifest)"))
    names = used if used_only else set(manifest.controlnets)
    identities = {name: controlnet_identity(manifest.controlnets[name], digests, warnings) for name in sorted(names)}
    # Adapters share the ControlNets' table under their own prefix: one Resolved field for every conditioning model.
    adapter_names = used_adapters if used_only else set(manifest.adapters)
    for name in sorted(adapter_names):
        identities[ADAPTER_PREFIX + name] = adapter_identity(manifest.adapters[name], digests, warnings)
    return identities, files


ADAPTER_PREFIX = "adapter:"  # ':' never appears in a manifest name, so these never collide with ControlNets


def adapter_identity(spec: AdapterSpec, digests: FileDigestCache, warnings: list[str]) -> dict[str, Any]:
    if spec.kind == "builtin":
        return {"builtin": spec.source, "recipe": TINY_IP_ADAPTER_RECIPE, "unet_recipe": TINY_SDXL_RECIPE}
    where = {"subfolder": spec.subfolder, "weight_name": spec.weight_name, "image_encoder_folder": spec.image_encoder_folder}
    if spec.kind == "hub":
        from pixelgen.core.resolve import cached_hub_commit

        filename = "/".join(part for part in (spec.subfolder, spec.weight_name) if part)
        commit = cached_hub_commit(spec.source, spec.revision, filename)
        if spec.revision is None:
            warnings.append(f"IP-Adapter {spec.name!r} ({spec.source}) has no pinned `revision`: pin `revision:` for reproducible builds")
        return {"repo": spec.source, "revision": commit or spec.revision or "unpinned", **where}
    folder = Path(spec.source) / (spec.subfolder or "")
    weights = digests.file(folder / spec.weight_name)
    encoder = folder / spec.image_encoder_folder
    return {"sha256": weights, "image_encoder_tree_sha256": digests.tree(encoder)[0] if encoder.is_dir() else None, **where}


def controlnet_identity(spec: ControlNetSpec, digests: FileDigestCache, warnings: list[str]) -> dict[str, Any]:
    if spec.kind == "builtin":
        return {"builtin": spec.source, "recipe": TINY_CONTROLNET_RECIPE, "unet_recipe": TINY_SDXL_RECIPE}
    if spec.kind == "hub":
        from pixelgen.core.resolve import cached_hub_commit

        filename = f"{spec.subfolder}/config.json" if spec.subfolder else "config.json"
        commit = cached_hub_commit(spec.source, spec.revision, filename)
        if spec.revision is None:
            warnings.append(f"ControlNet {spec.name!r} ({spec.source}) has no pinned `revision`: pin `revision:` for reproducible builds")
        return {"repo": spec.source, "revision": commit or spec.revision or "unpinned", "subfolder": spec.subfolder, "variant": spec.variant}
    tree_digest, _files = digests.tree(Path(spec.source))
    return {"tree_sha256": tree_digest, "variant": spec.variant}
