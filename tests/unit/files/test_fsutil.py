import errno
import os
from pathlib import Path

import pytest

from pixelgen.files.fsutil import (
    file_digest_inside,
    read_bytes_inside,
    read_regular_file,
    regular_file_problem,
    unlink_inside,
    write_bytes_inside,
)
from pixelgen.files.hashing import sha256_bytes


@pytest.fixture
def roots(tmp_path: Path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    return root, outside


def test_write_read_and_unlink_inside_a_root(roots):
    root, _ = roots
    target = root / "a" / "b" / "c.png"
    write_bytes_inside(root, target, b"data")
    assert read_bytes_inside(root, target) == b"data" and file_digest_inside(root, target) == sha256_bytes(b"data")
    assert not unlink_inside(root, target, expected_sha256=sha256_bytes(b"other"))  # not what pixelgen wrote
    assert unlink_inside(root, target, expected_sha256=sha256_bytes(b"data"), prune_empty=True)
    assert list(root.iterdir()) == []  # empty folders pruned up to, not including, the root


def test_symlinked_folders_below_the_root_are_not_followed(roots):
    root, outside = roots
    os.symlink(outside, root / "link")
    with pytest.raises(OSError) as caught:
        write_bytes_inside(root, root / "link" / "new.txt", b"x")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OSError):
        unlink_inside(root, root / "link" / "keep.txt")
    with pytest.raises(OSError):
        read_bytes_inside(root, root / "link" / "keep.txt")  # reading never reaches through either
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_symlinked_files_are_replaced_not_written_through_or_read(roots):
    root, outside = roots
    os.symlink(outside / "keep.txt", root / "file.txt")
    assert read_bytes_inside(root, root / "file.txt") is None
    assert not unlink_inside(root, root / "file.txt")  # not a regular file: left alone
    write_bytes_inside(root, root / "file.txt", b"new")
    assert not (root / "file.txt").is_symlink() and (outside / "keep.txt").read_text() == "keep"


def test_paths_outside_the_root_are_refused(roots):
    root, outside = roots
    with pytest.raises(ValueError):
        write_bytes_inside(root, outside / "x", b"x")
    with pytest.raises(ValueError):
        unlink_inside(root, root / ".." / "outside" / "keep.txt")


def test_fifos_and_folders_are_refused_before_a_blocking_open(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo")
    assert "not a regular file" in regular_file_problem(tmp_path / "fifo")
    assert "folder" in regular_file_problem(tmp_path)
    assert regular_file_problem(tmp_path / "missing") == "does not exist"
    with pytest.raises(OSError):
        read_regular_file(tmp_path / "fifo")  # O_NONBLOCK + fstat: returns at once
    (tmp_path / "big").write_bytes(b"x" * 100)
    with pytest.raises(OSError):
        read_regular_file(tmp_path / "big", max_bytes=10)
