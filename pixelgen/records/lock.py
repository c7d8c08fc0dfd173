"""The lock file: what the last build produced, machine-written only.

``<manifest>.lock.json`` sits beside the manifest and is meant to be
committed. It holds no times or paths of the machine that wrote it, is sorted,
and is rewritten only when an entry changed, so an unchanged build leaves it
byte-identical and a changed one gives a small diff.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pixelgen.errors import CorruptStoreError, FileSystemError, InputError
from pixelgen.files.fsutil import (
    dump_json,
    read_regular_file,
    regular_file_problem,
    write_text_atomic,
)
from pixelgen.files.paths import UnsafeValue, check_digest, check_relative_path

LOCK_SCHEMA = 1
# A lock with hand-made overrides (see :mod:`pixelgen.core.overrides`) is schema 2, so a
# pixelgen that does not know overrides refuses it instead of restoring renders over them.
LOCK_SCHEMA_OVERRIDES = 2


@dataclass(frozen=True)
class LockEntry:
    asset: str
    image: str
    render_key: str
    post_key: str
    sha256: str
    inputs: dict[str, str]
    model: str
    seed: int
    batch_size: int
    palette: list[str] | None = None
    quality: dict[str, Any] | None = None
    # An artist's edit adopted in place of the generated image (see pixelgen.core.overrides); the
    # fields above stay those of the generated image.
    override: dict[str, Any] | None = None


@dataclass
class Lock:
    manifest: str
    models: dict[str, Any] = field(default_factory=dict)
    loras: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, LockEntry] = field(default_factory=dict)
    # Packed files (sheets, tilesets, 9-slice data): path → {"asset", "key", "sha256"}.
    packs: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        has_overrides = any(entry.override for entry in self.outputs.values())
        return {
            "schema": LOCK_SCHEMA_OVERRIDES if has_overrides else LOCK_SCHEMA,
            "generated_by": "pixelgen; do not edit by hand",
            "manifest": self.manifest,
            "models": self.models,
            "loras": self.loras,
            "outputs": {path: _entry_json(entry) for path, entry in sorted(self.outputs.items())},
            "packs": dict(sorted(self.packs.items())),
        }


def _entry_json(entry: LockEntry) -> dict[str, Any]:
    data = asdict(entry)
    if data["override"] is None:
        del data["override"]  # locks without overrides keep their schema-1 bytes
    return data


def read_lock(path: Path) -> Lock | None:
    """The lock beside a manifest, checked field by field; None if there is none.

    A lock may come from a checkout or a CI artefact, so nothing in it is
    trusted: every path must stay inside the output folder and every key and
    digest must be a sha256, or the whole lock is refused (exit 1) before any
    of it is acted on.
    """
    problem = regular_file_problem(path)
    if problem == "does not exist":
        return None
    if problem:
        raise CorruptStoreError(f"{path}: the lock file {problem}\n    fix: {_LOCK_FIX}")
    try:
        text = read_regular_file(path, max_bytes=MAX_LOCK_BYTES).decode("utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptStoreError(f"{path}: the lock file is not valid JSON ({exc})\n    fix: {_LOCK_FIX}") from None
    except OSError as exc:
        raise FileSystemError.from_os_error(exc, path, "read the lock file") from None
    return parse_lock(data, str(path))


_LOCK_FIX = "delete the lock file and build again: pixelgen rebuilds it (from the cache where it can)"
MAX_LOCK_BYTES = 512 * 1024 * 1024
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "asset": (str,), "image": (str,), "render_key": (str,), "post_key": (str,), "sha256": (str,), "inputs": (dict,),
    "model": (str,), "seed": (int,), "batch_size": (int,), "palette": (list, type(None)), "quality": (dict, type(None)),
    "override": (dict, type(None)),
}
_OPTIONAL_ENTRY_FIELDS = {"palette", "quality", "override"}


def parse_lock(data: Any, shown: str) -> Lock:
    """A ``Lock`` from decoded JSON, refusing anything pixelgen would not have written."""

    def corrupt(detail: str) -> CorruptStoreError:
        return CorruptStoreError(f"{shown}: the lock file is corrupt: {detail}\n    fix: {_LOCK_FIX}")

    schema = data.get("schema") if isinstance(data, dict) else None
    if schema not in (LOCK_SCHEMA, LOCK_SCHEMA_OVERRIDES):
        raise InputError(
            f"{shown}: lock schema {schema!r} is not supported (this pixelgen writes schemas {LOCK_SCHEMA} and {LOCK_SCHEMA_OVERRIDES}); "
            "upgrade pixelgen, or delete the lock and rebuild"
        )
    for key in ("outputs", "packs", "models", "loras"):
        if not isinstance(data.get(key, {}), dict):
            raise corrupt(f"`{key}` is {type(data[key]).__name__}, not a mapping")
    if not isinstance(data.get("manifest", ""), str):
        raise corrupt("`manifest` is not a string")
    outputs: dict[str, LockEntry] = {}
    try:
        for path, entry in data.get("outputs", {}).items():
            check_relative_path(path, "output path")
            outputs[path] = _entry(path, entry)
        packs: dict[str, dict[str, str]] = {}
        for path, entry in data.get("packs", {}).items():
            check_relative_path(path, "packed file path")
            if not isinstance(entry, dict) or set(entry) != {"asset", "key", "sha256"} or not isinstance(entry["asset"], str):
                raise UnsafeValue(f"packed file {path!r} is not a record of asset, key and sha256")
            check_digest(entry["key"], f"packed file {path!r}: key")
            check_digest(entry["sha256"], f"packed file {path!r}: sha256")
            packs[path] = dict(entry)
        for name, record in data.get("models", {}).items():
            if not isinstance(record, dict):
                raise UnsafeValue(f"model {name!r} is not a record")
            files = record.get("files_sha256")
            if files is not None:
                check_digest(files, f"model {name!r}: files_sha256")
        for name, record in data.get("loras", {}).items():
            if not isinstance(record, dict):
                raise UnsafeValue(f"LoRA {name!r} is not a record")
    except UnsafeValue as exc:
        raise corrupt(str(exc)) from None
    return Lock(manifest=data.get("manifest", ""), models=data.get("models", {}), loras=data.get("loras", {}),
                outputs=outputs, packs=packs)


def _entry(path: str, entry: Any) -> LockEntry:
    if not isinstance(entry, dict):
        raise UnsafeValue(f"output {path!r} is {type(entry).__name__}, not a record")
    missing = sorted(set(_ENTRY_TYPES) - _OPTIONAL_ENTRY_FIELDS - set(entry))
    unknown = sorted(set(entry) - set(_ENTRY_TYPES))
    if missing or unknown:
        raise UnsafeValue(f"output {path!r} " + ("lacks " + ", ".join(missing) if missing else "has unknown fields " + ", ".join(unknown)))
    for name, value in entry.items():
        if not isinstance(value, _ENTRY_TYPES[name]) or isinstance(value, bool):
            raise UnsafeValue(f"output {path!r}: {name} is {type(value).__name__}")
    for name in ("render_key", "post_key", "sha256"):
        check_digest(entry[name], f"output {path!r}: {name}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in entry["inputs"].items()):
        raise UnsafeValue(f"output {path!r}: inputs are not strings")
    if entry.get("override") is not None:
        from pixelgen.core.overrides import check_override_record

        check_override_record(path, entry["override"])
    return LockEntry(**entry)


def write_lock_if_changed(path: Path, lock: Lock) -> bool:
    text = dump_json(lock.to_json())
    try:
        if path.read_text("utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_text_atomic(path, text)
    return True
