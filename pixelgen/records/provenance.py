"""Build records: a CycloneDX 1.6 SBOM and an in-toto / SLSA v1 provenance statement.

A studio shipping generated art has to answer which model, which LoRA (under
which licence), which prompt and seed made a file, and prove a file is the one
the build made. Every build therefore writes two documents beside its outputs:

``sbom.cdx.json`` (CycloneDX 1.6, :func:`build_sbom`)
    What went in and what came out. Byte-reproducible: the same inputs in the
    same Python environment give the same bytes (no timestamp unless asked for,
    and a serial number derived from the content). Layout:

    * ``metadata.component``: pixelgen itself (``application``), with
      ``metadata.properties`` naming the manifest, the selection and one
      ``pixelgen:restricted-license`` line per non-commercial licence.
    * ``library`` components: every distribution installed in the running
      Python environment (purl ``pkg:pypi/...``), pixelgen excluded.
    * one ``machine-learning-model`` component per model: ``version`` is the
      resolved hub revision, ``purl`` is ``pkg:huggingface/...`` for hub models
      with a revision, ``licenses`` from the model info, and a ``modelCard``.
      A model made of exactly one file carries that file's SHA-256 as the
      component hash; a model of several files (a diffusers folder) lists each
      file as a nested ``file`` component with its own hash, since a CycloneDX
      hash is the hash of one blob. Property ``pixelgen:tree-sha256`` holds
      :func:`pixelgen.files.hashing.sha256_tree`'s digest over the listed files.
    * one ``machine-learning-model`` component per LoRA, hashed.
    * one ``data`` component per palette / manifest / reference (``data``
      field: manifest and palettes are ``configuration``, references ``dataset``).
    * one ``file`` component per output with its SHA-256, asset id, job key,
      prompt, seed and model as properties.
    * ``formulation``: one workflow whose tasks are the build steps (render,
      post-process, pack) in order, with their parameters, inputs and outputs.

    cyclonedx-python-lib builds the standard parts; it has no model card,
    component ``data`` or ``formulation`` objects, so those are added to the
    serialised JSON.

``provenance.intoto.json`` (in-toto Statement v1, SLSA provenance v1, :func:`build_provenance`)
    Binds every output digest to the build that made it: manifest, selection,
    resolved models, LoRAs and palettes with digests, pixelgen version and the
    environment fingerprint, invocation id and start/finish times. Because it
    carries times and an invocation id it differs between two builds of the
    same inputs; only its subjects are reproducible.

Licence restriction: a licence naming a non-commercial or research-only term
(an ``NC`` token as in ``CC-BY-NC-4.0``, "non-commercial", "research only") is
restricted; OpenRAIL licences (use-based restrictions, commercial use allowed)
are not.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from pixelgen.files import hashing
from pixelgen.files.fsutil import dump_json, write_bytes_atomic
from pixelgen.records.recordset import PROVENANCE_FILENAME, SBOM_FILENAME

CYCLONEDX_SPEC_VERSION = "1.6"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
# Stable identifiers of pixelgen's build type and builder. They name the
# *format* of externalParameters / internalParameters; change BUILD_TYPE's
# trailing version only when that format changes incompatibly.
BUILD_TYPE = "https://github.com/pixelgen/pixelgen/build/v1"
BUILDER_ID_PREFIX = "https://github.com/pixelgen/pixelgen/builder"


PROPERTY_RESTRICTED = "pixelgen:restricted-license"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_RESTRICTED_RE = re.compile(
    r"(?<![a-z0-9])nc(?![a-z0-9])"  # CC-BY-NC-4.0, CC-BY-NC-SA-4.0; not NCSA
    r"|non[\s_-]?commercial"
    r"|research[\s_-]*(?:only|use)",
    re.IGNORECASE,
)
# Own table rather than `mimetypes`, whose answers depend on the machine's
# /etc/mime.types and would make the SBOM differ between machines.
_MEDIA_TYPES = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".json": "application/json",
    ".txt": "text/plain",
}
_DATA_TYPES = {
    "manifest": "configuration",
    "palette": "configuration",
    "reference": "dataset",
    "reference_image": "dataset",
    "conditioning": "dataset",
    "training_image": "dataset",
}
_TASK_TYPES = {"train": "build", "render": "build", "post-process": "build", "pack": "build"}


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class FileDigest:
    """One file of a model, LoRA or palette."""

    path: str  # as shown to the user: relative path inside a model dir, or the file path
    sha256: str


@dataclass(frozen=True)
class ModelInfo:
    name: str  # manifest name, e.g. "sdxl"
    source: str  # hub repo id, local path, or "builtin:tiny-sdxl"
    kind: str  # "hub" | "diffusers_dir" | "single_file" | "builtin"
    revision: str | None  # resolved commit for hub models
    files: tuple[FileDigest, ...]
    license: str | None  # SPDX id or free text (e.g. "openrail++", "CC-BY-NC-4.0")
    architecture: str = "stable-diffusion-xl"
    task: str = "text-to-image"
    architecture_family: str = "latent-diffusion"


@dataclass(frozen=True)
class LoraInfo:
    name: str
    source: str
    weight_name: str | None
    sha256: str
    license: str | None
    # A LoRA trained by the build: its job key, base model, settings, metrics and the names of
    # its dataset's DataInfo entries (kind "training_image").
    training: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DataInfo:
    """Palettes, the manifest itself, reference images."""

    name: str
    kind: str  # "manifest" | "palette" | "reference" | ...
    path: str
    sha256: str


@dataclass(frozen=True)
class OutputInfo:
    path: str  # relative to the build's output dir, posix, e.g. "hero/idle_0.png"
    sha256: str
    asset_id: str
    job_key: str | None  # post-process job key (content key)
    prompt: str | None = None
    seed: int | None = None
    model: str | None = None  # model name (as in ModelInfo.name)
    # Set when the file is a hand-made override of the generated image (pixelgen.core.overrides):
    # {"generated_sha256", "generated_job_key", "author"?, "commit"?, "date"?, "stale"?}.
    modification: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TaskInfo:
    """One step of the build workflow, for the SBOM's formulation."""

    name: str  # "render" | "post-process" | "pack"
    parameters: Mapping[str, str]  # flat, stringified


