"""Training a LoRA as a step of the build, end to end on the tiny model (CPU)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from pixelgen.core.dataset import house_style_sprites
from pixelgen.formats.png import encode_png

pytestmark = pytest.mark.slow

MANIFEST = textwrap.dedent(
    """\
    version: 1
    name: house
    models:
      tiny: {builtin: tiny-sdxl}
    loras:
      house:
        train: {images: ../refs/house, base: tiny, captions: filename, rank: 4, alpha: 4, steps: 50, lr: 1.0e-3, resolution: 64,
                seed: 7, precision: fp32, checkpoint_every: 10, validation: {steps: 2}, quality: {max_final_loss: 10}}
    palettes:
      pico: {builtin: pico-8}
    defaults:
      model: tiny
      size: [16, 16]
      render: {width: 64, height: 64, steps: 2, guidance: 3.0}
      palette: pico
      seed: 3
    assets:
      - {id: slime, kind: sprite, prompt: "a slime", loras: [{name: house}]}
      - {id: slime-plain, kind: sprite, prompt: "a slime"}
    """
)


@pytest.fixture
def one_thread():
    """Training is a long chain of small ops: on a shared 2-core machine one thread is many times faster than two."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def house(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A game repo with a 16-image house-style dataset and a manifest that trains a LoRA on it."""
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "house.yaml").write_text(MANIFEST)
    folder = tmp_path / "refs" / "house"
    folder.mkdir(parents=True)
    for name, image in house_style_sprites(16):
        (folder / f"{name}.png").write_bytes(encode_png(image))
    models = tmp_path / "manifests" / ".pixelgen" / "cache" / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    return tmp_path


def items(count: int = 16):
    return [(image, name.split("_")[0]) for name, image in house_style_sprites(count)]


def test_training_lowers_the_loss_gives_the_same_bytes_twice_and_resumes_to_them(one_thread, tiny_model_dir):
    from pixelgen.manifest.model import ModelSpec, TrainSpec
    from pixelgen.render.train import train_lora

    base = ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")
    settings = TrainSpec(images="-", base="tiny", rank=4, alpha=4, steps=50, lr=1e-3, resolution=64, seed=7, precision="fp32", checkpoint_every=20)
    cache = tiny_model_dir.parent.parent
    checkpoints: dict[int, bytes] = {}
    first = train_lora(base, settings, items(), cache_dir=cache, device="cpu", save_checkpoint=lambda data, step: checkpoints.__setitem__(step, data))
    assert len(first.losses) == 50 and sorted(checkpoints) == [20, 40]
    assert np.mean(first.losses[-10:]) < np.mean(first.losses[:10])
    again = train_lora(base, settings, items(), cache_dir=cache, device="cpu")
    assert again.lora == first.lora and again.losses == first.losses
    resumed = train_lora(base, settings, items(), cache_dir=cache, device="cpu", checkpoint=checkpoints[40])
    assert resumed.resumed_from == 40 and resumed.lora == first.lora and resumed.losses == first.losses
    other = train_lora(base, TrainSpec(**{**settings.__dict__, "seed": 8}), items(), cache_dir=cache, device="cpu")
    assert other.lora != first.lora


