"""Hand touch-ups that survive regeneration: overrides of generated outputs.

An artist edits ``OUT/<name>/<asset>/<image>.png``; ``pixelgen adopt`` records
the edited bytes as that output's *override*. The lock entry keeps the
generated image's keys and digest and gains an ``override`` record::

    {"sha256": <override>, "base_post_key": <job key of the image it was edited from>,
     "base_sha256": <that image's digest>, "base_inputs": {<per-input digests of that job>},
     "author": "Name <mail>", "commit": <git commit>, "date": <commit date>, "file": <repo path>}

``author``, ``commit``, ``date`` and ``file`` are present only when known. The
override's bytes live in the cache (level ``override``, keyed by their own
digest) or, with the manifest's ``overrides: {dir: …}`` setting, in the repo
under ``<dir>/<manifest name>/<asset>/<image>.png`` so they are reviewed like code.

A build writes the override instead of the render. The override is *stale*
when the output's job key is no longer ``base_post_key`` (an upstream input
changed): ``--overrides keep`` (default) keeps it in place and says so,
``drop`` writes the new render, ``fail`` stops the build. ``rebase-override``
moves the artist's pixel edits onto the new render.

Nothing read here is trusted: records are checked field by field, and every
override read from the cache or the repo is hashed again and compared with
the lock before use.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from pixelgen.errors import CorruptStoreError, InputError, PixelgenError
from pixelgen.files.hashing import content_key, sha256_bytes
from pixelgen.files.paths import UnsafeValue, check_digest, check_relative_path

if TYPE_CHECKING:
    from pixelgen.core.plan import AssetPlan, PostJob
    from pixelgen.core.workspace import Workspace
    from pixelgen.records.lock import Lock, LockEntry

OVERRIDE_LEVEL = "override"
OVERRIDE_MODES = ("keep", "drop", "fail")
PNG_CHUNK = "pixelgen-override"  # iTXt chunk of an adopted override: what it overrides, and who made it
_REQUIRED = {"sha256", "base_post_key", "base_sha256", "base_inputs"}
_OPTIONAL = {"author", "commit", "date", "file"}
MAX_TEXT = 512


class OverrideError(PixelgenError):
    """An override blocks the command (stale with ``--overrides fail``, an unresolved rebase): exit 1."""


def check_override_record(path: str, record: Any) -> None:
    """Refuse an override record pixelgen would not have written (raises ``UnsafeValue``)."""
    if not isinstance(record, dict):
        raise UnsafeValue(f"output {path!r}: override is not a record")
    missing, unknown = sorted(_REQUIRED - set(record)), sorted(set(record) - _REQUIRED - _OPTIONAL)
    if missing or unknown:
        raise UnsafeValue(f"output {path!r}: override " + ("lacks " + ", ".join(missing) if missing else "has unknown fields " + ", ".join(unknown)))
    for name in ("sha256", "base_post_key", "base_sha256"):
        check_digest(record[name], f"output {path!r}: override {name}")
    inputs = record["base_inputs"]
    if not isinstance(inputs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items()):
        raise UnsafeValue(f"output {path!r}: override base_inputs are not strings")
    for name in ("author", "date"):
        if name in record and not (isinstance(record[name], str) and len(record[name]) <= MAX_TEXT):
            raise UnsafeValue(f"output {path!r}: override {name} is not a short string")
    if "commit" in record and not (isinstance(record["commit"], str) and len(record["commit"]) in (40, 64)
                                   and all(ch in "0123456789abcdef" for ch in record["commit"])):
        raise UnsafeValue(f"output {path!r}: override commit is not a git commit id")
    if "file" in record:
        check_relative_path(record["file"], f"output {path!r}: override file")


# --- reading the lock -------------------------------------------------------------------------


def expected_digest(entry: "LockEntry") -> str:
    """The sha256 the file in OUT must have: the override's where there is one, else the generated image's."""
    return entry.override["sha256"] if entry.override else entry.sha256


def is_stale(entry: "LockEntry", post: "PostJob | None" = None) -> bool:
    """Whether the override was made from another image than the one the output's job makes now."""
    if not entry.override:
        return False
    return entry.override["base_post_key"] != (post.key if post is not None else entry.post_key)