@dataclass(frozen=True)
class BuildInfo:
    manifest_name: str
    manifest_path: str
    selection: tuple[str, ...] | None  # --only ids, or None for all
    pixelgen_version: str
    invocation_id: str
    started_at: str  # RFC 3339 UTC
    finished_at: str
    models: tuple[ModelInfo, ...]
    loras: tuple[LoraInfo, ...]
    data: tuple[DataInfo, ...]
    outputs: tuple[OutputInfo, ...]
    tasks: tuple[TaskInfo, ...]
    environment: Mapping[str, Any]  # from envinfo.environment_fingerprint()


# --------------------------------------------------------------------------- licences


def is_restricted_license(license_text: str | None) -> bool:
    """True for a licence that forbids commercial use (non-commercial or research-only)."""
    return license_text is not None and _RESTRICTED_RE.search(license_text) is not None


def restricted_licenses(info: BuildInfo) -> list[str]:
    """One human-readable line per model or LoRA whose licence forbids commercial use."""
    lines = []
    for model in info.models:
        if is_restricted_license(model.license):
            lines.append(
                f"model '{model.name}' ({model.source}) is licensed '{model.license}', "
                "which does not allow commercial use"
            )
    for lora in info.loras:
        if is_restricted_license(lora.license):
            lines.append(
                f"LoRA '{lora.name}' ({lora.source}) is licensed '{lora.license}', which does not allow commercial use"
            )
    return lines


# --------------------------------------------------------------------------- checks


def _check_sha256(value: str, what: str) -> None:
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise ValueError(
            f"{what}: sha256 {value!r} is not 64 lowercase hex digits; hash the file with pixelgen.files.hashing.sha256_file"
        )


def _check_relative_path(path: str, what: str) -> None:
    pure = PurePosixPath(path)
    if not path or "\\" in path or pure.is_absolute() or ".." in pure.parts:
        raise ValueError(
            f"{what}: path {path!r} must be relative, posix-style and inside the output "
            "directory (e.g. 'hero/idle_0.png')"
        )


