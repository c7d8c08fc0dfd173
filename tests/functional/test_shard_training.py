"""--shard with a trained LoRA: shards never train; `pixelgen train` is the stage before them.

Shards run at once, so each would otherwise train the same LoRA. Without the
trained LoRA in the shared cache every shard stops before rendering, naming the
command to run first; after `pixelgen train`, the shards and the finishing build
write what one plain build writes, byte for byte.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

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
        train: {images: ../refs/house, base: tiny, captions: filename, rank: 4, alpha: 4, steps: 4, lr: 1.0e-3, resolution: 64,
                seed: 7, precision: fp32, validation: {steps: 1, prompts: [a slime]}}
    palettes:
      pico: {builtin: pico-8}
    defaults: {model: tiny, size: [16, 16], render: {width: 64, height: 64, steps: 2, guidance: 3.0}, palette: pico, seed: 3}
    assets:
      - {id: slime, kind: sprite, prompt: "a slime", loras: [{name: house}]}
      - {id: bat, kind: sprite, prompt: "a bat", loras: [{name: house, weight: 0.5}]}
      - {id: coin, kind: sprite, prompt: "a coin"}
      - {id: door, kind: sprite, prompt: "a door", loras: [{name: house}]}
    """
)


@pytest.fixture
def one_thread():
    """Training is a long chain of small ops: one thread is faster here, and both builds must use the same."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _repo(folder: Path, tiny_model_dir: Path) -> Path:
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "house.yaml").write_text(MANIFEST)
    (folder / "refs" / "house").mkdir(parents=True)
    for name, image in house_style_sprites(4):
        (folder / "refs" / "house" / f"{name}.png").write_bytes(encode_png(image))
    models = folder / "manifests" / ".pixelgen" / "cache" / "models"
    models.mkdir(parents=True)
    shutil.copytree(tiny_model_dir, models / tiny_model_dir.name)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    run_records = {"provenance.intoto.json", "report.html"}  # the invocation's id and times; how this run got its images
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in run_records}


def test_shards_need_the_trained_lora_first_then_equal_one_plain_build(one_thread, tmp_path: Path, tiny_model_dir: Path) -> None:
    plain = _repo(tmp_path / "plain", tiny_model_dir)
    # Equal bytes across machines are promised on a CPU (render/train.py): a CUDA device trains without deterministic kernels.
    built = run_cli(plain, "build", "manifests/house.yaml", "--json", "--device", "cpu")
    assert built.code == 0, built.err
    assert json.loads(built.out)["trained"] == ["house"]

    farm = _repo(tmp_path / "farm", tiny_model_dir)
    shared = tmp_path / "shared-cache"
    shutil.copytree(farm / "manifests" / ".pixelgen" / "cache" / "models", shared / "models")
    shard_args = [["build", "manifests/house.yaml", "--cache-dir", str(shared), "--shard", f"{index}/3", "--device", "cpu"] for index in range(3)]
    for args in shard_args:
        refused = run_cli(farm, *args)
        assert refused.code == 1
        assert "the LoRA 'house' of house.yaml is trained by the build and not in the cache" in refused.err
        assert "shards run in parallel, so they do not train" in refused.err
        assert "fix: train first, once, with the same cache: `pixelgen train" in refused.err
    assert not (shared / "jobs").exists() or not any((shared / "jobs").rglob("*.json"))  # nothing trained or rendered
    assert not (farm / "assets_out").exists()

    trained = run_cli(farm, "train", "manifests/house.yaml", "--cache-dir", str(shared), "--json", "--device", "cpu")
    assert trained.code == 0, trained.err
    rendered = 0
    for args in shard_args:
        shard = run_cli(farm, *args, "--json")
        assert shard.code == 0, shard.err
        summary = json.loads(shard.out)
        assert summary["trained"] == [] and not summary["failed"]
        rendered += summary["rendered"]
    assert rendered == 4  # each image once, by one shard
    finished = run_cli(farm, "build", "manifests/house.yaml", "--cache-dir", str(shared), "--finish", "--json", "--device", "cpu")
    assert finished.code == 0, finished.err
    assert json.loads(finished.out)["rendered"] == 0 and json.loads(finished.out)["trained"] == []

    assert _files(farm / "assets_out") == _files(plain / "assets_out")
    assert (farm / "manifests" / "house.lock.json").read_bytes() == (plain / "manifests" / "house.lock.json").read_bytes()


def test_finish_does_not_train_either(tmp_path: Path, tiny_model_dir: Path) -> None:
    farm = _repo(tmp_path, tiny_model_dir)
    done = run_cli(farm, "build", "manifests/house.yaml", "--finish")
    assert done.code == 1 and "--finish: the LoRA 'house'" in done.err and "pixelgen train" in done.err
    assert not (farm / "assets_out").exists() and not (farm / "manifests" / "house.lock.json").exists()