def stale_reasons(entry: "LockEntry", post: "PostJob | None" = None) -> list[str]:
    from pixelgen.core.plan import change_reasons

    return change_reasons(entry.override["base_inputs"], post.inputs if post is not None else entry.inputs)


def output_label(path: str) -> str:
    return path[:-4] if path.endswith(".png") else path


def stale_message(path: str, entry: "LockEntry", post: "PostJob | None" = None) -> str:
    return f"override of {output_label(path)} is based on an old render: {', '.join(stale_reasons(entry, post))}"


def stale_overrides(plan: Any, lock: "Lock | None") -> dict[str, str]:
    """``{output: message}`` for every override that is, or after the next build will be, based on an old render."""
    if lock is None:
        return {}
    found = {}
    for post in plan.posts:
        entry = lock.outputs.get(post.output)
        if entry is not None and is_stale(entry, post):
            found[post.output] = stale_message(post.output, entry, post)
    return found


def effective_pack_key(asset_plan: "AssetPlan", lock: "Lock | None") -> str | None:
    """The asset's pack key, covering its overrides: packs are made from the touched-up images."""
    if asset_plan.pack_key is None or lock is None:
        return asset_plan.pack_key
    overridden = sorted(
        (post.output, entry.override["sha256"])
        for post in asset_plan.posts
        if (entry := lock.outputs.get(post.output)) is not None and entry.override
    )
    return content_key([asset_plan.pack_key, overridden]) if overridden else asset_plan.pack_key


def override_bytes(ws: "Workspace", path: str, entry: "LockEntry") -> bytes:
    """The override's bytes, hashed again and compared with the lock (repo file first, then the cache)."""
    record = entry.override
    data = None
    where = "the cache"
    repo_file = recorded_repo_file(ws, path, record)
    if repo_file is not None:
        from pixelgen.files.fsutil import read_bytes_inside

        where = repo_file.as_posix()
        data = read_bytes_inside(ws.manifest.path.parent, ws.manifest.path.parent / repo_file)
    if data is None or sha256_bytes(data) != record["sha256"]:
        hit = ws.store.get(OVERRIDE_LEVEL, record["sha256"])
        data = hit.data if hit is not None and hit.digest == record["sha256"] else None
    if data is None:
        raise CorruptStoreError(
            f"{path}: its override ({record['sha256'][:12]}…) is neither in {where} nor in the cache {ws.cache_dir}\n"
            f"    fix: put the touched-up file back in {ws.out_dir / path} and run `pixelgen adopt {ws.manifest.path} {path}`, "
            "or build with --overrides drop to go back to the generated image"
        )
    return data


# --- git --------------------------------------------------------------------------------------


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def git_authorship(folder: Path, file: Path | None = None) -> dict[str, str]:
    """Who made an override, as far as git knows: the last commit of ``file`` if committed, else the configured user."""
    if file is not None:
        line = _git(folder, "log", "-1", "--format=%an <%ae>%x00%H%x00%cI", "--", str(file))
        if line and line.count("\x00") == 2:
            author, commit, date = line.split("\x00")
            return {"author": author[:MAX_TEXT], "commit": commit, "date": date[:MAX_TEXT]}
    name, email = _git(folder, "config", "user.name"), _git(folder, "config", "user.email")
    if not name and not email:
        return {}
    return {"author": f"{name or ''} <{email or ''}>".strip()[:MAX_TEXT]}


# --- adopting ---------------------------------------------------------------------------------


@dataclass
class AdoptResult:
    adopted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # output → repo file, for overrides kept in the repo


def output_path_of(ws: "Workspace", given: str) -> str:
    """An output's path in the lock, from that path or a file path into OUT."""
    if ws.lock is not None and given in ws.lock.outputs:
        return given
    try:
        relative = Path(given).resolve().relative_to(ws.out_dir.resolve()).as_posix()
    except (ValueError, OSError):
        relative = None
    if relative is not None and ws.lock is not None and relative in ws.lock.outputs:
        return relative
    raise InputError(
        f"{given}: not an output of {ws.manifest.path} (give a path like hero/seed1.png, or the file in {ws.out_dir})\n"
        "    fix: run `pixelgen status` to see the outputs; build the manifest first if it never was"
    )


