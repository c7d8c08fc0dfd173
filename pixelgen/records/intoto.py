"""The in-toto Statement v1 / SLSA provenance v1 of a build: which build made every output (see :mod:`pixelgen.records.provenance`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pixelgen.files import hashing
from pixelgen.records.provenance import (
    _SHA256_RE,
    BUILD_TYPE,
    BUILDER_ID_PREFIX,
    SLSA_PROVENANCE_TYPE,
    STATEMENT_TYPE,
    BuildInfo,
    _check_info,
    _check_sha256,
    check_timestamp,
)
from pixelgen.records.sbom import (
    _hub_purl,
    _sorted_files,
)

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



def read_provenance_byproducts(path: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` of the records a provenance statement lists as byproducts (no validation)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    byproducts = doc.get("predicate", {}).get("runDetails", {}).get("byproducts", [])
    return {item["name"]: item.get("digest", {}).get("sha256", "") for item in byproducts if isinstance(item, dict) and "name" in item}
