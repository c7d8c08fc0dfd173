"""What conditioned renders add to the SBOM and the provenance: ControlNets as models, conditioning images as data.

ControlNets become ``ModelInfo`` records (CycloneDX ``machine-learning-model``
components, in-toto resolved dependencies, like base models); files renders
were conditioned on (init images, masks, control images, OpenPose files)
become ``DataInfo`` records of kind ``conditioning``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pixelgen.files.hashing import FileDigestCache

if TYPE_CHECKING:
    from pixelgen.core.workspace import Workspace
    from pixelgen.records.lock import Lock
    from pixelgen.records.provenance import DataInfo, ModelInfo

CONTROLNET_PREFIX = "controlnet:"  # model names in the SBOM: never one a manifest can declare (':' is not in safe names)


def controlnet_infos(ws: "Workspace", lock: "Lock", digests: FileDigestCache) -> list["ModelInfo"]:
    from pixelgen.core.resolve import hub_snapshot_dir
    from pixelgen.records.provenance import FileDigest, ModelInfo

    used_assets = {entry.asset for entry in lock.outputs.values()}
    used = sorted({use.model for asset in ws.manifest.assets if asset.id in used_assets for image in asset.images for use in image.control})
    infos = []
    for name in used:
        spec = ws.manifest.controlnets.get(name)
        identity = ws.resolved.controlnets.get(name)
        if spec is None or identity is None:
            continue
        files: list[tuple[str, str]] = []
        if spec.kind == "builtin":
            from pixelgen.render.tiny import tiny_controlnet_dir

            folder = tiny_controlnet_dir(ws.cache_dir)
            if folder.is_dir():  # built on first use: absent in a cached build on another machine
                files = digests.tree(folder)[1]
        elif spec.kind == "diffusers_dir":
            files = digests.tree(Path(spec.source))[1]
        elif spec.kind == "hub":
            folder = hub_snapshot_dir(spec.source, str(identity.get("revision")))
            folder = folder / spec.subfolder if spec.subfolder else folder
            if folder.is_dir():
                files = digests.tree(folder)[1]
        infos.append(ModelInfo(
            name=CONTROLNET_PREFIX + name,
            source=f"builtin:{spec.source}" if spec.kind == "builtin" else spec.source,
            kind=spec.kind,
            revision=identity.get("revision") if spec.kind == "hub" else None,
            files=tuple(FileDigest(path, digest) for path, digest in files),
            license=spec.license,
            architecture="controlnet-sdxl",
            task="image-to-image",
            architecture_family="controlnet",
        ))
    return infos + adapter_infos(ws, lock, digests)


def adapter_infos(ws: "Workspace", lock: "Lock", digests: FileDigestCache) -> list["ModelInfo"]:
    """Each IP-Adapter used, and its CLIP vision encoder, as two models."""
    from pixelgen.core.resolve import hub_snapshot_dir
    from pixelgen.core.resolve_conditioning import ADAPTER_PREFIX
    from pixelgen.records.provenance import FileDigest, ModelInfo

    used_assets = {entry.asset for entry in lock.outputs.values()}
    used = sorted({image.style.adapter for asset in ws.manifest.assets if asset.id in used_assets for image in asset.images if image.style})
    infos = []
    for name in used:
        spec = ws.manifest.adapters.get(name)
        identity = ws.resolved.controlnets.get(ADAPTER_PREFIX + name)
        if spec is None or identity is None:
            continue
        folder: Path | None
        if spec.kind == "builtin":
            from pixelgen.render.tiny import tiny_ip_adapter_dir

            folder = tiny_ip_adapter_dir(ws.cache_dir)
        elif spec.kind == "hub":
            folder = hub_snapshot_dir(spec.source, str(identity.get("revision")))
        else:
            folder = Path(spec.source)
        folder = folder / (spec.subfolder or "") if spec.kind != "builtin" else folder
        weights = folder / spec.weight_name
        encoder = folder / spec.image_encoder_folder
        source = f"builtin:{spec.source}" if spec.kind == "builtin" else spec.source
        revision = identity.get("revision") if spec.kind == "hub" else None
        weight_files = ((spec.weight_name, digests.file(weights)),) if weights.is_file() else ()
        encoder_files = tuple(digests.tree(encoder)[1]) if encoder.is_dir() else ()
        infos.append(ModelInfo(name=ADAPTER_PREFIX + name, source=source, kind=spec.kind, revision=revision,
                               files=tuple(FileDigest(p, d) for p, d in weight_files), license=spec.license,
                               architecture="ip-adapter-sdxl", task="image-to-image", architecture_family="ip-adapter"))
        infos.append(ModelInfo(name=f"image-encoder:{name}", source=source, kind=spec.kind, revision=revision,
                               files=tuple(FileDigest(p, d) for p, d in encoder_files), license=spec.license,
                               architecture="clip-vision", task="image-to-embedding", architecture_family="clip"))
    return infos


def conditioning_data(ws: "Workspace", lock: "Lock") -> list["DataInfo"]:
    from pixelgen.records.provenance import DataInfo

    used_assets = {entry.asset for entry in lock.outputs.values()}
    found: dict[str, str] = {}
    for asset in ws.manifest.assets:
        if asset.id not in used_assets:
            continue
        for image in asset.images:
            sources = [image.init.image, image.init.mask] if image.init else []
            sources += [use.image for use in image.control]
            sources += list(image.style.images) if image.style else []
            for source in sources:
                if source is not None and source.kind in ("file", "pose_file") and source.source in ws.resolved.files:
                    found[source.source] = ws.resolved.files[source.source]
    base = ws.manifest.path.parent
    data = []
    for path, digest in sorted(found.items()):
        try:
            shown = Path(path).relative_to(base).as_posix()
        except ValueError:
            shown = Path(path).name
        data.append(DataInfo(name=shown, kind="conditioning", path=shown, sha256=digest))
    return data
