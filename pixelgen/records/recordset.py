"""A build's records as one set: ``quality.json``, ``report.html``, the SBOM and the provenance statement.

The build prepares all four in memory and validates them before writing any;
the provenance statement is written last and lists the sha256 of every output
(its subjects) and of the three other records (its byproducts). The set on
disk is therefore consistent exactly when the statement's subjects are the
lock's outputs and its byproducts are the files beside it. ``build`` (to
decide whether to rewrite the records), ``build --check`` and ``verify`` all
ask :func:`record_problems`, so they cannot disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from pixelgen.files.hashing import sha256_file
from pixelgen.records.lock import Lock

QUALITY_FILENAME = "quality.json"
REPORT_FILENAME = "report.html"
SBOM_FILENAME = "sbom.cdx.json"
PROVENANCE_FILENAME = "provenance.intoto.json"
BOUND_RECORDS = (QUALITY_FILENAME, REPORT_FILENAME, SBOM_FILENAME)


def recorded_outputs(lock: Lock) -> dict[str, str]:
    """``{path: sha256}`` of every file the lock records: images and packed engine files."""
    from pixelgen.core.overrides import expected_digest

    recorded = {path: expected_digest(entry) for path, entry in lock.outputs.items()}
    recorded.update({path: entry["sha256"] for path, entry in lock.packs.items()})
    return recorded


def record_problems(out_dir: Path, lock: Lock | None) -> list[str]:
    """Why the records beside the outputs are not the set the last build wrote for this lock; empty when they are."""
    if lock is None or not (lock.outputs or lock.packs):
        return []
    statement = out_dir / PROVENANCE_FILENAME
    if not statement.is_file():
        return [f"{PROVENANCE_FILENAME} missing"]
    try:
        document = json.loads(statement.read_text("utf-8"))
        subjects = {item["name"]: item["digest"]["sha256"] for item in document["subject"]}
        byproducts = {item["name"]: item["digest"]["sha256"] for item in document["predicate"]["runDetails"].get("byproducts", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{PROVENANCE_FILENAME} unreadable"]
    problems = []
    if subjects != recorded_outputs(lock):
        problems.append(f"{PROVENANCE_FILENAME} does not record the outputs of the lock")
    for name in BOUND_RECORDS:
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{name} missing")
        elif byproducts.get(name) != sha256_file(path):
            problems.append(f"{name} is not the one {PROVENANCE_FILENAME} records")
    return problems
