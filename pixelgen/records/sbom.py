"""The CycloneDX 1.6 SBOM of a build: what went in and what came out (see :mod:`pixelgen.records.provenance`)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pixelgen.files import hashing
from pixelgen.records.provenance import (
    _DATA_TYPES,
    _MEDIA_TYPES,
    _TASK_TYPES,
    PROPERTY_RESTRICTED,
    BuildInfo,
    DataInfo,
    FileDigest,
    LoraInfo,
    ModelInfo,
    OutputInfo,
    TaskInfo,
    _check_info,
    check_timestamp,
    is_restricted_license,
    restricted_licenses,
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


