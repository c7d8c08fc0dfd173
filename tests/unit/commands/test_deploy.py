import os
from pathlib import Path

import pytest

from pixelgen.commands.deploy import STAGING_DIR_NAME, deploy_files


def _sources(tmp_path: Path, contents: dict[str, bytes]) -> dict[str, Path]:
    folder = tmp_path / "build"
    mapping = {}
    for index, (rel, data) in enumerate(sorted(contents.items())):
        path = folder / f"src{index}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        mapping[rel] = path
    return mapping


def test_copies_into_place_without_leaving_temp_files(tmp_path):
    files = _sources(tmp_path, {"hero.png": b"png-bytes", "sheets/hero.json": b"{}", "ui/panel.tres": b"[resource]"})
    dest = tmp_path / "game" / "assets"
    result = deploy_files(files, dest)
    assert result.copied == ("hero.png", "sheets/hero.json", "ui/panel.tres")
    assert result.unchanged == ()
    assert result.staging_fallback is None
    assert result.staging_dir == dest.parent / STAGING_DIR_NAME
    for rel, source in files.items():
        assert (dest / rel).read_bytes() == source.read_bytes()
    # Only the deployed files are in the destination, and the staging folder it made is gone.
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == sorted(files)
    assert not (dest.parent / STAGING_DIR_NAME).exists()


def test_identical_files_are_not_touched_and_changed_ones_are_replaced(tmp_path):
    files = _sources(tmp_path, {"a.png": b"aaaa", "b.png": b"bbbb"})
    dest = tmp_path / "assets"
    deploy_files(files, dest)
    old_time = 1_000_000_000  # a fixed past mtime, so "unchanged" cannot be a timing coincidence
    for rel in files:
        os.utime(dest / rel, (old_time, old_time))
    inode_a = os.stat(dest / "a.png").st_ino
    files["b.png"].write_bytes(b"BBBB")

    result = deploy_files(files, dest)
    assert result.unchanged == ("a.png",)
    assert result.copied == ("b.png",)
    assert os.stat(dest / "a.png").st_mtime == old_time
    assert os.stat(dest / "a.png").st_ino == inode_a
    assert os.stat(dest / "b.png").st_mtime != old_time
    assert (dest / "b.png").read_bytes() == b"BBBB"


def test_temp_file_is_written_in_the_staging_folder_not_the_destination(tmp_path, monkeypatch):
    files = _sources(tmp_path, {"deep/x.png": b"xyz"})
    dest = tmp_path / "assets"
    staging = tmp_path / "stage"
    staging.mkdir()
    seen = []
    real_replace = os.replace

    def spy_replace(source, target, **dir_fds):
        seen.append((Path(source), Path(target), sorted(p.name for p in dest.rglob("*"))))
        return real_replace(source, target, **dir_fds)

    monkeypatch.setattr(os, "replace", spy_replace)
    result = deploy_files(files, dest, staging_dir=staging)
    (temp, target, dest_listing) = seen[0]
    assert temp.parent == staging
    assert target == Path("x.png")  # renamed into dest/deep through its folder descriptor
    assert (dest / "deep" / "x.png").read_bytes() == b"xyz"
    assert dest_listing == ["deep"]  # the destination never held the temp file
    assert result.staging_dir == staging
    assert staging.is_dir() and not any(staging.iterdir())  # an existing folder is kept, emptied


def test_other_filesystem_falls_back_to_hidden_temp_beside_target(tmp_path, monkeypatch):
    files = _sources(tmp_path, {"x.png": b"xyz"})
    dest = tmp_path / "assets"
    real_stat = os.stat

    def fake_stat(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if Path(path).name == STAGING_DIR_NAME:
            fields = list(result)
            fields[2] = result.st_dev + 1  # pretend it is another device
            return os.stat_result(fields)
        return result

    monkeypatch.setattr(os, "stat", fake_stat)
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda s, t, **fds: (seen.append((Path(s), fds)), real_replace(s, t, **fds)))
    result = deploy_files(files, dest)
    assert result.staging_dir is None
    assert "another filesystem" in result.staging_fallback
    temp, fds = seen[0]
    # The temp file is beside its target: renamed within the target's folder descriptor.
    assert temp.name.startswith(".x.png.") and fds["src_dir_fd"] == fds["dst_dir_fd"] is not None
    assert (dest / "x.png").read_bytes() == b"xyz"
    assert sorted(p.name for p in dest.iterdir()) == ["x.png"]
    assert not (tmp_path / STAGING_DIR_NAME).exists()  # the unusable staging folder it made is removed


def test_rejects_paths_outside_destination_and_missing_sources(tmp_path):
    files = _sources(tmp_path, {"a.png": b"a"})
    for bad in ("../a.png", "/abs.png", "a/../../b.png", "", "dir\\a.png"):
        with pytest.raises(ValueError, match="relative POSIX path"):
            deploy_files({bad: files["a.png"]}, tmp_path / "assets")
    with pytest.raises(ValueError, match="not a file"):
        deploy_files({"a.png": tmp_path / "missing.png"}, tmp_path / "assets")


def test_file_mode_follows_the_source(tmp_path):
    files = _sources(tmp_path, {"a.png": b"a"})
    os.chmod(files["a.png"], 0o644)
    deploy_files(files, tmp_path / "assets")
    assert (os.stat(tmp_path / "assets" / "a.png").st_mode & 0o777) == 0o644


def test_sync_deployed_removes_only_what_it_deployed_and_nobody_edited(tmp_path):
    from pixelgen.commands.deploy import sync_deployed

    out, game = tmp_path / "out", tmp_path / "game"
    (out / "a").mkdir(parents=True)
    for name in ("a/keep.png", "a/gone.png", "a/edited.png"):
        (out / name).write_bytes(name.encode())
    files = {name: out / name for name in ("a/keep.png", "a/gone.png", "a/edited.png")}
    first = sync_deployed(files, game, record_name=".record.json")
    assert first.removed == () and len(first.copied) == 3
    (game / "a" / "edited.png").write_bytes(b"changed in the game")
    (game / "a" / "theirs.png").write_bytes(b"never deployed")
    second = sync_deployed({"a/keep.png": out / "a/keep.png"}, game, record_name=".record.json")
    assert second.removed == ("a/gone.png",)
    assert sorted(p.name for p in (game / "a").iterdir()) == ["edited.png", "keep.png", "theirs.png"]
    (game / ".record.json").write_text("not json")
    assert sync_deployed({}, game, record_name=".record.json").removed == ()  # an unreadable record removes nothing
