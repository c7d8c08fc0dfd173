"""Build records: a CycloneDX 1.6 SBOM and an in-toto / SLSA v1 provenance statement.

This module holds what both documents describe (the :class:`BuildInfo` data
model, licence checks) and writes them as one set; each document is built and
validated in a module of its own: :mod:`pixelgen.records.sbom` and
:mod:`pixelgen.records.intoto`.

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

import re
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
    from pixelgen.records.intoto import build_provenance, validate_provenance
    from pixelgen.records.sbom import build_sbom, validate_sbom

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