def check_timestamp(value: str, what: str) -> None:
    """Raise ``ValueError`` unless ``value`` is an RFC 3339 time with a zone."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise ValueError(f"{what} {value!r} is not an RFC 3339 time with zone, e.g. 2025-01-31T12:00:00Z")


def _check_unique(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}: each must appear once in a build record")
        seen.add(name)


def _check_info(info: BuildInfo) -> None:
    _check_unique([m.name for m in info.models], "model name")
    _check_unique([lora.name for lora in info.loras], "LoRA name")
    _check_unique([f"{d.kind}/{d.name}" for d in info.data], "data kind/name")
    _check_unique([o.path for o in info.outputs], "output path")
    _check_unique([t.name for t in info.tasks], "task name")
    for model in info.models:
        _check_unique([f.path for f in model.files], f"file of model {model.name!r}")
        for file in model.files:
            _check_sha256(file.sha256, f"model {model.name!r} file {file.path!r}")
    for lora in info.loras:
        _check_sha256(lora.sha256, f"LoRA {lora.name!r}")
    for data in info.data:
        _check_sha256(data.sha256, f"{data.kind} {data.name!r}")
    for output in info.outputs:
        _check_relative_path(output.path, "output")
        _check_sha256(output.sha256, f"output {output.path!r}")
    for task in info.tasks:
        for key, value in task.parameters.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(
                    f"task {task.name!r} parameter {key!r}={value!r}: parameters must be "
                    "flat str -> str; stringify the value before recording it"
                )


# --------------------------------------------------------------------------- SBOM


def installed_packages() -> list[tuple[str, str]]:
    """``(name, version)`` of every distribution in the running environment, sorted, de-duplicated.

    Names are PEP 503 normalised. When a distribution is found twice on
    ``sys.path`` the first one wins, as it does for imports.
    """
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        raw_name = dist.metadata["Name"] if dist.metadata is not None else None
        if not raw_name or not dist.version:
            continue  # broken metadata: nothing trustworthy to record
        name = re.sub(r"[-_.]+", "-", raw_name).lower()
        found.setdefault(name, dist.version)
    found.pop("pixelgen", None)  # pixelgen is the SBOM's subject, not a library of it
    return sorted(found.items())


def _hub_purl(model: ModelInfo) -> str | None:
    if model.kind != "hub" or not model.revision:
        return None
    from packageurl import PackageURL

    namespace, _, repo = model.source.rpartition("/")
    return PackageURL(type="huggingface", namespace=namespace or None, name=repo, version=model.revision).to_string()


def _license_objects(license_text: str | None) -> list[Any]:
    if not license_text:
        return []
    from cyclonedx import spdx
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression

    spdx_id = spdx.fixup_id(license_text)
    if spdx_id is not None:
        return [DisjunctiveLicense(id=spdx_id)]
    if spdx.is_expression(license_text):
        return [LicenseExpression(license_text)]
    return [DisjunctiveLicense(name=license_text)]  # free text such as "openrail++"


def _properties(pairs: Sequence[tuple[str, str | None]]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=name, value=value) for name, value in pairs if value is not None]


def _sha256_hashes(digest: str) -> list[Any]:
    from cyclonedx.model import HashAlgorithm, HashType

    return [HashType(alg=HashAlgorithm.SHA_256, content=digest)]


def _model_ref(model: ModelInfo) -> str:
    return f"model/{model.name}"


def _lora_ref(lora: LoraInfo) -> str:
    return f"lora/{lora.name}"


def _data_ref(data: DataInfo) -> str:
    return f"data/{data.kind}/{data.name}"


def _output_ref(output: OutputInfo) -> str:
    return f"output/{output.path}"


def _asset_ref(asset_id: str) -> str:
    return f"asset/{asset_id}"


def _group_outputs(outputs: Sequence[OutputInfo]) -> dict[str, list[OutputInfo]]:
    groups: dict[str, list[OutputInfo]] = {}
    for output in sorted(outputs, key=lambda o: o.path):
        groups.setdefault(output.asset_id, []).append(output)
    return dict(sorted(groups.items()))


def _all_components(components: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for component in components:
        found.append(component)
        found.extend(_all_components(component.get("components", [])))
    return found


def _task_ref(task: TaskInfo) -> str:
    return f"task/{task.name}"


_APP_REF = "pixelgen"
_WORKFLOW_REF = "workflow/build"
_FORMULA_REF = "formula/build"


def _sorted_files(files: Sequence[FileDigest]) -> list[FileDigest]:
    # Path-part order, the order sha256_tree walks a folder in, so that
    # "pixelgen:tree-sha256" equals sha256_tree() of the model folder.
    return sorted(files, key=lambda f: PurePosixPath(f.path).parts)


def _model_component(model: ModelInfo) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    ref = _model_ref(model)
    files = _sorted_files(model.files)
    hashes: list[Any] = []
    nested: list[Any] = []
    if len(files) == 1:
        hashes = _sha256_hashes(files[0].sha256)
    else:
        nested = [
            Component(
                type=ComponentType.FILE,
                name=f.path,
                bom_ref=f"{ref}/file/{f.path}",
                hashes=_sha256_hashes(f.sha256),
            )
            for f in files
        ]
    purl = _hub_purl(model)
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=model.name,
        version=model.revision,
        bom_ref=ref,
        description=f"{model.architecture} model ({model.kind}) from {model.source}",
        purl=PackageURL.from_string(purl) if purl else None,
        hashes=hashes,
        licenses=_license_objects(model.license),
        components=nested,
        properties=_properties(
            [
                ("pixelgen:source", model.source),
                ("pixelgen:kind", model.kind),
                ("pixelgen:file", files[0].path if len(files) == 1 else None),
                (
                    "pixelgen:tree-sha256",
                    hashing.content_key([[f.path, f.sha256] for f in files]) if files else None,
                ),
                (PROPERTY_RESTRICTED, "true" if is_restricted_license(model.license) else None),
            ]
        ),
    )


def _model_card(model: ModelInfo) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "task": model.task,
        "architectureFamily": model.architecture_family,
        "modelArchitecture": model.architecture,
    }
    # "text-to-image" -> inputs text, outputs image.
    source_format, to, target_format = model.task.partition("-to-")
    if to:
        parameters["inputs"] = [{"format": source_format}]
        parameters["outputs"] = [{"format": target_format}]
    return {"modelParameters": parameters}


def _lora_component(lora: LoraInfo) -> Any:
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=lora.name,
        bom_ref=_lora_ref(lora),
        description=f"LoRA adapter from {lora.source}",
        hashes=_sha256_hashes(lora.sha256),
        licenses=_license_objects(lora.license),
        properties=_properties(
            [
                ("pixelgen:source", lora.source),
                ("pixelgen:weight-name", lora.weight_name),
                (PROPERTY_RESTRICTED, "true" if is_restricted_license(lora.license) else None),
            ]
        ),
    )


def _trained_lora_card(lora: LoraInfo) -> dict[str, Any]:
    """The modelCard of a LoRA the build trained: its dataset (the training images' data components) and training parameters."""
    training = lora.training or {}
    card: dict[str, Any] = {
        "modelParameters": {
            "approach": {"type": "supervised"},
            "task": "text-to-image",
            "architectureFamily": "low-rank-adaptation",
            "modelArchitecture": "LoRA (SDXL UNet attention: to_q, to_k, to_v, to_out.0)",
            "datasets": [{"ref": f"data/training_image/{name}"} for name in sorted(training.get("images", ()))],
        },
        "properties": [{"name": f"pixelgen:train:{key}", "value": str(value)}
                       for key, value in sorted({**training.get("settings", {}), "base": training.get("base_model"),
                                                 "key": training.get("key"), "dataset-sha256": training.get("dataset_sha256")}.items())
                       if value is not None],
    }
    metrics = [{"type": name, "value": str(value)} for name, value in sorted((training.get("metrics") or {}).items()) if value is not None]
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    return card


def _data_component(data: DataInfo) -> Any:
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.DATA,
        name=data.name,
        bom_ref=_data_ref(data),
        hashes=_sha256_hashes(data.sha256),
        properties=_properties([("pixelgen:kind", data.kind), ("pixelgen:path", data.path)]),
    )


