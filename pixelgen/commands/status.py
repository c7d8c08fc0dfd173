"""Compare a plan with the lock and the output folder: what is stale, and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixelgen.core.overrides import effective_pack_key, expected_digest
from pixelgen.core.plan import Plan, PostJob, change_reasons
from pixelgen.files.fsutil import file_digest_inside
from pixelgen.records.lock import Lock


@dataclass(frozen=True)
class OutputState:
    path: str  # relative to OUT/<name>/
    post: PostJob | None  # None for a packed file, or an output whose asset was removed
    reasons: tuple[str, ...]  # empty when up to date
    pack_key: str | None = None  # set for a packed file (sheet, tileset, 9-slice data)

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class AssetState:
    asset_id: str
    outputs: tuple[OutputState, ...]
    removed: bool = False

    @property
    def reasons(self) -> list[str]:
        seen: list[str] = []
        for output in self.outputs:
            for reason in output.reasons:
                if reason not in seen:
                    seen.append(reason)
        return seen

    @property
    def up_to_date(self) -> bool:
        return not self.removed and not self.reasons


def output_state(post: PostJob, lock: Lock | None, out_dir: Path) -> OutputState:
    entry = lock.outputs.get(post.output) if lock else None
    if entry is None:
        return OutputState(post.output, post, ("new",))
    if entry.post_key != post.key:
        return OutputState(post.output, post, tuple(change_reasons(entry.inputs, post.inputs)))
    actual = file_digest_inside(out_dir, out_dir / post.output)
    if actual is None:
        return OutputState(post.output, post, ("output missing",))
    if actual != expected_digest(entry):
        return OutputState(post.output, post, ("output modified",))
    return OutputState(post.output, post, ())


def pack_state(path: str, key: str, lock: Lock | None, out_dir: Path) -> OutputState:
    entry = lock.packs.get(path) if lock else None
    if entry is None:
        return OutputState(path, None, ("new",), key)
    if entry.get("key") != key:
        return OutputState(path, None, ("packed files changed",), key)
    actual = file_digest_inside(out_dir, out_dir / path)
    if actual is None:
        return OutputState(path, None, ("output missing",), key)
    if actual != entry.get("sha256"):
        return OutputState(path, None, ("output modified",), key)
    return OutputState(path, None, (), key)


def compute_status(plan: Plan, lock: Lock | None, out_dir: Path, *, selection: frozenset[str] | None = None) -> list[AssetState]:
    """State of every planned asset, plus assets in the lock that the manifest no longer has.

    An asset the lock knows whose images changed (variants, animations, tiles
    added or removed) is one stale asset: its new files are "image added", its
    old ones "image removed" — not a new asset plus a removed one. With a
    ``selection`` (``--only``), assets outside it are neither planned nor
    reported as removed.
    """
    recorded = [(path, entry.asset) for path, entry in lock.outputs.items()] + [(path, entry.get("asset", "?")) for path, entry in lock.packs.items()] if lock else []
    locked_assets = {asset_id for _, asset_id in recorded}
    planned = {post.output for post in plan.posts} | {path for a in plan.assets for path in a.pack_files}
    orphans: dict[str, list[OutputState]] = {}
    for path, asset_id in recorded:
        if path not in planned:
            orphans.setdefault(asset_id, []).append(OutputState(path, None, ("removed from the manifest",)))

    states = []
    lora_reasons = _trained_lora_reasons(plan, lock)
    for asset_plan in plan.assets:
        asset_id = asset_plan.asset.id
        outputs = tuple(_with_lora_reasons(output_state(post, lock, out_dir), plan, lora_reasons) for post in asset_plan.posts) + tuple(
            pack_state(path, effective_pack_key(asset_plan, lock), lock, out_dir) for path in asset_plan.pack_files if asset_plan.pack_key
        )
        if asset_id in locked_assets:
            outputs = tuple(_renamed(o, "image added") if o.reasons == ("new",) else o for o in outputs)
            outputs += tuple(_renamed(o, "image removed") for o in orphans.pop(asset_id, []))
        states.append(AssetState(asset_id, outputs))
    if lock is not None and selection is None:
        states.extend(AssetState(asset_id, tuple(outputs), removed=True) for asset_id, outputs in sorted(orphans.items()))
    return states


def _trained_lora_reasons(plan: Plan, lock: Lock | None) -> dict[str, list[str]]:
    """Per trained LoRA whose identity differs from the lock's: "LoRA house: dataset changed (3 images added)"."""
    if lock is None or not plan.trainings:
        return {}
    from pixelgen.core.training import lora_change_reasons

    return {name: [f"LoRA {name}: {reason}" for reason in lora_change_reasons(lock.loras.get(name), job.identity)]
            for name, job in plan.trainings.items() if lock.loras.get(name) != job.identity}


def _with_lora_reasons(state: OutputState, plan: Plan, lora_reasons: dict[str, list[str]]) -> OutputState:
    """"model or LoRA changed" said precisely when a trained LoRA the output uses is what changed."""
    if not lora_reasons or "model or LoRA changed" not in state.reasons or state.post is None:
        return state
    precise = [reason for name, _ in plan.renders[state.post.render_key].loras for reason in lora_reasons.get(name, [])]
    if not precise:
        return state
    reasons = [r for reason in state.reasons for r in (precise if reason == "model or LoRA changed" else [reason])]
    return OutputState(state.path, state.post, tuple(reasons), state.pack_key)


def _renamed(state: OutputState, reason: str) -> OutputState:
    return OutputState(state.path, state.post, (reason,), state.pack_key)


def removed_outputs(states: list[AssetState]) -> list[str]:
    """Files the lock records that the plan no longer produces: of removed assets, and removed images of kept ones."""
    return [o.path for s in states for o in s.outputs if o.post is None and (s.removed or o.reasons == ("image removed",))]