def _generated(ws: "Workspace", key: str, digest: str, path: str) -> Any:
    hit = ws.store.get("post", key)
    if hit is None or hit.digest != digest:
        raise OverrideError(
            f"{path}: the generated image it was edited from ({digest[:12]}…) is not in the cache {ws.cache_dir}, "
            "so the edit cannot be recorded against it\n    fix: run `pixelgen build` first (it restores the cache), then edit and adopt"
        )
    return hit


def _decode_edit(path: str, data: bytes, like: np.ndarray) -> np.ndarray:
    import io

    from PIL import Image, UnidentifiedImageError

    from pixelgen.files.limits import DEFAULT_MAX_INPUT_PIXELS
    from pixelgen.formats.png import decode_png

    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
        if width * height > DEFAULT_MAX_INPUT_PIXELS:
            raise InputError(f"{path}: the edited image is {width}x{height}, far larger than the generated one")
        image = decode_png(data)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: the edited file is not an image pixelgen can read ({exc})\n    fix: save it as PNG") from None
    if image.shape[:2] != like.shape[:2]:
        raise InputError(
            f"{path}: the edited image is {image.shape[1]}x{image.shape[0]}, the generated one {like.shape[1]}x{like.shape[0]}; "
            "an override must keep the size (sheets and tilesets are packed from it)\n    fix: resize it back, then adopt again"
        )
    if image.shape[2] < like.shape[2]:
        image = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    elif image.shape[2] > like.shape[2]:
        if np.any(image[..., 3] != 255):
            raise InputError(f"{path}: the edit adds transparency to an opaque image\n    fix: keep it opaque, then adopt again")
        image = image[..., :3]
    return np.ascontiguousarray(image)


def encode_override(image: np.ndarray, generated_png: bytes, record: dict[str, Any]) -> bytes:
    """PNG bytes of an override: the generated image's text chunks plus one saying it was modified by hand.

    A generated image without text chunks (``--strip-metadata``) gives an override without them too.
    """
    from pixelgen.formats.png import encode_png, read_png_text

    text = read_png_text(generated_png)
    if text:
        text[PNG_CHUNK] = json.dumps(
            {"modified_by_hand": True, "generated_sha256": record["base_sha256"], "generated_job_key": record["base_post_key"],
             **{key: record[key] for key in ("author", "commit") if key in record}},
            sort_keys=True,
        )
    return encode_png(image, text=text or None)


def repo_override_path(ws: "Workspace", output: str) -> Path | None:
    """Where the manifest's ``overrides:`` setting keeps this output's override in the repo, or None."""
    folder = getattr(ws.manifest, "overrides_dir", None)
    if folder is None:
        return None
    return Path(folder) / ws.manifest.name / output


def recorded_repo_file(ws: "Workspace", output: str, record: dict[str, Any]) -> Path | None:
    """The repo file of an override record, only where the manifest's ``overrides:`` setting puts it.

    A lock may come from anywhere: its ``file`` must never make pixelgen read
    or write another file of the repo.
    """
    expected = repo_override_path(ws, output)
    if expected is None or record.get("file") != expected.as_posix():
        return None
    return expected


def modified_outputs(ws: "Workspace") -> list[str]:
    """Outputs whose file in OUT is neither the generated image nor the adopted override."""
    from pixelgen.files.fsutil import file_digest_inside

    found = []
    for path, entry in sorted(ws.lock.outputs.items()):
        actual = file_digest_inside(ws.out_dir, ws.out_dir / path)
        if actual is not None and actual != expected_digest(entry):
            found.append(path)
    return found


