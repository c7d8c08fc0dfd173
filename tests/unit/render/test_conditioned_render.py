"""img2img, inpainting and ControlNet through the real diffusers pipelines (from_pipe) on the tiny models."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.plan import RenderJob
from pixelgen.manifest.model import AdapterSpec, ControlNetSpec, ModelSpec

torch = pytest.importorskip("torch")

BASE = RenderJob(key="k", model="tiny", loras=(), prompt="a knight", negative="", seed=7, width=64, height=64, steps=4,
                 guidance=3.0, scheduler="euler", seamless=False)
POSE = {"pose": "walk/e/0"}


def control(image: dict, scale: float = 1.0) -> RenderJob:
    return dataclasses.replace(BASE, control=({"model": "openpose", "image": image, "scale": scale, "start": 0.0, "end": 1.0},))


def init(strength: float, mask: bool = False) -> RenderJob:
    return dataclasses.replace(BASE, init={"image": {"file": "x"}, "strength": strength, "mask": {"file": "m"} if mask else None})


def drawn(reference: str) -> np.ndarray:
    from pixelgen.core.poses import draw_library_pose

    return draw_library_pose(reference, (64, 64))


@pytest.fixture(scope="module")
def generator(tiny_model_dir: Path, tmp_path_factory):
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    cache = tmp_path_factory.mktemp("cache")
    shutil.copytree(tiny_model_dir, cache / "models" / tiny_model_dir.name)
    return DiffusersGenerator(models={"tiny": ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")}, loras={}, cache_dir=cache,
                              device="cpu", controlnets={"openpose": ControlNetSpec(name="openpose", kind="builtin", source="tiny-controlnet")},
                              adapters={"ip": AdapterSpec(name="ip", kind="builtin", source="tiny-ip-adapter")})


def test_the_tiny_controlnet_loads_through_from_pretrained(generator):
    from diffusers import ControlNetModel

    model = generator.controlnet("openpose")
    assert isinstance(model, ControlNetModel)
    assert (Path(generator.cache_dir) / "models").glob("tiny-controlnet-*/diffusion_pytorch_model.safetensors")


def test_conditioning_scale_zero_is_the_unconditioned_render_bit_for_bit(generator):
    plain = generator.render([BASE])[0]
    off = generator.render([control(POSE, scale=0.0)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    assert np.array_equal(off, plain)
    on = generator.render([control(POSE)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    assert not np.array_equal(on, plain)


def test_another_control_image_changes_the_render_deterministically(generator):
    first = generator.render([control(POSE)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    again = generator.render([control(POSE)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    other = generator.render([control(POSE)], conditions=[{"control": [drawn("run/w/3")]}])[0]
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_two_controlnets_at_once(generator):
    job = dataclasses.replace(BASE, control=control(POSE).control * 2)
    double = generator.render([job], conditions=[{"control": [drawn("walk/e/0"), drawn("jump/s/2")]}])[0]
    single = generator.render([control(POSE)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    assert double.shape == (64, 64, 3) and not np.array_equal(double, single)


def test_control_renders_are_the_same_in_another_process(generator):
    from pixelgen.files.hashing import sha256_bytes

    here = generator.render([control(POSE)], conditions=[{"control": [drawn("walk/e/0")]}])[0]
    script = (
        "import dataclasses, sys\n"
        "from pathlib import Path\n"
        "from pixelgen.files.hashing import sha256_bytes\n"
        "from pixelgen.manifest.model import AdapterSpec, ControlNetSpec, ModelSpec\n"
        "from pixelgen.core.poses import draw_library_pose\n"
        "from pixelgen.render.diffusers_backend import DiffusersGenerator\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_conditioned_render import POSE, control\n"
        "generator = DiffusersGenerator(models={'tiny': ModelSpec(name='tiny', kind='builtin', source='tiny-sdxl')}, loras={}, "
        f"cache_dir=Path({str(generator.cache_dir)!r}), device='cpu', "
        "controlnets={'openpose': ControlNetSpec(name='openpose', kind='builtin', source='tiny-controlnet')})\n"
        "image = generator.render([control(POSE)], conditions=[{'control': [draw_library_pose('walk/e/0', (64, 64))]}])[0]\n"
        "print(sha256_bytes(image.tobytes()))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == sha256_bytes(here.tobytes())


def test_img2img_at_strength_zero_returns_the_init_image_through_the_vae(generator):
    rng = np.random.default_rng(0)
    start = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = generator.render([init(0.0)], conditions=[{"init": start, "control": []}])[0]
    # The round trip, computed here with diffusers' own image processor and VAE.
    pipe = generator.pipeline("tiny")
    with torch.inference_mode():
        pixels = pipe.image_processor.preprocess(start[None].astype(np.float32) / 255.0)
        latents = pipe.vae.encode(pixels).latent_dist.mode()
        expected = pipe.image_processor.postprocess(pipe.vae.decode(latents).sample, output_type="np")[0]
    assert np.abs(out.astype(int) - np.rint(expected * 255).astype(int)).max() <= 1
    halfway = generator.render([init(0.5)], conditions=[{"init": start, "control": []}])[0]
    assert not np.array_equal(halfway, out) and not np.array_equal(halfway, generator.render([BASE])[0])


def test_img2img_depends_on_the_init_image_and_inpainting_on_the_mask(generator):
    a = np.zeros((64, 64, 3), np.uint8)
    b = np.full((64, 64, 3), 255, np.uint8)
    assert not np.array_equal(generator.render([init(0.75)], conditions=[{"init": a, "control": []}])[0],
                              generator.render([init(0.75)], conditions=[{"init": b, "control": []}])[0])
    left = np.zeros((64, 64, 3), np.uint8)
    left[:, :32] = 255
    right = 255 - left
    with_left = generator.render([init(0.75, mask=True)], conditions=[{"init": a, "mask": left, "control": []}])[0]
    with_right = generator.render([init(0.75, mask=True)], conditions=[{"init": a, "mask": right, "control": []}])[0]
    assert with_left.shape == (64, 64, 3) and not np.array_equal(with_left, with_right)


def test_modes_share_the_loaded_weights(generator):
    generator.render([init(0.75)], conditions=[{"init": np.zeros((64, 64, 3), np.uint8), "control": []}])
    base = generator.pipeline("tiny")
    variants = list(generator._variants.values())
    assert variants and all(variant.unet is base.unet and variant.vae is base.vae for variant in variants)


def test_a_batch_with_two_controlnets_gives_each_job_its_own_images(generator):
    job = dataclasses.replace(BASE, control=control(POSE).control * 2)
    conditions = [{"control": [drawn("walk/e/0"), drawn("jump/s/2")]}, {"control": [drawn("run/w/1"), drawn("idle/n/0")]}]
    batched = generator.render([job, dataclasses.replace(job, seed=8)], conditions=conditions)
    alone = generator.render([dataclasses.replace(job, seed=8)], conditions=conditions[1:])[0]
    assert np.array_equal(batched[1], alone) and not np.array_equal(batched[0], batched[1])


def styled(scale: float) -> RenderJob:
    return dataclasses.replace(BASE, style={"adapter": "ip", "images": [{"file": "x"}], "scale": scale})


def test_ip_adapter_scale_zero_is_the_plain_render_and_references_steer_it(generator):
    plain = generator.render([BASE])[0]
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    off = generator.render([styled(0.0)], conditions=[{"control": [], "style": [red]}])[0]
    assert np.array_equal(off, plain)
    with_red = generator.render([styled(1.0)], conditions=[{"control": [], "style": [red]}])[0]
    with_noise = generator.render([styled(1.0)], conditions=[{"control": [], "style": [noise]}])[0]
    assert np.abs(with_red.astype(int) - with_noise.astype(int)).mean() > 1.0
    assert np.array_equal(with_red, generator.render([styled(1.0)], conditions=[{"control": [], "style": [red]}])[0])
    # The adapter is unloaded for a plain render again, which then is what it was.
    assert np.array_equal(generator.render([BASE])[0], plain)
    from transformers import CLIPVisionModelWithProjection

    generator.render([styled(1.0)], conditions=[{"control": [], "style": [red]}])
    assert isinstance(generator.pipeline("tiny").image_encoder, CLIPVisionModelWithProjection)


def test_ip_adapter_with_img2img_and_a_controlnet(generator):
    job = dataclasses.replace(control(POSE), init={"image": {"file": "x"}, "strength": 0.75, "mask": None},
                              style={"adapter": "ip", "images": [{"file": "x"}], "scale": 0.8})
    start = np.full((64, 64, 3), 90, np.uint8)
    conditions = [{"init": start, "control": [drawn("walk/e/0")], "style": [start]}, {"init": start, "control": [drawn("walk/e/1")], "style": [start]}]
    both = generator.render([job, dataclasses.replace(job, seed=9)], conditions=conditions)
    assert len(both) == 2 and not np.array_equal(both[0], both[1])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_conditioned_renders_in_half_precision_on_cuda(tiny_model_dir, tmp_path):
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    shutil.copytree(tiny_model_dir, tmp_path / "models" / tiny_model_dir.name)
    generator = DiffusersGenerator(models={"tiny": ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")}, loras={}, cache_dir=tmp_path,
                                   device="cuda", controlnets={"openpose": ControlNetSpec(name="openpose", kind="builtin", source="tiny-controlnet")},
                                   adapters={"ip": AdapterSpec(name="ip", kind="builtin", source="tiny-ip-adapter")})
    assert generator.dtype == "float16"
    start = np.full((64, 64, 3), 90, np.uint8)
    job = dataclasses.replace(control(POSE), init={"image": {"file": "x"}, "strength": 0.75, "mask": None},
                              style={"adapter": "ip", "images": [{"file": "x"}], "scale": 0.8})
    image = generator.render([job], conditions=[{"init": start, "control": [drawn("walk/e/0")], "style": [start]}])[0]
    assert image.shape == (64, 64, 3) and image.std() > 0
    round_trip = generator.render([init(0.0)], conditions=[{"init": start, "control": []}])[0]
    assert round_trip.shape == (64, 64, 3)