def _output_component(output: OutputInfo) -> Any:
    """The library's form of an output component; the SBOM writes :func:`_output_dict`, which tests check against this."""
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.FILE,
        name=output.path,
        bom_ref=_output_ref(output),
        hashes=_sha256_hashes(output.sha256),
        properties=_properties(
            [
                ("pixelgen:asset-id", output.asset_id),
                ("pixelgen:job-key", output.job_key),
                ("pixelgen:prompt", output.prompt),
                ("pixelgen:seed", None if output.seed is None else str(output.seed)),
                ("pixelgen:model", output.model),
                *_modification_properties(output.modification),
            ]
        ),
    )


def _modification_properties(modification: Mapping[str, Any] | None) -> list[tuple[str, str | None]]:
    if not modification:
        return []
    return [
        ("pixelgen:modified-by-hand", "true"),
        ("pixelgen:generated-sha256", modification["generated_sha256"]),
        ("pixelgen:override-author", modification.get("author")),
        ("pixelgen:override-commit", modification.get("commit")),
        ("pixelgen:override-stale", modification.get("stale")),
    ]


def _pedigree(output: OutputInfo) -> dict[str, Any]:
    """CycloneDX pedigree of a hand-modified file: the generated file it descends from, and who changed it."""
    modification = output.modification or {}
    pedigree: dict[str, Any] = {
        "ancestors": [{"type": "file", "name": output.path, "description": "the image as pixelgen generated it",
                       "hashes": [{"alg": "SHA-256", "content": modification["generated_sha256"]}]}],
        "notes": "modified by hand after generation (a pixelgen override)",
    }
    if modification.get("commit") or modification.get("author"):
        commit: dict[str, Any] = {}
        if modification.get("commit"):
            commit["uid"] = modification["commit"]
        name, _, email = str(modification.get("author") or "").partition(" <")
        author = {key: value for key, value in (("name", name.strip()), ("email", email.rstrip(">").strip()),
                                                ("timestamp", modification.get("date"))) if value}
        if author:
            commit["author"] = author
        pedigree["commits"] = [commit]
    return pedigree


def _output_dict(output: OutputInfo) -> dict[str, Any]:
    """An output file component as cyclonedx-python-lib serialises ``_output_component`` (properties sorted)."""
    pairs = [
        ("pixelgen:asset-id", output.asset_id),
        ("pixelgen:job-key", output.job_key),
        ("pixelgen:model", output.model),
        ("pixelgen:prompt", output.prompt),
        ("pixelgen:seed", None if output.seed is None else str(output.seed)),
        *_modification_properties(output.modification),
    ]
    component: dict[str, Any] = {
        "bom-ref": _output_ref(output),
        "hashes": [{"alg": "SHA-256", "content": output.sha256}],
        "name": output.path,
        "properties": [{"name": name, "value": value} for name, value in sorted(pairs) if value is not None],
        "type": "file",
    }
    # Set here, not via Component(mime_type=...): cyclonedx-python-lib 11.x
    # serialises that as "mimeType", which the 1.6 schema ("mime-type") rejects.
    media_type = _MEDIA_TYPES.get(PurePosixPath(output.path).suffix.lower())
    if media_type is not None:
        component["mime-type"] = media_type
    if output.modification:
        component["pedigree"] = _pedigree(output)
    return component


