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

from pixelgen.errors import InputError
from pixelgen.fsutil import dump_json, write_text_atomic

LOCK_SCHEMA = 1


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


@dataclass
class Lock:
    manifest: str
    models: dict[str, Any] = field(default_factory=dict)
    loras: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, LockEntry] = field(default_factory=dict)
    # Packed files (sheets, tilesets, 9-slice data): path → {"asset", "key", "sha256"}.
    packs: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": LOCK_SCHEMA,
            "generated_by": "pixelgen; do not edit by hand",
            "manifest": self.manifest,
            "models": self.models,
            "loras": self.loras,
            "outputs": {path: asdict(entry) for path, entry in sorted(self.outputs.items())},
            "packs": dict(sorted(self.packs.items())),
        }


def read_lock(path: Path) -> Lock | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: the lock file is not valid JSON ({exc}); delete it and build again to recreate it") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != LOCK_SCHEMA:
        raise InputError(
            f"{path}: lock schema {schema!r} is not supported (this pixelgen writes schema {LOCK_SCHEMA}); "
            "upgrade pixelgen, or delete the lock and rebuild"
        )
    try:
        outputs = {p: LockEntry(**entry) for p, entry in data.get("outputs", {}).items()}
    except TypeError as exc:
        raise InputError(f"{path}: malformed lock entry ({exc}); delete the lock and build again") from None
    return Lock(manifest=data.get("manifest", ""), models=data.get("models", {}), loras=data.get("loras", {}),
                outputs=outputs, packs=data.get("packs", {}))


def write_lock_if_changed(path: Path, lock: Lock) -> bool:
    text = dump_json(lock.to_json())
    try:
        if path.read_text("utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_text_atomic(path, text)
    return True