def adopt(ws: "Workspace", outputs: Iterable[str], *, all_modified: bool = False) -> AdoptResult:
    """Record the edited files of ``outputs`` as overrides; writes the cache, the repo files, OUT and the lock."""
    from pixelgen.files.fsutil import read_bytes_inside, write_bytes_inside
    from pixelgen.formats.png import decode_png
    from pixelgen.records.lock import write_lock_if_changed

    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build {ws.manifest.path} before adopting edits of its outputs")
    targets = [output_path_of(ws, given) for given in outputs]
    if all_modified:
        targets += [path for path in modified_outputs(ws) if path not in targets]
    if not targets:
        raise InputError("nothing to adopt: name outputs (e.g. hero/seed1.png) or pass --all-modified"
                         if not all_modified else "no output differs from what pixelgen wrote: nothing to adopt")
    result = AdoptResult()
    project = ws.manifest.path.parent
    staged: list[tuple[str, bytes, dict[str, Any], Path | None]] = []
    for path in targets:
        entry = ws.lock.outputs[path]
        data = read_bytes_inside(ws.out_dir, ws.out_dir / path)
        if data is None:
            raise InputError(f"{ws.out_dir / path}: missing; there is no edit to adopt\n    fix: build, edit the file, then adopt it")
        if sha256_bytes(data) == expected_digest(entry):
            result.unchanged.append(path)
            continue
        # An edit of a kept (stale) override is still an edit of the render that override was made from.
        base = entry.override or {"base_post_key": entry.post_key, "base_sha256": entry.sha256, "base_inputs": dict(entry.inputs)}
        generated = _generated(ws, base["base_post_key"], base["base_sha256"], path)
        image = _decode_edit(path, data, decode_png(generated.data))
        repo_file = repo_override_path(ws, path)
        record: dict[str, Any] = {key: base[key] for key in ("base_post_key", "base_sha256", "base_inputs")}
        record.update(git_authorship(project))
        if repo_file is not None:
            record["file"] = repo_file.as_posix()
        final = encode_override(image, generated.data, record)
        record["sha256"] = sha256_bytes(final)
        staged.append((path, final, record, repo_file))
    # Every edit checked before anything is written: a bad one leaves nothing half-adopted.
    for path, final, record, repo_file in staged:
        ws.store.put(OVERRIDE_LEVEL, record["sha256"], final, {"output": path})
        if repo_file is not None:
            write_bytes_inside(project, project / repo_file, final)
            result.files[path] = repo_file.as_posix()
        write_bytes_inside(ws.out_dir, ws.out_dir / path, final)
        ws.lock.outputs[path] = replace(ws.lock.outputs[path], override=record)
        result.adopted.append(path)
    if result.adopted:
        write_lock_if_changed(ws.manifest.lock_path, ws.lock)
    return result


def sync_repo_overrides(ws: "Workspace") -> list[str]:
    """Bring the lock (in memory) in step with the override files in the repo; returns notes.

    Repo files are reviewed like code, so a changed file is the new override
    (based on the render its predecessor was made from, or on the current one
    for a file that had none), a deleted one drops its override, and each
    records the last commit that touched it.
    """
    if ws.lock is None or getattr(ws.manifest, "overrides_dir", None) is None:
        return []
    from pixelgen.files.fsutil import read_bytes_inside
    from pixelgen.formats.png import decode_png

    project = ws.manifest.path.parent
    notes = []
    for path, entry in sorted(ws.lock.outputs.items()):
        repo_file = repo_override_path(ws, path)
        data = read_bytes_inside(project, project / repo_file)
        record = entry.override
        if data is None:
            if record and record.get("file") == repo_file.as_posix():
                ws.lock.outputs[path] = replace(entry, override=None)
                notes.append(f"{path}: its override file {repo_file} was deleted; the generated image is used again")
            continue
        digest = sha256_bytes(data)
        if record and record["sha256"] == digest:
            continue
        base = record or {"base_post_key": entry.post_key, "base_sha256": entry.sha256, "base_inputs": dict(entry.inputs)}
        generated = ws.store.get("post", base["base_post_key"])
        if generated is None:
            notes.append(f"{path}: override file {repo_file} not applied: build once so the image it overrides is in the cache")
            continue
        _decode_edit(str(repo_file), data, decode_png(generated.data))  # same size, readable: else exit 2 naming the file
        new_record = {key: base[key] for key in ("base_post_key", "base_sha256", "base_inputs")}
        new_record.update(git_authorship(project, repo_file))
        new_record.update(sha256=digest, file=repo_file.as_posix())
        ws.store.put(OVERRIDE_LEVEL, digest, data, {"output": path})
        ws.lock.outputs[path] = replace(entry, override=new_record)
        notes.append(f"{path}: override taken from {repo_file}")
    return notes


# --- rebasing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebaseOutcome:
    path: str
    status: str  # "rebased" | "current" | "conflicts"
    edited_pixels: int = 0
    conflicts: int = 0
    conflict_image: str | None = None  # relative to OUT/<name>/