def _add_asset_groups(doc: dict[str, Any], info: BuildInfo, model_names: set[str]) -> None:
    """One ``file`` component per asset holding its outputs, and its dependency on the models that made them.

    Placed where the library's ordering puts them (components by type then
    name, dependencies by ref), so the document is the one the library would write.
    """
    groups = []
    dependencies = []
    for asset_id, outputs in _group_outputs(info.outputs).items():
        groups.append(
            {
                "bom-ref": _asset_ref(asset_id),
                "components": [_output_dict(output) for output in sorted(outputs, key=lambda o: (o.path, _output_ref(o)))],
                "name": f"{asset_id}/",
                "properties": [{"name": "pixelgen:asset-id", "value": asset_id}],
                "type": "file",
            }
        )
        models = sorted({f"model/{o.model}" for o in outputs if o.model in model_names})  # _model_ref of each
        dependencies.append({"ref": _asset_ref(asset_id), "dependsOn": models} if models else {"ref": _asset_ref(asset_id)})
    if not groups:
        return
    components = doc.get("components", [])
    if any(component["type"] == "file" for component in components):
        raise ValueError("top-level file components other than asset groups: the SBOM's component order would be ambiguous")
    # The library's order is by type first; asset groups are the only "file" components.
    cut = next((index for index, component in enumerate(components) if component["type"] > "file"), len(components))
    doc["components"] = components[:cut] + groups + components[cut:]
    doc["dependencies"] = sorted([*doc.get("dependencies", []), *dependencies], key=lambda dependency: dependency["ref"])


def _formulation(info: BuildInfo) -> list[dict[str, Any]]:
    inputs = (
        [{"resource": {"ref": _data_ref(d)}} for d in sorted(info.data, key=_data_ref)]
        + [{"resource": {"ref": _model_ref(m)}} for m in sorted(info.models, key=_model_ref)]
        + [{"resource": {"ref": _lora_ref(lora)}} for lora in sorted(info.loras, key=_lora_ref)]
    )
    outputs = [{"type": "artifact", "resource": {"ref": _asset_ref(asset_id)}} for asset_id in _group_outputs(info.outputs)]
    tasks = []
    dependencies = []
    previous: str | None = None
    # Tasks keep the caller's order: it is the order the build ran them in.
    for task in info.tasks:
        ref = _task_ref(task)
        entry: dict[str, Any] = {
            "bom-ref": ref,
            "uid": task.name,
            "name": task.name,
            "taskTypes": [_TASK_TYPES.get(task.name, "other")],
        }
        if task.parameters:
            entry["inputs"] = [
                {"parameters": [{"name": key, "value": task.parameters[key]} for key in sorted(task.parameters)]}
            ]
        tasks.append(entry)
        dependencies.append({"ref": ref, "dependsOn": [previous]} if previous else {"ref": ref})
        previous = ref
    workflow: dict[str, Any] = {
        "bom-ref": _WORKFLOW_REF,
        # Not the invocation id: the SBOM must be the same for two builds of the same inputs.
        "uid": f"pixelgen-build:{info.manifest_name}",
        "name": f"pixelgen build of {info.manifest_name}",
        "taskTypes": ["build"],
        "resourceReferences": [{"ref": _APP_REF}],
        "tasks": tasks,
        "taskDependencies": dependencies,
    }
    if inputs:
        workflow["inputs"] = inputs
    if outputs:
        workflow["outputs"] = outputs
    if not tasks:
        del workflow["tasks"], workflow["taskDependencies"]
    return [{"bom-ref": _FORMULA_REF, "workflows": [workflow]}]


def _serial_number(doc: Mapping[str, Any]) -> str:
    """``urn:uuid:`` from the document's content key (RFC 4122 layout, version 5 bits).

    Version 5 is RFC 4122's name-based kind; the name hash here is SHA-256
    (truncated to 16 bytes) rather than SHA-1. The schema only accepts RFC 4122 UUIDs.
    """
    digest = bytes.fromhex(hashing.content_key(doc))
    return uuid.UUID(bytes=digest[:16], version=5).urn


