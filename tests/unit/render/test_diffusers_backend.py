"""The real diffusers code path on the tiny SDXL pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.plan import RenderJob
from pixelgen.manifest.model import ModelSpec

torch = pytest.importorskip("torch")


def _job(seed: int, *, seamless: bool = False, prompt: str = "a knight") -> RenderJob:
    return RenderJob(key=f"{seed}{seamless}", model="tiny", loras=(), prompt=prompt, negative="", seed=seed, width=64,
                     height=64, steps=2, guidance=3.0, scheduler="euler", seamless=seamless)


@pytest.fixture(scope="module")
def generator(tiny_model_dir: Path, tmp_path_factory):
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    cache = tmp_path_factory.mktemp("cache")
    shutil.copytree(tiny_model_dir, cache / "models" / tiny_model_dir.name)
    return DiffusersGenerator(models={"tiny": ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")}, loras={}, cache_dir=cache, device="cpu")


def test_renders_uint8_and_is_deterministic_per_seed(generator):
    first = generator.render([_job(1)])[0]
    assert first.dtype == np.uint8 and first.shape == (64, 64, 3)
    assert np.array_equal(generator.render([_job(1)])[0], first)
    assert not np.array_equal(generator.render([_job(2)])[0], first)


def test_an_image_does_not_depend_on_its_batch(generator):
    single = [generator.render([_job(seed)])[0] for seed in (3, 4)]
    batched = generator.render([_job(3), _job(4)])
    for alone, together in zip(single, batched):
        # Batched float maths differs by ~1e-6, which can move a value across a rounding edge.
        assert np.abs(alone.astype(int) - together.astype(int)).max() <= 1


def test_circular_padding_is_applied_and_restored(generator):
    from pixelgen.render.diffusers_backend import circular_padding

    pipe = generator.pipeline("tiny")
    convs = [m for m in pipe.unet.modules() if isinstance(m, torch.nn.Conv2d)]
    with circular_padding(pipe.unet, pipe.vae):
        assert all(conv.padding_mode == "circular" for conv in convs)
    assert all(conv.padding_mode == "zeros" for conv in convs)
    seamless = generator.render([_job(5, seamless=True)])[0]
    plain = generator.render([_job(5)])[0]
    assert not np.array_equal(seamless, plain)


def test_pickle_checkpoint_refused_without_allow_pickle(tmp_path):
    from pixelgen.errors import InputError
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"not loaded")
    spec = ModelSpec(name="old", kind="single_file", source=str(checkpoint))
    generator = DiffusersGenerator(models={"old": spec}, loras={}, cache_dir=tmp_path, device="cpu")
    with pytest.raises(InputError, match="pickle"):
        generator.pipeline("old")


def test_cuda_requested_without_cuda_is_an_environment_problem():
    from pixelgen.errors import EnvironmentProblem
    from pixelgen.render.diffusers_backend import select_device

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(EnvironmentProblem, match="no CUDA device"):
        select_device("cuda")
    assert select_device("auto") == ("cpu", "float32")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_renders_in_half_precision(tiny_model_dir, tmp_path):
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    shutil.copytree(tiny_model_dir, tmp_path / "models" / tiny_model_dir.name)
    generator = DiffusersGenerator(models={"tiny": ModelSpec(name="tiny", kind="builtin", source="tiny-sdxl")}, loras={}, cache_dir=tmp_path, device="cuda")
    assert generator.dtype == "float16"
    image = generator.render([_job(1)])[0]
    assert image.shape == (64, 64, 3) and generator.memory_peak_bytes > 0
