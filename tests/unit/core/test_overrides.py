"""Overrides: the lock record, staleness in words, pack keys, and the three-way pixel merge."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.overrides import (
    check_override_record,
    conflict_image,
    effective_pack_key,
    expected_digest,
    is_stale,
    modification_record,
    stale_message,
    three_way_merge,
)
from pixelgen.core.plan import AssetPlan
from pixelgen.errors import CorruptStoreError
from pixelgen.files.paths import UnsafeValue
from pixelgen.records.lock import (
    Lock,
    LockEntry,
    parse_lock,
    read_lock,
    write_lock_if_changed,
)

INPUTS = {"prompt": "p1", "seed": "1", "palette": "x"}


def _override(**changes: object) -> dict:
    return {"sha256": "d" * 64, "base_post_key": "b" * 64, "base_sha256": "c" * 64, "base_inputs": dict(INPUTS), **changes}


def _entry(override: dict | None = None, **changes: object) -> LockEntry:
    entry = LockEntry(asset="hero", image="seed1", render_key="a" * 64, post_key="b" * 64, sha256="c" * 64,
                      inputs=dict(INPUTS), model="tiny", seed=1, batch_size=1, override=override)
    return replace(entry, **changes)


def test_lock_with_an_override_is_schema_2_and_reads_back(tmp_path: Path):
    path = tmp_path / "game.lock.json"
    plain = Lock(manifest="game", outputs={"hero/seed1.png": _entry()})
    write_lock_if_changed(path, plain)
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and "override" not in data["outputs"]["hero/seed1.png"]  # old locks keep their bytes
    touched = Lock(manifest="game", outputs={"hero/seed1.png": _entry(_override(author="Ada <ada@example.com>", commit="e" * 40))})
    write_lock_if_changed(path, touched)
    assert json.loads(path.read_text())["schema"] == 2
    assert read_lock(path).outputs == touched.outputs


@pytest.mark.parametrize("bad, needle", [
    (_override(sha256="D" * 64), "override sha256"),
    (_override(base_post_key="../x"), "override base_post_key"),
    (_override(file="../../etc/passwd"), "override file"),
    (_override(file="/etc/passwd"), "override file"),
    (_override(commit="HEAD; rm -rf /"), "not a git commit"),
    (_override(author=["x"]), "author"),
    (_override(base_inputs={"prompt": 1}), "base_inputs"),
    (_override(extra="x"), "unknown fields extra"),
    ({"sha256": "d" * 64}, "lacks base_inputs"),
    ("not a record", "not a record"),
])
def test_an_override_record_pixelgen_would_not_write_is_refused(bad, needle):
    with pytest.raises(UnsafeValue, match=needle):
        check_override_record("hero/seed1.png", bad)
    data = {"schema": 2, "manifest": "game", "outputs": {"hero/seed1.png": {**json.loads(json.dumps(_entry().__dict__)), "override": bad}}}
    with pytest.raises(CorruptStoreError, match="corrupt"):
        parse_lock(data, "game.lock.json")


def test_staleness_is_said_in_words():
    current = _entry(_override())
    assert expected_digest(current) == "d" * 64 and expected_digest(_entry()) == "c" * 64
    assert not is_stale(current)
    moved = replace(current, post_key="f" * 64, inputs={**INPUTS, "prompt": "p2"})
    assert is_stale(moved)
    assert stale_message("hero/seed1.png", moved) == "override of hero/seed1 is based on an old render: prompt changed"
    assert modification_record("hero/seed1.png", moved)["stale"] == "prompt changed"
    assert modification_record("hero/seed1.png", _entry()) is None


def test_pack_key_covers_overrides_only_when_there_are_some():
    from pixelgen.core.plan import PostJob

    post = PostJob(key="b" * 64, render_key="a" * 64, asset_id="hud", image="button", output="hud/button.png", size=(16, 8),
                   palette=None, pixelart={}, background="keep", wrap=False, border=None, grid_set=None, inputs=dict(INPUTS),
                   prompt="p", negative="", seed=1, model="tiny")
    plan = AssetPlan(asset=None, posts=(post,), pack_key="9" * 64, pack_files=("hud/hud.sheet.png",))  # type: ignore[arg-type]
    plain = Lock(manifest="game", outputs={"hud/button.png": _entry()})
    assert effective_pack_key(plan, plain) == "9" * 64
    one = Lock(manifest="game", outputs={"hud/button.png": _entry(_override())})
    other = Lock(manifest="game", outputs={"hud/button.png": _entry(_override(sha256="e" * 64))})
    assert len({effective_pack_key(plan, one), effective_pack_key(plan, other), "9" * 64}) == 3


def _image(fill: tuple[int, int, int, int]) -> np.ndarray:
    return np.tile(np.array(fill, np.uint8), (4, 4, 1))


def test_three_way_merge_applies_edits_exactly_and_finds_conflicts():
    base = _image((10, 10, 10, 255))
    new = base.copy()
    new[0, 0] = (20, 20, 20, 255)  # upstream change only
    new[1, 1] = (30, 30, 30, 255)  # changed on both sides, differently
    new[2, 2] = (40, 40, 40, 255)  # changed on both sides, the same way
    override = base.copy()
    override[3, 3] = (255, 0, 0, 255)  # the artist's edit only
    override[1, 1] = (0, 255, 0, 255)
    override[2, 2] = (40, 40, 40, 255)
    merged, edited, conflicts = three_way_merge(base, override, new)
    assert edited.sum() == 3 and np.argwhere(conflicts).tolist() == [[1, 1]]
    expected = new.copy()
    expected[3, 3] = (255, 0, 0, 255)
    expected[1, 1] = (0, 255, 0, 255)
    assert np.array_equal(merged, expected)
    report = conflict_image(base, override, new, conflicts)
    assert report.shape == (16, (4 * 4 + 3) * 4, 4)


def test_hidden_colour_of_transparent_pixels_is_no_edit():
    base = _image((10, 10, 10, 0))
    override = base.copy()
    override[0, 0] = (99, 99, 99, 0)  # invisible: an editor may rewrite it on save
    new = _image((50, 50, 50, 0))
    merged, edited, conflicts = three_way_merge(base, override, new)
    assert not edited.any() and not conflicts.any() and np.array_equal(merged, new)