def build_sbom(info: BuildInfo, *, timestamp: str | None = None) -> dict[str, Any]:
    """CycloneDX 1.6 SBOM of a build as a JSON-ready dict; same inputs give the same document.

    ``timestamp`` (RFC 3339) is written to ``metadata.timestamp`` only when
    given, since a time makes every SBOM different.
    """
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    _check_info(info)
    if timestamp is not None:
        check_timestamp(timestamp, "SBOM timestamp")

    app = Component(
        type=ComponentType.APPLICATION,
        name="pixelgen",
        version=info.pixelgen_version,
        bom_ref=_APP_REF,
        purl=PackageURL(type="pypi", name="pixelgen", version=info.pixelgen_version),
    )
    metadata_properties = _properties(
        [
            ("pixelgen:manifest-name", info.manifest_name),
            ("pixelgen:manifest-path", info.manifest_path),
            ("pixelgen:selection", "all" if info.selection is None else ",".join(info.selection)),
        ]
    ) + _properties([(PROPERTY_RESTRICTED, line) for line in restricted_licenses(info)])
    bom = Bom(metadata=BomMetaData(component=app, properties=metadata_properties))

    libraries = []
    for name, version in installed_packages():
        purl = PackageURL(type="pypi", name=name, version=version)
        library = Component(
            type=ComponentType.LIBRARY,
            name=name,
            version=version,
            purl=purl,
            bom_ref=purl.to_string(),
        )
        libraries.append(library)
        bom.components.add(library)
    bom.register_dependency(app, libraries)

    model_components = {}
    for model in info.models:
        component = _model_component(model)
        model_components[model.name] = component
        bom.components.add(component)
    for lora in info.loras:
        bom.components.add(_lora_component(lora))
    for data in info.data:
        bom.components.add(_data_component(data))
    doc: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    # Output files are nested under one component per asset, written as JSON
    # directly: the library's dependency registration and sorted sets compare
    # every pair of components, minutes for 10,000 assets.
    # (tests/unit/test_sbom_linear.py checks these equal what the library writes.)
    _add_asset_groups(doc, info, set(model_components))

    # The library stamps a random serial and the current time; both would make
    # every SBOM unique, so they are replaced by content-derived values.
    doc.pop("serialNumber", None)
    doc["metadata"].pop("timestamp", None)
    if timestamp is not None:
        doc["metadata"]["timestamp"] = timestamp

    by_ref = {component["bom-ref"]: component for component in _all_components(doc.get("components", []))}
    for model in info.models:
        by_ref[_model_ref(model)]["modelCard"] = _model_card(model)
    for lora in info.loras:
        by_ref[_lora_ref(lora)]["modelCard"] = {
            "modelParameters": {
                "architectureFamily": "low-rank-adaptation",
                "modelArchitecture": "LoRA",
            }
        }
        if lora.training:
            by_ref[_lora_ref(lora)]["modelCard"] = _trained_lora_card(lora)
    for data in info.data:
        by_ref[_data_ref(data)]["data"] = [{"type": _DATA_TYPES.get(data.kind, "other"), "name": data.name}]
    doc["formulation"] = _formulation(info)

    doc["serialNumber"] = _serial_number(doc)
    return doc


def validate_sbom(doc: Mapping[str, Any]) -> None:
    """Validate ``doc`` against the CycloneDX 1.6 JSON schema; ``ValueError`` naming the errors.

    Needs ``cyclonedx-python-lib[json-validation]`` (jsonschema with format checks).
    """
    from pixelgen.records.linear_schema import (
        cyclonedx_fast_validator,
        cyclonedx_strict_validator,
    )

    # The library's strict schema and checks, validated in one pass instead of
    # comparing every pair of array items (pixelgen.records.linear_schema).
    # Round-tripped through JSON text: exactly the document as it is written to disk.
    written = json.loads(json.dumps(doc, sort_keys=True))
    fast = cyclonedx_fast_validator()
    if fast is not None and fast.is_valid(written):
        return
    errors = list(cyclonedx_strict_validator().iter_errors(written))
    if fast is not None and not errors:
        errors = [_FastError(error.message) for error in fast.iter_errors(written)]
    if errors:
        messages = [str(error.message).splitlines()[0] for error in errors]
        raise ValueError(
            "SBOM is not valid CycloneDX 1.6: "
            + "; ".join(messages[:10])
            + (f" (and {len(messages) - 10} more)" if len(messages) > 10 else "")
        )


@dataclass(frozen=True)
class _FastError:
    message: str


# --------------------------------------------------------------------------- provenance


