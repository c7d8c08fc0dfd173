"""Class 8: OS errors end as one message with the path and the fix; FIFOs are refused before they are opened.

Read-only folders and a full disk use real mounts (a read-only bind mount, a
small tmpfs); those tests are skipped where the machine cannot mount.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sec_helpers import MANIFEST, assert_one_error

from pixelgen.files.hashing import sha256_bytes


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def _mounted(target: Path, *args: str):
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount(*args, str(target)):
        pytest.skip("needs permission to mount (root in a container that allows it)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@contextlib.contextmanager
def _read_only(folder: Path):
    with _mounted(folder, "--bind", str(folder)):
        if not _mount("-o", "remount,ro,bind", str(folder)):
            pytest.skip("cannot remount read-only here")
        yield folder


def _edit(sandbox, old: str, new: str) -> None:
    manifest = sandbox.project / MANIFEST
    manifest.write_text(manifest.read_text().replace(old, new, 1))


def _drop_hero(sandbox) -> None:
    manifest = sandbox.project / MANIFEST
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - id: hero")] + text[text.index("  - id: walker"):])


# -- FIFOs and non-files: refused before open (a subprocess with a timeout, so a hang fails the test) --------

def test_a_fifo_manifest_is_refused_not_waited_on(sandbox):
    os.mkfifo(sandbox.project / "manifests" / "fifo.yaml")
    result = sandbox.run_process("validate", "manifests/fifo.yaml", timeout=60)
    assert_one_error(result, 2, "not a regular file")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_palette_path_that_is_not_a_file(sandbox, kind):
    target = sandbox.project / "manifests" / "pal.hex"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    _edit(sandbox, "pico: {builtin: pico-8}", "pico: {path: pal.hex}")
    result = sandbox.run_process("validate", MANIFEST, timeout=60)
    assert_one_error(result, 2, "pal.hex", "not a regular file" if kind == "fifo" else "is a folder")


@pytest.mark.parametrize("kind", ["text", "fifo", "folder"])
def test_a_reference_that_is_not_an_image(sandbox, kind):
    target = sandbox.project / "manifests" / "ref.png"
    {"text": lambda: target.write_text("hello"), "fifo": lambda: os.mkfifo(target), "folder": target.mkdir}[kind]()
    _edit(sandbox, '    prompt: "a hero"\n', '    prompt: "a hero"\n    reference: ref.png\n')
    result = sandbox.run_process("validate", MANIFEST, timeout=60)
    assert_one_error(result, 2, "reference image 'ref.png'")


def test_a_fifo_lock_is_refused(sandbox):
    sandbox.lock_path.unlink()
    os.mkfifo(sandbox.lock_path)
    result = sandbox.run_process("build", MANIFEST, timeout=60)
    assert_one_error(result, 1, "not a regular file")


def test_out_below_a_file_is_an_error_with_the_path(sandbox):
    (sandbox.project / "blocker").write_text("a file")
    result = sandbox.run("build", MANIFEST, "--out", "blocker/out")
    assert_one_error(result, 1, "blocker", "fix:")
    sandbox.sentinel_untouched()


# -- read-only folders --------------------------------------------------------------------------------------

def test_read_only_manifests_folder_deletes_nothing(sandbox):
    _drop_hero(sandbox)
    hero = sandbox.out / "hero" / "default.png"
    with _read_only(sandbox.project / "manifests"):
        result = sandbox.run("build", MANIFEST)
    assert_one_error(result, 1, "manifests", "read-only", "fix:")
    assert hero.is_file()  # the lock could not be written, so nothing was removed either
    sandbox.sentinel_untouched()


@pytest.mark.parametrize("folder", ["out", "cache", "deploy"])
def test_read_only_output_cache_or_deploy_folder(sandbox, folder):
    deploy = sandbox.project / "game"
    deploy.mkdir()
    target = {"out": sandbox.out, "cache": sandbox.cache, "deploy": deploy}[folder]
    shutil.rmtree(sandbox.out / "hero")
    with _read_only(target):
        result = sandbox.run("build", MANIFEST, "--deploy", str(deploy))
    assert_one_error(result, 1, str(target.name), "fix:")
    sandbox.sentinel_untouched()


# -- a full disk -----------------------------------------------------------------------------------------------

def test_disk_full_while_writing_outputs_loses_nothing(sandbox):
    lock_before = sandbox.lock_path.read_bytes()
    shutil.rmtree(sandbox.out)
    sandbox.out.mkdir()
    with _mounted(sandbox.out, "-t", "tmpfs", "-o", "size=12k", "tmpfs"):
        result = sandbox.run("build", MANIFEST)
        assert_one_error(result, 1, "No space left", "free some disk space")
        # Whatever was written is complete: every PNG is byte-identical to its cache object, no temp file is left.
        written = [p for p in sandbox.out.rglob("*") if p.is_file()]
        assert not [p for p in written if p.name.endswith(".tmp")]
        objects = {p.name for p in (sandbox.cache / "objects").rglob("*") if p.is_file()}
        for path in written:
            if path.suffix == ".png" and path.parent != sandbox.out:
                assert sha256_bytes(path.read_bytes())[2:] in objects, path
        assert sandbox.lock_path.read_bytes() == lock_before
        assert _mount("-o", "remount,size=8m", str(sandbox.out))
        result = sandbox.run("build", MANIFEST)
        assert result.code == 0, result.err
        assert sandbox.run("verify", MANIFEST).code == 0
    sandbox.sentinel_untouched()


# -- permission denied (as an unprivileged user: root ignores permission bits) ---------------------------------

def _as_nobody(sandbox, tmp_root: Path, *args: str):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run pixelgen as an unprivileged user")
    import sys

    completed = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "pixelgen", *args],
        cwd=tmp_root / "project", capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp_root)},
    )
    from cli_helpers import Result

    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def shared_copy(sandbox, tmp_path_factory):
    """The sandbox project copied where an unprivileged user can reach it, owned by that user."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="pixelgen-nobody-"))
    os.chmod(root, 0o755)
    shutil.copytree(sandbox.project, root / "project", symlinks=True)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(folder, name), 65534, 65534)
    os.chown(root, 65534, 65534)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("folder", ["manifests", "assets_out/sec", "manifests/.pixelgen/cache"])
def test_permission_denied_is_one_message_and_deletes_nothing(shared_copy, sandbox, folder):
    project = shared_copy / "project"
    manifest = project / MANIFEST
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - id: hero")] + text[text.index("  - id: walker"):])  # hero's outputs would go
    hero = project / "assets_out" / "sec" / "hero" / "default.png"
    os.chmod(project / folder, 0o555)
    result = _as_nobody(sandbox, shared_copy, "build", MANIFEST)
    assert_one_error(result, 1, "permission denied", folder.split("/")[-1], "fix:")
    assert hero.is_file()
    sandbox.sentinel_untouched()


def test_a_fifo_where_an_output_should_be_is_replaced_without_hanging(sandbox):
    target = sandbox.out / "hero" / "default.png"
    target.unlink()
    os.mkfifo(target)
    result = sandbox.run_process("build", MANIFEST, timeout=120)
    assert result.code == 0, result.err
    assert target.is_file() and target.read_bytes().startswith(b"\x89PNG")
    assert sandbox.run("verify", MANIFEST).code == 0
