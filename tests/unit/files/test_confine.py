"""Paths named by remote clients stay inside the server root."""

from __future__ import annotations

import pytest

from pixelgen.errors import InputError
from pixelgen.files.confine import OutsideRootError, confine


def test_relative_and_absolute_paths_inside_are_resolved(tmp_path):
    (tmp_path / "manifests").mkdir()
    assert confine(tmp_path, "manifests/x.yaml") == (tmp_path / "manifests" / "x.yaml").resolve()
    assert confine(tmp_path, str(tmp_path / "a" / ".." / "b.png")) == (tmp_path / "b.png").resolve()
    assert confine(tmp_path, ".") == tmp_path.resolve()


@pytest.mark.parametrize("value", ["../x.yaml", "a/../../x.yaml", "/etc/passwd"])
def test_paths_outside_are_refused(tmp_path, value):
    with pytest.raises(OutsideRootError, match="is outside the server root"):
        confine(tmp_path / "root", value)


def test_symlinks_leading_outside_are_refused_with_their_own_message(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "file.png").symlink_to(outside / "file.png")
    (root / "up").symlink_to(tmp_path, target_is_directory=True)
    for value in ("out/x.png", "file.png", "up", "up/outside/x.png"):
        with pytest.raises(OutsideRootError, match="through a symlink"):
            confine(root, value)
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert confine(root, "alias/a.png") == (root / "real" / "a.png").resolve()


def test_refusal_is_bad_input(tmp_path):
    with pytest.raises(InputError):
        confine(tmp_path, "nul\x00byte")