def _annotations(pairs: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    return {key: value for key, value in pairs if value is not None}


def _resolved_dependencies(info: BuildInfo) -> list[dict[str, Any]]:
    descriptors: list[dict[str, Any]] = []
    # The manifest first: it is what a reader looks for.
    for data in sorted(info.data, key=lambda d: (d.kind != "manifest", d.kind, d.name)):
        descriptors.append(
            {
                "name": data.path,
                "digest": {"sha256": data.sha256},
                "annotations": {"kind": data.kind, "name": data.name},
            }
        )
    for model in sorted(info.models, key=lambda m: m.name):
        annotations = _annotations(
            [
                ("kind", "model"),
                ("model", model.name),
                ("source", model.source),
                ("modelKind", model.kind),
                ("revision", model.revision),
                ("license", model.license),
            ]
        )
        purl = _hub_purl(model)
        if not model.files:
            # Builtin models are made by code, not loaded: name their source only.
            descriptors.append({"uri": model.source, "name": f"models/{model.name}", "annotations": annotations})
        for file in _sorted_files(model.files):
            descriptor: dict[str, Any] = {
                "name": f"models/{model.name}/{file.path}",
                "digest": {"sha256": file.sha256},
                "annotations": annotations,
            }
            if purl:
                descriptor["uri"] = purl
            descriptors.append(descriptor)
    for lora in sorted(info.loras, key=lambda lora: lora.name):
        training = lora.training or {}
        descriptors.append(
            {
                "name": f"loras/{lora.name}" + (f"/{lora.weight_name}" if lora.weight_name else ""),
                "digest": {"sha256": lora.sha256},
                "annotations": _annotations(
                    [
                        ("kind", "trained-lora" if lora.training else "lora"),
                        ("lora", lora.name),
                        ("source", lora.source),
                        ("license", lora.license),
                        ("trainingJob", training.get("key")),
                    ]
                ),
            }
        )
    # A hand-modified output's generated original is an input of the file shipped in its place.
    for output in sorted((o for o in info.outputs if o.modification), key=lambda o: o.path):
        modification = output.modification
        descriptors.append(
            {
                "name": f"generated/{output.path}",
                "digest": {"sha256": modification["generated_sha256"]},
                "annotations": _annotations(
                    [
                        ("kind", "generated-image"),
                        ("modifiedByHandAs", output.path),
                        ("overrideSha256", output.sha256),
                        ("author", modification.get("author")),
                        ("commit", modification.get("commit")),
                        ("stale", modification.get("stale")),
                    ]
                ),
            }
        )
    return descriptors


def build_provenance(info: BuildInfo, *, byproducts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """in-toto Statement v1 with a SLSA provenance v1 predicate for the build's outputs.

    Subjects are the output files (path relative to the output directory,
    sha256). ``byproducts`` maps other written files (e.g. the SBOM) to their
    sha256 for ``runDetails.byproducts``.

    Unlike the SBOM this statement records the invocation id and start/finish
    times, so two builds of the same inputs give different bytes; compare
    subjects, not files.
    """
    _check_info(info)
    check_timestamp(info.started_at, "started_at")
    check_timestamp(info.finished_at, "finished_at")
    if not info.outputs:
        raise ValueError("a provenance statement needs at least one output file as subject; the build wrote none")
    environment = json.loads(hashing.canonical_json(dict(info.environment)))  # proves it is JSON data
    run_details: dict[str, Any] = {
        "builder": {
            "id": f"{BUILDER_ID_PREFIX}@v{info.pixelgen_version}",
            "version": {"pixelgen": info.pixelgen_version},
        },
        "metadata": {
            "invocationId": info.invocation_id,
            "startedOn": info.started_at,
            "finishedOn": info.finished_at,
        },
    }
    if byproducts:
        for name, digest in byproducts.items():
            _check_sha256(digest, f"byproduct {name!r}")
        run_details["byproducts"] = [
            {"name": name, "digest": {"sha256": byproducts[name]}} for name in sorted(byproducts)
        ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": output.path, "digest": {"sha256": output.sha256}}
            for output in sorted(info.outputs, key=lambda o: o.path)
        ],
        "predicateType": SLSA_PROVENANCE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "manifest": {"name": info.manifest_name, "path": info.manifest_path},
                    "selection": None if info.selection is None else list(info.selection),
                },
                "internalParameters": {
                    "pixelgenVersion": info.pixelgen_version,
                    "environment": environment,
                    **({"trainings": _training_jobs(info)} if any(lora.training for lora in info.loras) else {}),
                },
                "resolvedDependencies": _resolved_dependencies(info),
            },
            "runDetails": run_details,
        },
    }


def _training_jobs(info: BuildInfo) -> list[dict[str, Any]]:
    """The LoRA training jobs of the build: inputs (base model, dataset digest, settings) and the weights they produced."""
    jobs = []
    for lora in sorted(info.loras, key=lambda lora: lora.name):
        if not lora.training:
            continue
        training = lora.training
        jobs.append({
            "lora": lora.name,
            "jobKey": training.get("key"),
            "baseModel": training.get("base_model"),
            "dataset": {"path": lora.source, "images": len(training.get("images", ())), "sha256": training.get("dataset_sha256")},
            "settings": dict(training.get("settings", {})),
            "metrics": {k: v for k, v in (training.get("metrics") or {}).items() if v is not None},
            "weights": {"sha256": lora.sha256},
        })
    return jobs


def _resource_descriptor_problems(descriptor: Any, where: str) -> list[str]:
    if not isinstance(descriptor, Mapping):
        return [f"{where} is not an object"]
    problems = []
    name, uri, digest = descriptor.get("name"), descriptor.get("uri"), descriptor.get("digest")
    if not (name or uri or digest):
        problems.append(f"{where} needs at least one of name, uri, digest")
    for key in ("name", "uri", "downloadLocation", "mediaType"):
        if key in descriptor and not isinstance(descriptor[key], str):
            problems.append(f"{where}.{key} is not a string")
    if digest is not None:
        if not isinstance(digest, Mapping) or not digest:
            problems.append(f"{where}.digest is not a non-empty object")
        else:
            for algorithm, value in digest.items():
                if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]+", value):
                    problems.append(f"{where}.digest.{algorithm} is not lowercase hex")
                elif algorithm == "sha256" and not _SHA256_RE.match(value):
                    problems.append(f"{where}.digest.sha256 is not 64 hex digits")
    if "annotations" in descriptor and not isinstance(descriptor["annotations"], Mapping):
        problems.append(f"{where}.annotations is not an object")
    return problems


def _time_problem(value: Any, where: str) -> list[str]:
    try:
        check_timestamp(value, where)
    except ValueError as error:
        return [str(error)]
    return []


