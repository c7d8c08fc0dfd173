"""Copy finished assets into a game project without engines seeing half-written files.

Each file is first written to a staging folder that is *outside* the
destination folder but on the same filesystem, fsynced, then moved into place
with ``os.replace`` (an atomic rename). An engine watching the destination
therefore sees one complete file appear or change, never a partial write and
never a temporary name. Files whose bytes already match are left alone, so
their modification time does not change and nothing is reimported.

Default staging folder: ``dest_dir.parent / ".pixelgen-staging"``; one that
:func:`deploy_files` had to create is removed again when empty. If the default
is on another filesystem (a rename there would not be atomic) or cannot be
created, the temp file goes next to its target with a name starting with
``.`` and :attr:`DeployResult.staging_fallback` says why. An explicit
``staging_dir`` that is unusable raises ``ValueError`` instead.

What this means for engines:

* **Bevy** — the ``AssetServer`` file watcher (with the ``file_watcher``
  feature / hot reloading on) watches the asset folder *recursively* through
  ``notify-debouncer-full``; the default source debounces events for 300 ms.
  A rename into a watched folder arrives as "asset added/modified" and the
  asset is reloaded; a rename *within* the watched tree is reported as a
  rename. So if ``dest_dir`` is inside Bevy's ``assets/``, pass a
  ``staging_dir`` outside ``assets/`` (the default, ``dest_dir.parent``, is
  outside only when ``dest_dir`` is ``assets/`` itself).
* **Godot** — the editor picks up changed files on its filesystem scan (when
  the editor window regains focus, or via *Scan*), reimports them and keeps
  the ``<file>.import`` settings beside each asset, because the path does not
  change. Unchanged files are not touched, so they are not reimported. The
  staging folder and temp files have ``.``-prefixed (hidden) names, and the
  default staging folder only exists while a deploy runs; that Godot's scan
  skips hidden names is not verified here — for certainty put the staging
  folder outside the Godot project or add a ``.gdignore`` file to it.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from pixelgen.files.fsutil import (
    FILE_MODE,
    open_dir_inside,
    read_bytes_inside,
    replace_in_dir,
)

STAGING_DIR_NAME = ".pixelgen-staging"


@dataclass(frozen=True)
class DeployResult:
    """What :func:`deploy_files` did, by relative path (sorted)."""

    copied: tuple[str, ...]
    unchanged: tuple[str, ...]
    staging_dir: Path | None
    staging_fallback: str | None = None
    """Why temp files were written beside their targets instead of in ``staging_dir``; None if they were not."""
    removed: tuple[str, ...] = ()
    """Files an earlier deploy of the same record put there that the build no longer has (see :func:`sync_deployed`)."""


def deploy_record_name(manifest_name: str) -> str:
    """The hidden file in the deploy folder listing what a manifest deployed there (so removals can follow)."""
    return f".pixelgen-deployed-{manifest_name}.json"


def sync_deployed(files: Mapping[str, Path], dest_dir: Path, *, record_name: str, staging_dir: Path | None = None,
                  source_root: Path | None = None) -> DeployResult:
    """:func:`deploy_files`, then remove what the previous deploy of this record wrote that ``files`` no longer has.

    A file is only removed if it still has the bytes pixelgen deployed: a file
    edited in the game folder, or one pixelgen never wrote, is left alone.
    """
    import json

    from pixelgen.files.fsutil import (
        dump_json,
        file_digest_inside,
        unlink_inside,
        write_text_atomic,
    )

    dest_dir = Path(dest_dir)
    record = dest_dir / record_name
    try:
        previous = json.loads(record.read_text("utf-8")).get("files", {}) if record.is_file() else {}
    except (OSError, ValueError, AttributeError):
        previous = {}  # an unreadable record only means nothing is removed this time
    result = deploy_files(files, dest_dir, staging_dir=staging_dir, source_root=source_root)
    removed = []
    for rel, digest in sorted(previous.items()):
        if rel in files or not isinstance(digest, str):
            continue
        try:
            target = _target_path(dest_dir, rel)
        except ValueError:
            continue  # a record naming a path outside the folder is never acted on
        # Never through a symlinked folder, and only the bytes pixelgen deployed.
        if unlink_inside(dest_dir, target, expected_sha256=digest, prune_empty=True):
            removed.append(rel)
    deployed = {rel: file_digest_inside(dest_dir, _target_path(dest_dir, rel)) for rel in sorted(files)}
    write_text_atomic(record, dump_json({"files": {rel: digest for rel, digest in deployed.items() if digest}}))
    return DeployResult(result.copied, result.unchanged, result.staging_dir, result.staging_fallback, tuple(removed))


def deploy_files(files: Mapping[str, Path], dest_dir: Path, *, staging_dir: Path | None = None,
                 source_root: Path | None = None) -> DeployResult:
    """Copy ``files`` (relative POSIX path in ``dest_dir`` → source file) into ``dest_dir`` atomically.

    Only copies files whose bytes differ from what is already there. Nothing is
    deleted from ``dest_dir``. Below ``dest_dir`` no symlinked folder is
    followed (``OSError(ELOOP)``), and a symlinked file is replaced, never
    written through. With ``source_root``, sources are read the same way.
    """
    dest_dir = Path(dest_dir)
    targets = {rel: _target_path(dest_dir, rel) for rel in files}
    sources: dict[str, bytes] = {}
    for rel, source in files.items():
        data = read_bytes_inside(source_root, source) if source_root is not None else _read_source(Path(source))
        if data is None:
            raise ValueError(f"source for {rel!r} is not a file: {source}")
        sources[rel] = data
    dest_dir.mkdir(parents=True, exist_ok=True)

    chosen_staging = Path(staging_dir) if staging_dir is not None else dest_dir.parent / STAGING_DIR_NAME
    created_staging = not chosen_staging.exists()
    fallback: str | None = None
    try:
        if chosen_staging.is_symlink():
            raise OSError(errno.ELOOP, "is a symbolic link")
        chosen_staging.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fallback = f"cannot create staging folder {chosen_staging}: {error}"
    else:
        if os.stat(chosen_staging).st_dev != os.stat(dest_dir).st_dev:
            fallback = (
                f"staging folder {chosen_staging} is on another filesystem than {dest_dir}; "
                "a rename across filesystems is not atomic"
            )
    if staging_dir is not None and fallback is not None:
        raise ValueError(f"{fallback}; pass a staging_dir on the same filesystem as dest_dir")

    copied: list[str] = []
    unchanged: list[str] = []
    try:
        for rel in sorted(files):
            data, target = sources[rel], targets[rel]
            if read_bytes_inside(dest_dir, target) == data:
                unchanged.append(rel)
                continue
            parts = target.relative_to(dest_dir).parts
            dir_fd = open_dir_inside(dest_dir, parts[:-1], create=True)
            try:
                _copy_atomic(data, parts[-1], dir_fd, temp_dir=None if fallback else chosen_staging,
                             mode=None if source_root is not None else Path(files[rel]).stat().st_mode)
            finally:
                os.close(dir_fd)
            copied.append(rel)
    finally:
        if created_staging and chosen_staging.is_dir() and not chosen_staging.is_symlink():
            try:
                chosen_staging.rmdir()
            except OSError:
                pass  # not empty: another deploy is using it
    return DeployResult(
        copied=tuple(copied),
        unchanged=tuple(unchanged),
        staging_dir=None if fallback else chosen_staging,
        staging_fallback=fallback,
    )


def _read_source(source: Path) -> bytes | None:
    return source.read_bytes() if source.is_file() else None


def _target_path(dest_dir: Path, rel: str) -> Path:
    posix = PurePosixPath(rel)
    if not rel or posix.is_absolute() or "\\" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise ValueError(
            f"destination path {rel!r} must be a relative POSIX path inside dest_dir (no '..', no leading '/')"
        )
    return dest_dir.joinpath(*posix.parts)


def _copy_atomic(data: bytes, name: str, dir_fd: int, *, temp_dir: Path | None, mode: int | None) -> None:
    """Write ``data`` onto ``name`` in ``dir_fd`` atomically, with the source's permissions."""
    replace_in_dir(dir_fd, name, data, mode=FILE_MODE if mode is None else mode, temp_dir=temp_dir)