def test_build_trains_first_and_only_assets_using_the_lora_follow_its_dataset(one_thread, house):
    result = run_cli(house, "build", "manifests/house.yaml", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["trained"] == ["house"] and summary["built"] == 2
    lock = json.loads((house / "manifests" / "house.lock.json").read_text())
    assert len(lock["loras"]["house"]["train"]["dataset"]) == 16
    # The trained LoRA loads (diffusers' load_lora_weights) and changes the render of the same prompt and seed.
    outputs = {path: (house / "assets_out" / "house" / path).read_bytes() for path in lock["outputs"]}
    with_lora, without = lock["outputs"]["slime/default.png"], lock["outputs"]["slime-plain/default.png"]
    assert with_lora["render_key"] != without["render_key"]
    from pixelgen.core.store import Store
    from pixelgen.formats.png import decode_png

    store = Store(house / "manifests" / ".pixelgen" / "cache")
    assert not np.array_equal(decode_png(store.get("render", with_lora["render_key"]).data), decode_png(store.get("render", without["render_key"]).data))

    # The report shows the loss curve and the validation grid; the SBOM and the statement carry the training.
    report = (house / "assets_out" / "house" / "report.html").read_text()
    assert '<article class="training" data-lora="house">' in report and "<polyline" in report and 'class="pixel validation-grid"' in report
    assert 'data-metric="final_loss"' in report
    sbom = json.loads((house / "assets_out" / "house" / "sbom.cdx.json").read_text())
    components = {c["bom-ref"]: c for c in sbom["components"]}
    images = [c for ref, c in components.items() if ref.startswith("data/training_image/house/")]
    assert len(images) == 16 and all(c["type"] == "data" and c["hashes"][0]["alg"] == "SHA-256" for c in images)
    card = components["lora/house"]["modelCard"]
    assert len(card["modelParameters"]["datasets"]) == 16
    properties = {p["name"]: p["value"] for p in card["properties"]}
    assert properties["pixelgen:train:steps"] == "50" and properties["pixelgen:train:rank"] == "4" and properties["pixelgen:train:base"] == "tiny"
    weights = (house / "manifests" / ".pixelgen" / "cache" / "trained-loras").glob("house-*.safetensors")
    from pixelgen.files.hashing import sha256_file

    assert components["lora/house"]["hashes"][0]["content"] == sha256_file(next(weights))
    statement = json.loads((house / "assets_out" / "house" / "provenance.intoto.json").read_text())
    (job,) = statement["predicate"]["buildDefinition"]["internalParameters"]["trainings"]
    assert job["lora"] == "house" and job["dataset"]["images"] == 16 and job["settings"]["steps"] == 50
    assert job["weights"]["sha256"] == components["lora/house"]["hashes"][0]["content"]

    # Nothing changed: nothing is trained or built, and torch is not needed.
    summary = json.loads(run_cli(house, "build", "manifests/house.yaml", "--json").out)
    assert summary["trained"] == [] and summary["built"] == 0

    # One image more: the LoRA is stale, and so is the asset using it, nothing else.
    (house / "refs" / "house" / "extra_16.png").write_bytes(encode_png(house_style_sprites(17, seed=4)[16][1]))
    status = json.loads(run_cli(house, "status", "manifests/house.yaml", "--json").out)
    assert status["loras"][0]["reasons"] == ["dataset changed (1 image added)"]
    (training,) = json.loads(run_cli(house, "plan", "manifests/house.yaml", "--json").out)["trainings"]
    assert training["lora"] == "house" and training["images"] == 17 and training["key"] != with_lora["render_key"]
    reasons = {asset["id"]: asset["reasons"] for asset in status["assets"]}
    assert reasons == {"slime": ["LoRA house: dataset changed (1 image added)"], "slime-plain": []}
    text = run_cli(house, "status", "manifests/house.yaml").out
    assert "LoRA house" in text and "dataset changed (1 image added)" in text
    summary = json.loads(run_cli(house, "build", "manifests/house.yaml", "--json").out)
    assert summary["trained"] == ["house"] and summary["built"] == 1 and summary["up_to_date"] == 1
    after = json.loads((house / "manifests" / "house.lock.json").read_text())
    assert after["outputs"]["slime-plain/default.png"] == lock["outputs"]["slime-plain/default.png"]
    assert after["outputs"]["slime/default.png"]["render_key"] != with_lora["render_key"]
    assert (house / "assets_out" / "house" / "slime-plain/default.png").read_bytes() == outputs["slime-plain/default.png"]

    # verify re-renders with the trained LoRA from the cache; gc keeps it (and drops its checkpoints).
    result = run_cli(house, "verify", "manifests/house.yaml", "--render-sample", "2")
    assert result.code == 0, result.err + result.out
    checkpoints = house / "manifests" / ".pixelgen" / "cache" / "jobs" / "train-checkpoint"
    assert any(checkpoints.rglob("*.json"))
    assert run_cli(house, "gc", "manifests/house.yaml").code == 0
    assert not any(checkpoints.rglob("*.json"))
    status = json.loads(run_cli(house, "status", "manifests/house.yaml", "--json").out)
    assert status["loras"][0]["up_to_date"] and all(asset["up_to_date"] for asset in status["assets"])


def _train_process(house: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    # Equal bytes run to run are promised on a CPU (render/train.py); a CUDA device trains without deterministic kernels.
    return subprocess.Popen([sys.executable, "-m", "pixelgen", "train", "manifests/house.yaml", "--device", "cpu", *args], cwd=house, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_training_resumes_from_its_checkpoint_and_reaches_the_same_bytes(house):
    pytest.importorskip("peft")
    (house / "manifests" / "house.yaml").write_text(MANIFEST.replace("steps: 50", "steps: 100").replace("checkpoint_every: 10", "checkpoint_every: 5"))
    checkpoints = house / "manifests" / ".pixelgen" / "cache" / "jobs" / "train-checkpoint"
    process = _train_process(house)
    deadline = time.monotonic() + 240
    while not (checkpoints.is_dir() and any(checkpoints.rglob("*.json"))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.1)
    assert process.poll() is None, "the training finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = _train_process(house, "--json")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    record = json.loads(out)["loras"][0]
    assert record["trained"] and 5 <= record["resumed_from"] < 100
    fresh = _train_process(house, "--json", "--cache-dir", str(house / "fresh-cache"))
    out, err = fresh.communicate(timeout=300)
    assert fresh.returncode == 0, err
    uninterrupted = json.loads(out)["loras"][0]
    assert uninterrupted["resumed_from"] == 0
    assert (house / uninterrupted["path"]).read_bytes() == (house / record["path"]).read_bytes()


def test_a_corrupt_or_non_image_file_in_the_dataset_exits_2_naming_it(house):
    (house / "refs" / "house" / "notes.pdf").write_bytes(b"%PDF-1.4")
    for command in ("build", "train", "status", "validate"):
        result = run_cli(house, command, "manifests/house.yaml")
        assert result.code == 2, (command, result.err)
        assert "notes.pdf" in result.err and "/loras/house/train/images" in result.err and "Traceback" not in result.err
    (house / "refs" / "house" / "notes.pdf").unlink()
    (house / "refs" / "house" / "slime_00.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    result = run_cli(house, "build", "manifests/house.yaml")
    assert result.code == 2 and "slime_00.png" in result.err and "not an image pixelgen can read" in result.err
    assert not (house / "assets_out").exists()


def test_dataset_check_and_prepare_commands(house, tmp_path):
    sprites = tmp_path / "sprites"
    sprites.mkdir()
    for name, image in house_style_sprites(3):
        (sprites / f"{name}.png").write_bytes(encode_png(image[::8, ::8]))
    result = run_cli(house, "dataset", "prepare", str(tmp_path / "prepared"), "--from-sprites", str(sprites), "--resolution", "64")
    assert result.code == 0 and "3 images and captions written" in result.out
    result = run_cli(house, "dataset", "check", str(tmp_path / "prepared"), "--json")
    report = json.loads(result.out)
    assert result.code == 0 and report["images"] == 3 and report["sizes"] == {"64x64": 3} and report["missing_captions"] == []
    (tmp_path / "prepared" / "readme.md").write_text("hi")
    result = run_cli(house, "dataset", "check", str(tmp_path / "prepared"))
    assert result.code == 2 and "readme.md" in result.err and "not an image" in result.err


def test_training_gates_fail_the_train_command_and_the_build(one_thread, house):
    manifest = house / "manifests" / "house.yaml"
    manifest.write_text(MANIFEST.replace("steps: 50", "steps: 12").replace("max_final_loss: 10", "min_loss_drop: 0.99"))
    result = run_cli(house, "train", "manifests/house.yaml")
    assert result.code == 1 and "lora:house" in result.err and "min_loss_drop" in result.err
    assert "house: trained in" in result.out and "12 steps" in result.out
    assert run_cli(house, "train", "manifests/house.yaml", "--gates", "warn").code == 0  # from the cache: not trained again
    result = run_cli(house, "build", "manifests/house.yaml", "--json")
    summary = json.loads(result.out)
    assert result.code == 1 and summary["gates_failed"] and summary["trained"] == []
    assert [v["gate"] for v in summary["gate_violations"] if v["asset"] == "lora:house"] == ["min_loss_drop"]
    report = (house / "assets_out" / "house" / "report.html").read_text()
    assert 'data-asset="lora:house" data-gate="min_loss_drop"' in report
    # The gates are not part of the key: loosening them neither re-trains nor re-renders.
    manifest.write_text(MANIFEST.replace("steps: 50", "steps: 12").replace("max_final_loss: 10", "min_loss_drop: -1"))
    summary = json.loads(run_cli(house, "build", "manifests/house.yaml", "--json").out)
    assert not summary["gates_failed"] and summary["trained"] == [] and summary["built"] == 0


def test_the_house_style_demo_trains_a_tiny_lora_and_uses_it(one_thread, tmp_path, tiny_model_dir):
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "manifests", tmp_path / "manifests", ignore=shutil.ignore_patterns(".pixelgen", "*.lock.json"))
    models = tmp_path / "manifests" / ".pixelgen" / "cache" / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    started = time.perf_counter()
    result = run_cli(tmp_path, "build", "manifests/house-style.yaml", "--json")
    seconds = time.perf_counter() - started
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["trained"] == ["house"] and summary["built"] == 4 and seconds < 120
    lock = json.loads((tmp_path / "manifests" / "house-style.lock.json").read_text())
    assert len(lock["loras"]["house"]["train"]["dataset"]) == 12
    text = run_cli(tmp_path, "status", "manifests/house-style.yaml").out
    assert "✓ LoRA house" in text


def test_gradient_checkpointing_gives_the_same_bytes_so_it_is_not_in_the_key(one_thread, tiny_model_dir):
    from pixelgen.manifest.model import ModelSpec, TrainSpec
    from pixelgen.render.train import train_lora

    base = ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")
    weights = [
        train_lora(base, TrainSpec(images="-", base="tiny", rank=4, alpha=4, steps=6, lr=1e-3, resolution=64, batch_size=2, seed=7,
                                   precision="fp32", gradient_checkpointing=checkpointing), items(4), cache_dir=tiny_model_dir.parent.parent, device="cpu").lora
        for checkpointing in (False, True)
    ]
    assert weights[0] == weights[1]


def test_the_training_bench_reports_steps_per_second(one_thread, tiny_model_dir, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_speed", Path(__file__).resolve().parents[2] / "bench" / "train_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--steps", "8", "--warmup", "2", "--images", "4", "--threads", "1",
                         "--cache-dir", str(tiny_model_dir.parent.parent), "--out", str(tmp_path / "speed.json"), "--device", "cpu"])
    assert result["steps_per_second"] > 0 and result["device"] == "cpu" and result["setup_seconds"] > 0
    assert json.loads((tmp_path / "speed.json").read_text())["steps"] == 8


def test_the_mixed_precision_path_trains_fp32_lora_weights_over_a_bf16_model(one_thread, tiny_model_dir, monkeypatch):
    """What a GPU runs with precision: bf16, exercised on a CPU (which supports bf16) by letting the CPU keep the dtype."""
    from safetensors.numpy import load

    import pixelgen.render.diffusers_backend as backend
    from pixelgen.manifest.model import ModelSpec, TrainSpec
    from pixelgen.render.train import train_lora

    monkeypatch.setattr(backend, "select_device", lambda requested, dtype_name=None: ("cpu", dtype_name or "float32"))
    settings = TrainSpec(images="-", base="tiny", rank=4, alpha=4, steps=4, lr=1e-3, resolution=64, seed=7, precision="bf16", gradient_checkpointing=True)
    result = train_lora(ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl"), settings, items(4),
                        cache_dir=tiny_model_dir.parent.parent, device="cpu", validation_prompts=["slime"])
    assert len(result.losses) == 4 and all(np.isfinite(result.losses))
    assert {str(t.dtype) for t in load(result.lora).values()} == {"float32"}
    assert result.validation["with"][0].shape == (64, 64, 3)


def test_a_damaged_checkpoint_in_the_cache_is_dropped_and_training_starts_over(one_thread, house):
    from pixelgen.core.workspace import BuildOptions, open_workspace

    (house / "manifests" / "house.yaml").write_text(MANIFEST.replace("steps: 50", "steps: 6"))
    ws = open_workspace(house / "manifests" / "house.yaml", BuildOptions())
    ws.store.put("train-checkpoint", ws.plan.trainings["house"].key, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", {"step": 3})
    result = run_cli(house, "train", "manifests/house.yaml", "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)["loras"][0]
    assert record["trained"] and record["resumed_from"] == 0 and record["steps"] == 6
    assert "cannot be resumed" in result.err and "training from the start" in result.err


def test_validation_every_n_steps_is_scored_by_step_and_leaves_the_weights_alone(one_thread, house):
    manifest = house / "manifests" / "house.yaml"
    manifest.write_text(MANIFEST.replace("steps: 50", "steps: 6").replace("validation: {steps: 2}", "validation: {steps: 2, every: 2}"))
    result = run_cli(house, "train", "manifests/house.yaml", "--json", "--device", "cpu")  # equal bytes are promised on a CPU
    assert result.code == 0, result.err
    validated = (house / json.loads(result.out)["loras"][0]["path"]).read_bytes()
    from pixelgen.core.workspace import BuildOptions, open_workspace

    ws = open_workspace(manifest, BuildOptions())
    history = ws.store.meta("train", ws.plan.trainings["house"].key)["validation_history"]
    assert [entry["step"] for entry in history] == [2, 4, 6] and all(entry["ssim_with"] is not None for entry in history)
    # validation.every is not part of the key, and validating during training does not change the weights.
    manifest.write_text(MANIFEST.replace("steps: 50", "steps: 6"))
    result = run_cli(house, "train", "manifests/house.yaml", "--json", "--force", "--device", "cpu")
    assert (house / json.loads(result.out)["loras"][0]["path"]).read_bytes() == validated
    assert run_cli(house, "build", "manifests/house.yaml").code == 0
    manifest.write_text(MANIFEST.replace("steps: 50", "steps: 6").replace("validation: {steps: 2}", "validation: {steps: 2, every: 2}"))
    run_cli(house, "train", "manifests/house.yaml", "--force")
    assert run_cli(house, "build", "manifests/house.yaml", "--force").code == 0
    report = (house / "assets_out" / "house" / "report.html").read_text()
    assert '<table class="validation-history" data-lora="house">' in report and report.count('<tr data-step="') == 3