def validate_provenance(doc: Mapping[str, Any]) -> None:
    """Check the shape of an in-toto Statement v1 with a SLSA provenance v1 predicate.

    A hand-written check of the fields the specs require (and pixelgen relies
    on) so that runtime validation needs no protobuf; the tests cross-check
    documents with the reference ``in-toto-attestation`` parser.
    Raises ``ValueError`` listing every problem.
    """
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise ValueError("provenance statement is not a JSON object")
    if doc.get("_type") != STATEMENT_TYPE:
        problems.append(f"_type is {doc.get('_type')!r}, expected {STATEMENT_TYPE!r}")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        problems.append("subject must be a non-empty list")
    else:
        for index, subject in enumerate(subjects):
            where = f"subject[{index}]"
            problems += _resource_descriptor_problems(subject, where)
            if isinstance(subject, Mapping) and not subject.get("digest"):
                problems.append(f"{where} has no digest")
    if doc.get("predicateType") != SLSA_PROVENANCE_TYPE:
        problems.append(f"predicateType is {doc.get('predicateType')!r}, expected {SLSA_PROVENANCE_TYPE!r}")
    predicate = doc.get("predicate")
    if not isinstance(predicate, Mapping):
        problems.append("predicate must be an object")
    else:
        definition = predicate.get("buildDefinition")
        if not isinstance(definition, Mapping):
            problems.append("predicate.buildDefinition must be an object")
        else:
            if not isinstance(definition.get("buildType"), str) or not definition.get("buildType"):
                problems.append("predicate.buildDefinition.buildType must be a non-empty string")
            if not isinstance(definition.get("externalParameters"), Mapping):
                problems.append("predicate.buildDefinition.externalParameters must be an object")
            if "internalParameters" in definition and not isinstance(definition["internalParameters"], Mapping):
                problems.append("predicate.buildDefinition.internalParameters must be an object")
            dependencies = definition.get("resolvedDependencies", [])
            if not isinstance(dependencies, list):
                problems.append("predicate.buildDefinition.resolvedDependencies must be a list")
            else:
                for index, descriptor in enumerate(dependencies):
                    problems += _resource_descriptor_problems(
                        descriptor, f"predicate.buildDefinition.resolvedDependencies[{index}]"
                    )
        run = predicate.get("runDetails")
        if not isinstance(run, Mapping):
            problems.append("predicate.runDetails must be an object")
        else:
            builder = run.get("builder")
            if not isinstance(builder, Mapping) or not isinstance(builder.get("id"), str) or not builder.get("id"):
                problems.append("predicate.runDetails.builder.id must be a non-empty string")
            metadata = run.get("metadata", {})
            if not isinstance(metadata, Mapping):
                problems.append("predicate.runDetails.metadata must be an object")
            else:
                for key in ("startedOn", "finishedOn"):
                    if key in metadata:
                        problems += _time_problem(metadata[key], f"predicate.runDetails.metadata.{key}")
            for index, descriptor in enumerate(run.get("byproducts", [])):
                problems += _resource_descriptor_problems(descriptor, f"predicate.runDetails.byproducts[{index}]")
    if problems:
        raise ValueError("provenance statement is not valid: " + "; ".join(problems))


def read_provenance_subjects(path: str | Path) -> dict[str, str]:
    """``{output path: sha256}`` of every subject in a provenance file, for ``pixelgen verify``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}); rebuild to rewrite the provenance file") from error
    try:
        validate_provenance(doc)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    subjects: dict[str, str] = {}
    for subject in doc["subject"]:
        name = subject.get("name")
        sha256 = subject["digest"].get("sha256")
        if not name or sha256 is None:
            raise ValueError(f"{path}: subject {subject!r} lacks a name or a sha256 digest")
        if name in subjects:
            raise ValueError(f"{path}: subject {name!r} listed twice")
        subjects[name] = sha256
    return subjects


def write_provenance_files(out_dir: Path, info: BuildInfo, *, sbom_timestamp: str | None = None,
                           records: Mapping[str, bytes] | None = None) -> dict[str, str]:
    """Write ``sbom.cdx.json`` and ``provenance.intoto.json`` into ``out_dir``; ``{filename: sha256}``.

    Both documents are built and validated before anything is written, so an
    invalid record leaves nothing behind. ``records`` are other files of the
    build's record (``quality.json``, ``report.html``) written with them. Each
    file is written atomically and the statement last: it lists every other
    record as a byproduct with its sha256, binding the set, so a set on disk
    whose byproducts do not match was not written by one build.
    """
    sbom = build_sbom(info, timestamp=sbom_timestamp)
    validate_sbom(sbom)
    files = {**(records or {}), SBOM_FILENAME: dump_json(sbom).encode("utf-8")}
    digests = {name: hashing.sha256_bytes(data) for name, data in files.items()}
    statement = build_provenance(info, byproducts=digests)
    validate_provenance(statement)
    statement_bytes = dump_json(statement).encode("utf-8")

    out_dir = Path(out_dir)
    for name in sorted(files):
        write_bytes_atomic(out_dir / name, files[name])
    write_bytes_atomic(out_dir / PROVENANCE_FILENAME, statement_bytes)
    return {**digests, PROVENANCE_FILENAME: hashing.sha256_bytes(statement_bytes)}


def read_provenance_byproducts(path: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` of the records a provenance statement lists as byproducts (no validation)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    byproducts = doc.get("predicate", {}).get("runDetails", {}).get("byproducts", [])
    return {item["name"]: item.get("digest", {}).get("sha256", "") for item in byproducts if isinstance(item, dict) and "name" in item}
