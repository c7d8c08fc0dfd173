"""bench/real_renders.json: every record is complete and consistent with bench/pixelize_real.py.

The benchmark's figures are only as good as these records, and a new held-out
split is added by hand, so the checks run on the file itself (no images needed).
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
FIELDS = (
    "file", "repo", "path", "commit", "licence", "licence_source", "redistributable", "generator", "kind",
    "format", "width", "height", "mode", "cell", "native", "grid", "background", "judged_how", "sha256",
    "notes", "split",
)
KINDS = {"sprite", "scene", "icon", "sheet", "tile", "no-grid"}
BACKGROUNDS = {"uniform", "scene", "transparent"}


def _records() -> list[dict[str, Any]]:
    return json.loads((BENCH / "real_renders.json").read_text(encoding="utf-8"))


def _splits() -> tuple[str, ...]:
    # Read SPLITS from the script's source: importing it would set thread-count
    # variables for the whole test process.
    tree = ast.parse((BENCH / "pixelize_real.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SPLITS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("bench/pixelize_real.py defines no SPLITS")


RECORDS = _records()


def test_every_record_has_exactly_the_documented_fields_in_order() -> None:
    for record in RECORDS:
        assert tuple(record) == FIELDS, record.get("file")


def test_file_names_and_hashes_are_unique_and_well_formed() -> None:
    files = [r["file"] for r in RECORDS]
    assert len(files) == len(set(files))
    hashes = [r["sha256"] for r in RECORDS]
    assert len(hashes) == len(set(hashes))
    for record in RECORDS:
        assert re.fullmatch(r"[0-9a-f]{64}", record["sha256"]), record["file"]
        assert re.fullmatch(r"[0-9a-f]{40}", record["commit"]), record["file"]
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", record["repo"]), record["file"]


@pytest.mark.parametrize("record", RECORDS, ids=[r["file"] for r in RECORDS])
def test_grid_class_size_and_labels_agree(record: dict[str, Any]) -> None:
    assert record["split"] in _splits()
    assert record["redistributable"] is True
    assert record["kind"] in KINDS
    assert record["background"] in BACKGROUNDS
    assert record["grid"] in {"clear", "soft", "none"}
    assert isinstance(record["width"], int) and isinstance(record["height"], int)
    if record["grid"] == "none":
        assert record["native"] is None and record["cell"] is None
        assert record["kind"] == "no-grid"
    if record["grid"] == "clear":
        assert record["native"] is not None
    if record["native"] is not None:
        width, height = record["native"]
        assert isinstance(width, int) and isinstance(height, int)
        cell_x, cell_y = record["cell"]
        # The judged size is the image measured in judged cells, give or take a cell of margin or crop.
        assert abs(record["width"] / cell_x - width) <= max(2.0, 0.05 * width), record["file"]
        assert abs(record["height"] / cell_y - height) <= max(2.0, 0.05 * height), record["file"]


def test_each_repository_sits_in_one_split() -> None:
    # Splits hold whole repositories, so a held-out figure never shares a source with the tuning set.
    splits_by_repo: dict[str, set[str]] = defaultdict(set)
    for record in RECORDS:
        splits_by_repo[record["repo"]].add(record["split"])
    assert {repo: s for repo, s in splits_by_repo.items() if len(s) > 1} == {}


def test_every_split_the_script_knows_has_records() -> None:
    present = {r["split"] for r in RECORDS}
    assert set(_splits()) == present