def three_way_merge(base: np.ndarray, override: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(merged, edited mask, conflict mask): the artist's edits (base → override) applied onto ``new``.

    A pixel the artist changed takes the override's value; every other pixel
    the new render's. A conflict is a pixel changed both by the artist and
    upstream, to different values.
    """
    from pixelgen.quality.changes import visible_changes

    edited = visible_changes(base, override)
    upstream = visible_changes(base, new)
    conflicts = edited & upstream & visible_changes(new, override)
    merged = new.copy()
    merged[edited] = override[edited]
    return merged, edited, conflicts


def conflict_image(base: np.ndarray, override: np.ndarray, new: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """old render | override | new render | conflicting pixels (red), upscaled without smoothing."""
    from pixelgen.quality.changes import DIFF_SCALE

    def rgba(image: np.ndarray) -> np.ndarray:
        return image if image.shape[2] == 4 else np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])

    mask = np.zeros(base.shape[:2] + (4,), np.uint8)
    mask[..., 3] = 255
    mask[conflicts] = (255, 0, 64, 255)
    gap = np.zeros((base.shape[0], 1, 4), np.uint8)
    row = np.concatenate([rgba(base), gap, rgba(override), gap, rgba(new), gap, mask], axis=1)
    return np.repeat(np.repeat(row, DIFF_SCALE, axis=0), DIFF_SCALE, axis=1)


def rebase(ws: "Workspace", outputs: Iterable[str], *, prefer: str | None = None) -> list[RebaseOutcome]:
    """Move each stale override onto its output's current generated image; writes OUT, the cache and the lock.

    ``prefer`` resolves conflicts: ``override`` keeps the artist's pixel,
    ``render`` takes the new render's; without it a conflict keeps the old
    override and writes a conflict image under ``OUT/<name>/rebase/``.
    """
    from pixelgen.files.fsutil import write_bytes_inside
    from pixelgen.formats.png import decode_png, encode_png
    from pixelgen.records.lock import write_lock_if_changed

    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build {ws.manifest.path} first")
    posts = {post.output: post for post in ws.plan.posts}
    outcomes = []
    changed = False
    for given in outputs:
        path = output_path_of(ws, given)
        entry = ws.lock.outputs[path]
        if not entry.override:
            raise InputError(f"{path}: has no override to rebase\n    fix: `pixelgen adopt {ws.manifest.path} {path}` records an edit first")
        post = posts.get(path)
        if post is not None and post.key != entry.post_key:
            raise OverrideError(f"{path}: the manifest changed since the last build, so there is no new render to rebase onto yet\n"
                                f"    fix: run `pixelgen build {ws.manifest.path}` (the override is kept), then rebase")
        if not is_stale(entry):
            outcomes.append(RebaseOutcome(path, "current"))
            continue
        record = entry.override
        old = ws.store.get("post", record["base_post_key"])
        if old is None or old.digest != record["base_sha256"]:
            raise OverrideError(f"{path}: the render the override was made from ({record['base_sha256'][:12]}…) is not in the cache "
                                f"{ws.cache_dir}, so the artist's edits cannot be told apart from it\n"
                                f"    fix: edit the new render by hand and adopt it, or keep the override as it is")
        new = _generated(ws, entry.post_key, entry.sha256, path)
        base_image, new_image = decode_png(old.data), decode_png(new.data)
        override_image = decode_png(override_bytes(ws, path, entry))
        if base_image.shape != new_image.shape or override_image.shape != base_image.shape:
            raise OverrideError(f"{path}: the new render's size or channels differ from the old one's; the edits cannot be moved pixel by pixel\n"
                                "    fix: touch up the new render by hand and adopt it")
        old_palette, new_palette = old.meta.get("palette"), new.meta.get("palette")
        if old_palette is not None and new_palette is not None and sorted(old_palette) != sorted(new_palette):
            raise OverrideError(f"{path}: the new render uses another palette than the one the override was drawn in\n"
                                "    fix: touch up the new render by hand and adopt it")
        merged, edited, conflicts = three_way_merge(base_image, override_image, new_image)
        if conflicts.any() and prefer is None:
            shown = f"rebase/{path}"
            write_bytes_inside(ws.out_dir, ws.out_dir / shown, encode_png(conflict_image(base_image, override_image, new_image, conflicts)))
            outcomes.append(RebaseOutcome(path, "conflicts", int(edited.sum()), int(conflicts.sum()), shown))
            continue
        if conflicts.any() and prefer == "render":
            merged[conflicts] = new_image[conflicts]
        new_record = {"base_post_key": entry.post_key, "base_sha256": entry.sha256, "base_inputs": dict(entry.inputs)}
        new_record.update({key: record[key] for key in ("author", "commit", "date") if key in record})
        new_record.update(git_authorship(ws.manifest.path.parent))
        repo_file = recorded_repo_file(ws, path, record)
        if repo_file is not None:
            new_record["file"] = repo_file.as_posix()
        final = encode_override(merged, new.data, new_record)
        new_record["sha256"] = sha256_bytes(final)
        ws.store.put(OVERRIDE_LEVEL, new_record["sha256"], final, {"output": path})
        if repo_file is not None:
            project = ws.manifest.path.parent
            write_bytes_inside(project, project / repo_file, final)
        write_bytes_inside(ws.out_dir, ws.out_dir / path, final)
        ws.lock.outputs[path] = replace(entry, override=new_record)
        changed = True
        outcomes.append(RebaseOutcome(path, "rebased", int(edited.sum()), int(conflicts.sum())))
    if changed:
        write_lock_if_changed(ws.manifest.lock_path, ws.lock)
    return outcomes


def store_keeps(lock: "Lock") -> dict[str, set[str]]:
    """Cache entries the overrides of a lock need: their bytes, and the images they were made from (for rebasing)."""
    keep: dict[str, set[str]] = {OVERRIDE_LEVEL: set(), "post": set()}
    for entry in lock.outputs.values():
        if entry.override:
            keep[OVERRIDE_LEVEL].add(entry.override["sha256"])
            keep["post"].add(entry.override["base_post_key"])
    return keep


def override_scores(ws: "Workspace", post: "PostJob", entry: "LockEntry", generated: Any) -> tuple[np.ndarray, bytes, dict[str, Any]]:
    """(image, bytes, pixel-art scores) of an output's override, scored against its job's palette and grid."""
    from pixelgen.core.run import image_scores
    from pixelgen.formats.png import decode_png

    data = override_bytes(ws, post.output, entry)
    image = decode_png(data)
    return image, data, image_scores(image, post, generated.meta.get("palette"), generated.meta.get("report") or {})


def modification_record(path: str, entry: "LockEntry") -> dict[str, Any] | None:
    """How the SBOM and provenance describe an override: both digests, and who changed the file where known."""
    if not entry.override:
        return None
    record = entry.override
    modification = {"generated_sha256": record["base_sha256"], "generated_job_key": record["base_post_key"]}
    modification.update({key: record[key] for key in ("author", "commit", "date") if key in record})
    if is_stale(entry):
        modification["stale"] = ", ".join(stale_reasons(entry))
    return modification


def diff_overrides(ws: "Workspace") -> list[dict[str, Any]]:
    """Per override: old render | override | new render | pixels edited by hand, under ``OUT/<name>/diff/overrides/``."""
    from pixelgen.files.fsutil import write_bytes_inside
    from pixelgen.formats.png import decode_png, encode_png
    from pixelgen.quality.changes import visible_changes

    if ws.lock is None:
        raise InputError(f"{ws.manifest.lock_path}: no lock file; build the manifest first")
    results = []
    for path, entry in sorted(ws.lock.outputs.items()):
        if not entry.override:
            continue
        record = entry.override
        old = ws.store.get("post", record["base_post_key"])
        new = ws.store.get("post", entry.post_key)
        override = decode_png(override_bytes(ws, path, entry))
        item: dict[str, Any] = {"path": path, "stale": is_stale(entry), "image": None}
        if is_stale(entry):
            item["reasons"] = stale_reasons(entry)
        if old is None or new is None:
            item["note"] = "the generated image(s) are not in the cache: no image"
            results.append(item)
            continue
        base_image, new_image = decode_png(old.data), decode_png(new.data)
        if not base_image.shape == override.shape == new_image.shape:
            item["note"] = "the images differ in size: no image"
            results.append(item)
            continue
        edited = visible_changes(base_image, override)
        item["edited_pixels"] = int(edited.sum())
        item["changed_upstream_pixels"] = int(visible_changes(base_image, new_image).sum())
        shown = f"diff/overrides/{path}"
        write_bytes_inside(ws.out_dir, ws.out_dir / shown, encode_png(conflict_image(base_image, override, new_image, edited)))
        item["image"] = shown
        results.append(item)
    return results
