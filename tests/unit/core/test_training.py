"""Trained LoRAs without torch: manifest, identity and key, staleness, schedule, scores."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.dataset import house_style_sprites
from pixelgen.core.plan import make_plan
from pixelgen.core.resolve import resolve
from pixelgen.core.store import Store
from pixelgen.core.training import (
    lora_change_reasons,
    loras_to_train,
    palette_distance,
    training_metrics,
    training_status,
    validation_grid,
)
from pixelgen.errors import ManifestError
from pixelgen.files.hashing import FileDigestCache, content_key
from pixelgen.formats.png import encode_png
from pixelgen.manifest import load_manifest
from pixelgen.render.train import (
    Schedule,
    aspect_buckets,
    bucket_for,
    canonical_safetensors,
)

MANIFEST = textwrap.dedent(
    """\
    version: 1
    name: house
    models:
      tiny: {builtin: tiny-sdxl}
    loras:
      house:
        train: {images: ../refs/house, base: tiny, captions: filename, rank: 4, alpha: 4, steps: 20, lr: 1.0e-3, resolution: 64, seed: 7,
                precision: fp32, checkpoint_every: 10, quality: {min_loss_drop: 0.0}}
    defaults:
      model: tiny
      size: [16, 16]
      render: {width: 64, height: 64, steps: 2}
    assets:
      - {id: slime, kind: sprite, prompt: "a slime", loras: [{name: house}]}
      - {id: plain, kind: sprite, prompt: "a bat"}
    """
)


@pytest.fixture
def game(tmp_path: Path) -> Path:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "house.yaml").write_text(MANIFEST)
    folder = tmp_path / "refs" / "house"
    folder.mkdir(parents=True)
    for name, image in house_style_sprites(4):
        (folder / f"{name}.png").write_bytes(encode_png(image))
    return tmp_path


def planned(game: Path):
    manifest = load_manifest(game / "manifests" / "house.yaml")
    resolved = resolve(manifest, FileDigestCache(None))
    return manifest, resolved, make_plan(manifest, resolved)


def test_a_trained_lora_is_declared_in_the_manifest(game):
    manifest = load_manifest(game / "manifests" / "house.yaml")
    spec = manifest.loras["house"]
    assert spec.kind == "trained" and spec.source == str((game / "refs" / "house").resolve())
    assert (spec.train.base, spec.train.rank, spec.train.steps, spec.train.resolution, spec.train.captions) == ("tiny", 4, 20, 64, "filename")
    assert spec.train.quality == (("min_loss_drop", 0.0),) and spec.train.flip and spec.train.precision == "fp32"


@pytest.mark.parametrize("edit, pointer", [
    ("base: tiny", "base: nope"),
    ("images: ../refs/house", "images: ../refs/missing"),
    ("captions: filename", "captions: sometimes"),
    ("rank: 4", "rank: 0"),
])
def test_bad_training_settings_are_reported_with_their_pointer(game, edit, pointer):
    path = game / "manifests" / "house.yaml"
    path.write_text(MANIFEST.replace(edit, pointer))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "/loras/house/train" in str(caught.value.problems[0].where)


def test_the_plan_has_a_training_job_whose_key_is_in_the_renders_that_use_it(game):
    _manifest, resolved, plan = planned(game)
    job = plan.trainings["house"]
    assert job.key == content_key(resolved.loras["house"]) and len(job.images) == 4
    assert job.validation_prompts == ("bat", "beetle", "ghost", "slime")  # the first four, by file name
    slime = next(r for r in plan.renders.values() if r.prompt == "a slime")
    assert slime.loras == (("house", 1.0),)
    identity = resolved.loras["house"]["train"]
    assert identity["settings"]["steps"] == 20 and identity["base"] == {"builtin": "tiny-sdxl", "recipe": 1}
    assert sorted(identity["dataset"]) == ["bat_01.png", "beetle_03.png", "ghost_02.png", "slime_00.png"]


def test_the_key_follows_the_dataset_and_the_settings_that_change_the_weights(game):
    _, _, plan = planned(game)
    key = plan.trainings["house"].key
    renders = {r.prompt: r.key for r in plan.renders.values()}
    path = game / "manifests" / "house.yaml"
    # Not part of the key: checkpoints, validation, gates, gradient checkpointing.
    path.write_text(MANIFEST.replace("checkpoint_every: 10", "checkpoint_every: 5, gradient_checkpointing: true, validation: {steps: 3}")
                    .replace("min_loss_drop: 0.0", "min_loss_drop: 0.5"))
    assert planned(game)[2].trainings["house"].key == key
    path.write_text(MANIFEST.replace("steps: 20", "steps: 21"))
    assert planned(game)[2].trainings["house"].key != key
    path.write_text(MANIFEST)
    (game / "refs" / "house" / "bat_01.txt").write_text("a bat")  # a caption: captions: filename ignores it
    assert planned(game)[2].trainings["house"].key == key
    path.write_text(MANIFEST.replace("captions: filename", "captions: sidecar"))
    assert planned(game)[2].trainings["house"].key != key
    path.write_text(MANIFEST)
    (game / "refs" / "house" / "new_04.png").write_bytes(encode_png(house_style_sprites(5, seed=9)[4][1]))
    _, _, plan = planned(game)
    assert plan.trainings["house"].key != key
    after = {r.prompt: r.key for r in plan.renders.values()}
    assert after["a slime"] != renders["a slime"] and after["a bat"] == renders["a bat"]


def test_a_corrupt_dataset_image_stops_resolution_naming_the_file(game):
    (game / "refs" / "house" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ManifestError) as caught:
        planned(game)
    problem = caught.value.problems[0]
    assert caught.value.exit_code == 2 and "broken.png" in problem.message and problem.where == "at /loras/house/train/images"


def test_status_says_why_a_trained_lora_is_stale(game, tmp_path):
    _, resolved, plan = planned(game)
    job = plan.trainings["house"]
    store = Store(tmp_path / "cache")
    assert training_status(plan.trainings, {}, store)[0]["reasons"] == ["new"]
    assert training_status(plan.trainings, {"house": job.identity}, store)[0]["reasons"] == ["not trained (not in the cache)"]
    store.put("train", job.key, b"weights", {})
    assert training_status(plan.trainings, {"house": job.identity}, store)[0]["up_to_date"]
    before = json.loads(json.dumps(job.identity))
    before["train"]["settings"]["lr"] = 0.5
    for name in ("bat_01.png", "ghost_02.png", "beetle_03.png"):
        del before["train"]["dataset"][name]
    assert lora_change_reasons(before, job.identity) == ["dataset changed (3 images added)", "training settings changed (lr)"]
    assert lora_change_reasons({"sha256": "ab"}, job.identity) == ["changed from a LoRA file to a trained LoRA"]


def test_only_loras_that_uncached_renders_use_are_trained(game, tmp_path):
    _, _, plan = planned(game)
    store = Store(tmp_path / "cache")
    assert loras_to_train(plan, store, plan.posts) == ["house"]
    plain = [post for post in plan.posts if post.asset_id == "plain"]
    assert loras_to_train(plan, store, plain) == []
    slime = next(post for post in plan.posts if post.asset_id == "slime")
    store.put("render", slime.render_key, b"png", {})
    assert loras_to_train(plan, store, plan.posts) == []
    assert loras_to_train(plan, store, plan.posts, force=True) == ["house"]


def test_aspect_buckets_and_the_schedule_are_deterministic():
    buckets = aspect_buckets(64)
    assert (64, 64) in buckets and all(w % 32 == 0 and h % 32 == 0 and w * h <= 64 * 64 for w, h in buckets)
    assert bucket_for(100, 100, buckets) == (64, 64)
    assert bucket_for(300, 100, buckets)[0] > bucket_for(300, 100, buckets)[1]
    schedule = Schedule(buckets=(0, 0, 1, 0, 1), batch_size=2, seed=7, flip=True)
    assert schedule.batches_per_epoch == 3  # bucket 0: 3 images → 2 batches; bucket 1: 2 images → 1
    epoch = [schedule.batch(step) for step in range(3)]
    assert sorted(i for batch in epoch for i, _ in batch) == [0, 1, 2, 3, 4]
    assert all(len({(0, 0, 1, 0, 1)[i] for i, _ in batch}) == 1 for batch in epoch)  # one bucket per batch
    assert [Schedule((0, 0, 1, 0, 1), 2, 7, True).batch(step) for step in range(9)] == [schedule.batch(step) for step in range(9)]
    assert not any(flipped for step in range(9) for _, flipped in Schedule((0, 0, 1, 0, 1), 2, 7, False).batch(step))


def test_canonical_safetensors_sorts_the_header_and_keeps_the_tensors():
    from safetensors.numpy import load, save

    tensors = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(3, dtype=np.float32)}
    first = canonical_safetensors(save(tensors, metadata={"z": "1", "a": "2", "m": "3"}))
    second = canonical_safetensors(save(tensors, metadata={"m": "3", "a": "2", "z": "1"}))
    assert first == second
    length = int.from_bytes(first[:8], "little")
    assert length % 8 == 0 and list(json.loads(first[8 : 8 + length])["__metadata__"]) == ["a", "m", "z"]
    loaded = load(first)
    assert (loaded["b"] == tensors["b"]).all() and (loaded["a"] == tensors["a"]).all()


def test_scores_and_metrics_of_a_training():
    palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    assert palette_distance(np.zeros((4, 4, 3), np.uint8), palette) == 0.0
    assert palette_distance(np.full((4, 4, 3), 128, np.uint8), palette) > 10
    metrics = training_metrics([2.0] * 10 + [1.0] * 10, {"summary": {"ssim_with": 0.5, "ssim_without": 0.2, "palette_distance_with": 3.0}})
    assert metrics == {"first_loss": 2.0, "final_loss": 1.0, "loss_drop": 0.5, "ssim_gain": 0.3, "palette_distance": 3.0}
    assert training_metrics([], {})["loss_drop"] is None


def test_the_validation_grid_has_a_row_per_prompt(game):
    _, _, plan = planned(game)
    job = plan.trainings["house"]
    items = [(image, caption) for (_, image), caption in zip(house_style_sprites(4), job.validation_prompts)]
    blank = np.zeros((32, 32, 3), np.uint8)
    grid = validation_grid(items, job, {"size": 32, "prompts": ["a", "b"], "with": [blank, blank], "without": [blank, blank]})
    assert grid.shape == (2 * 32 + 2, 3 * 32 + 4, 3)
