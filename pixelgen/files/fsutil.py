"""Atomic file writes: a reader or a killed build never sees a half-written file."""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any


def _default_file_mode() -> int:
    # mkstemp creates 0600 files; assets should get the usual 0666 & ~umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _default_file_mode()
_FILE_MODE = FILE_MODE


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory + ``os.replace``.

    The temp file lives beside the target so the rename never crosses a
    filesystem; it is fsynced first so a power cut cannot leave an empty file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def dump_json(value: Any) -> str:
    """Stable, human-diffable JSON for files people commit (sorted, indented, newline)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_atomic(path: str | Path, value: Any) -> None:
    write_text_atomic(path, dump_json(value))


# -- confined operations -------------------------------------------------------
# OUT, the deploy folder and the cache may hold symbolic links planted by a
# checkout or a shared cache. Below a root, folders are opened one component
# at a time with O_NOFOLLOW relative to their parent's descriptor, so no write,
# read or deletion can be redirected outside the root by a symlinked folder.
# The root itself is what the user named and is taken as given.

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_DIR_FD = {os.open, os.mkdir, os.unlink, os.rmdir, os.stat} <= os.supports_dir_fd and hasattr(os, "O_NOFOLLOW")


def _relative_parts(root: Path, path: Path) -> tuple[str, ...]:
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        raise ValueError(f"{path} is not inside {root}") from None
    if not parts or any(part in ("..", ".") for part in parts):
        raise ValueError(f"{path} is not a file inside {root}")
    return parts


def _symlink_error(path: Path) -> OSError:
    return OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(path))


def open_dir_inside(root: Path, parts: tuple[str, ...], *, create: bool) -> int:
    """Descriptor of ``root/parts…``; a symlinked folder below ``root`` raises ``OSError(ELOOP)``."""
    root = Path(root)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    walked = root
    try:
        for part in parts:
            walked = walked / part
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                child = _open_child_dir(part, fd, walked)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(walked):
                    raise _symlink_error(walked) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_child_dir(part: str, parent_fd: int, shown: Path) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(shown):
            raise _symlink_error(shown) from None
        raise


def _check_components(root: Path, parts: tuple[str, ...]) -> None:
    """Fallback where ``dir_fd`` is unavailable: refuse symlinked folders by checking every component."""
    walked = Path(root)
    for part in parts:
        walked = walked / part
        if walked.is_symlink():
            raise _symlink_error(walked)


def write_bytes_inside(root: str | Path, path: str | Path, data: bytes) -> None:
    """Atomically write ``path`` (inside ``root``) without following a symlinked folder below ``root``.

    A symlinked *file* at ``path`` is replaced by the new file, never written through.
    """
    root, path = Path(root), Path(path)
    parts = _relative_parts(root, path)
    if not _DIR_FD:
        _check_components(root, parts[:-1])
        write_bytes_atomic(path, data)
        return
    dir_fd = open_dir_inside(root, parts[:-1], create=True)
    try:
        replace_in_dir(dir_fd, parts[-1], data)
    finally:
        os.close(dir_fd)


def replace_in_dir(dir_fd: int, name: str, data: bytes, *, mode: int | None = None, temp_dir: Path | None = None) -> None:
    """Atomically make ``name`` in the open folder ``dir_fd`` hold ``data``.

    The bytes go to a temp file (beside the target, or in ``temp_dir`` on the
    same file system), are fsynced, and the temp file is renamed onto the
    name: readers see the old file or the new one, never a part. The temp
    file is created with O_EXCL | O_NOFOLLOW, so a planted link is never
    written through; it is removed if anything fails.
    """
    file_mode = _FILE_MODE if mode is None else stat.S_IMODE(mode)
    if temp_dir is not None:
        fd, tmp_name = tempfile.mkstemp(dir=temp_dir, prefix=f".{name}.", suffix=".tmp")
        src_dir_fd = None
    else:
        tmp_name = f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, file_mode, dir_fd=dir_fd)
        src_dir_fd = dir_fd
    try:
        try:
            # mkstemp makes 0600 files, and the umask narrows os.open's mode.
            os.fchmod(fd, file_mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, name, src_dir_fd=src_dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp_name, dir_fd=src_dir_fd)
        except FileNotFoundError:
            pass
        raise


def write_json_inside(root: str | Path, path: str | Path, value: Any) -> None:
    write_bytes_inside(root, path, dump_json(value).encode("utf-8"))


def _open_file_inside(root: Path, path: Path) -> int | None:
    """Read-only descriptor of a regular file inside ``root``; None if absent, a symlink or not a regular file."""
    parts = _relative_parts(root, path)
    if not _DIR_FD:
        _check_components(root, parts[:-1])
        if path.is_symlink() or not path.is_file():
            return None
        return os.open(path, os.O_RDONLY)
    try:
        dir_fd = open_dir_inside(root, parts[:-1], create=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None  # a symlinked file: not pixelgen's; it will be replaced
        raise
    finally:
        os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def read_bytes_inside(root: str | Path, path: str | Path) -> bytes | None:
    """Bytes of a regular file inside ``root``, or None when there is none (symlinks are not followed)."""
    fd = _open_file_inside(Path(root), Path(path))
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def file_digest_inside(root: str | Path, path: str | Path) -> str | None:
    """sha256 of a regular file inside ``root``, or None when there is none (symlinks are not followed)."""
    from pixelgen.files.hashing import sha256_fd

    fd = _open_file_inside(Path(root), Path(path))
    if fd is None:
        return None
    try:
        return sha256_fd(fd)
    finally:
        os.close(fd)


def unlink_inside(root: str | Path, path: str | Path, *, expected_sha256: str | None = None, prune_empty: bool = False) -> bool:
    """Delete the regular file ``path`` inside ``root``; True if it was deleted.

    Symlinked folders are not followed; a symlink or anything that is not a
    regular file is left alone, and so is a file whose sha256 is not
    ``expected_sha256`` (when given): pixelgen deletes only what it wrote.
    With ``prune_empty``, folders left empty between the file and ``root`` go too.
    """
    root, path = Path(root), Path(path)
    parts = _relative_parts(root, path)
    if expected_sha256 is not None and file_digest_inside(root, path) != expected_sha256:
        return False
    if not _DIR_FD:
        _check_components(root, parts[:-1])
        if path.is_symlink() or not path.is_file():
            return False
        os.unlink(path)
        removed = True
    else:
        try:
            dir_fd = open_dir_inside(root, parts[:-1], create=False)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                return False
            os.unlink(parts[-1], dir_fd=dir_fd)
            removed = True
        except FileNotFoundError:
            return False
        finally:
            os.close(dir_fd)
    if prune_empty:
        for depth in range(len(parts) - 1, 0, -1):
            if not _pruned(root, parts[:depth]):
                break  # not empty (or not ours): stop pruning
    return removed


def _pruned(root: Path, parts: tuple[str, ...]) -> bool:
    """Remove the folder ``root/parts…`` if it is empty; rmdir never follows a link."""
    try:
        if not _DIR_FD:
            os.rmdir(root.joinpath(*parts))
            return True
        parent_fd = open_dir_inside(root, parts[:-1], create=False)
        try:
            os.rmdir(parts[-1], dir_fd=parent_fd)
        finally:
            os.close(parent_fd)
        return True
    except OSError:
        return False


def regular_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as an input file (a folder, a FIFO, a device), or None.

    Checked before opening: opening a FIFO blocks until a writer appears.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a FIFO, socket or device)"
    return None


def read_regular_file(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """Read an input file, refusing FIFOs and devices before any blocking read.

    Opened non-blocking and checked with ``fstat``, so a file swapped for a
    FIFO between a check and the open cannot hang the read either.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket, device or folder)", str(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"file is {info.st_size} bytes, more than the {max_bytes} allowed", str(path))
        return handle.read()
