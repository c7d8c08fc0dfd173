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

import filecmp
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

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


def sync_deployed(files: Mapping[str, Path], dest_dir: Path, *, record_name: str, staging_dir: Path | None = None) -> DeployResult:
    """:func:`deploy_files`, then remove what the previous deploy of this record wrote that ``files`` no longer has.

    A file is only removed if it still has the bytes pixelgen deployed: a file
    edited in the game folder, or one pixelgen never wrote, is left alone.
    """
    import json

    from pixelgen.fsutil import dump_json, write_text_atomic
    from pixelgen.hashing import sha256_file

    dest_dir = Path(dest_dir)
    record = dest_dir / record_name
    try:
        previous = json.loads(record.read_text("utf-8")).get("files", {}) if record.is_file() else {}
    except (OSError, ValueError, AttributeError):
        previous = {}  # an unreadable record only means nothing is removed this time
    result = deploy_files(files, dest_dir, staging_dir=staging_dir)
    removed = []
    for rel, digest in sorted(previous.items()):
        if rel in files:
            continue
        try:
            target = _target_path(dest_dir, rel)
        except ValueError:
            continue
        if target.is_file() and sha256_file(target) == digest:
            target.unlink()
            removed.append(rel)
            parent = target.parent
            while parent != dest_dir and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    write_text_atomic(record, dump_json({"files": {rel: sha256_file(Path(files[rel])) for rel in sorted(files)}}))
    return DeployResult(result.copied, result.unchanged, result.staging_dir, result.staging_fallback, tuple(removed))


def deploy_files(files: Mapping[str, Path], dest_dir: Path, *, staging_dir: Path | None = None) -> DeployResult:
    """Copy ``files`` (relative POSIX path in ``dest_dir`` → source file) into ``dest_dir`` atomically.

    Only copies files whose bytes differ from what is already there. Nothing is
    deleted from ``dest_dir``.
    """
    dest_dir = Path(dest_dir)
    targets = {rel: _target_path(dest_dir, rel) for rel in files}
    for rel, source in files.items():
        if not Path(source).is_file():
            raise ValueError(f"source for {rel!r} is not a file: {source}")
    dest_dir.mkdir(parents=True, exist_ok=True)

    chosen_staging = Path(staging_dir) if staging_dir is not None else dest_dir.parent / STAGING_DIR_NAME
    created_staging = not chosen_staging.exists()
    fallback: str | None = None
    try:
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
            source, target = Path(files[rel]), targets[rel]
            if target.is_file() and filecmp.cmp(source, target, shallow=False):
                unchanged.append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temp_dir = target.parent if fallback else chosen_staging
            _copy_atomic(source, target, temp_dir=temp_dir)
            copied.append(rel)
    finally:
        if created_staging and chosen_staging.is_dir():
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


def _target_path(dest_dir: Path, rel: str) -> Path:
    posix = PurePosixPath(rel)
    if not rel or posix.is_absolute() or "\\" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise ValueError(
            f"destination path {rel!r} must be a relative POSIX path inside dest_dir (no '..', no leading '/')"
        )
    return dest_dir.joinpath(*posix.parts)


def _copy_atomic(source: Path, target: Path, *, temp_dir: Path) -> None:
    fd, temp_name = tempfile.mkstemp(dir=temp_dir, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes 0600 files; give the asset the source's permissions instead.
        shutil.copymode(source, temp_name)
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
