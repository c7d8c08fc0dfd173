"""Train an SDXL LoRA on the UNet's attention (diffusers + peft), deterministically on a CPU.

The recipe is diffusers' ``train_text_to_image_lora_sdxl``: the frozen VAE
encodes each image once, both frozen text encoders encode each caption once,
and only LoRA adapters on the UNet's attention projections (``to_q``, ``to_k``,
``to_v``, ``to_out.0``) learn to predict the noise added at a random timestep.

Pixel art must stay crisp, so the only augmentations are nearest-neighbour
scaling into an aspect bucket and horizontal flips — never a blur or a
bilinear resize. Every random draw (data order, flips, noise, timesteps)
comes from a generator seeded by (seed, epoch) or (seed, step), so training
resumed from a checkpoint draws exactly what an uninterrupted one would, and
the same inputs give the same LoRA bytes on a CPU.

Checkpoints are safetensors (never pickle: the cache is not trusted) holding
the LoRA weights and AdamW's moments; their metadata carries the step and
the losses so far.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from pixelgen.core.dataset import fit_nearest, flatten_alpha
from pixelgen.manifest.model import ModelSpec, TrainSpec

TARGET_MODULES = ["to_q", "to_k", "to_v", "to_out.0"]
# Stride of bucket sides: SDXL's UNet halves the latent twice (÷8 by the VAE, ÷4 by the UNet).
BUCKET_STRIDE = 32
MAX_BUCKET_ASPECT = 4.0
LORA_FILENAME = "pytorch_lora_weights.safetensors"
CHECKPOINT_FORMAT = "pixelgen-lora-checkpoint-1"


@dataclass
class TrainResult:
    lora: bytes
    losses: list[float]
    seconds: float
    resumed_from: int = 0
    validation: dict[str, Any] = field(default_factory=dict)  # prompts, "with"/"without": uint8 RGB renders


def aspect_buckets(resolution: int) -> list[tuple[int, int]]:
    """(width, height) buckets of about ``resolution``² pixels, sides multiples of the stride, aspect ≤ 4."""
    stride = BUCKET_STRIDE
    area = resolution * resolution
    buckets = set()
    for width in range(stride, 4 * resolution + 1, stride):
        height = max(stride, int(area / width) // stride * stride)
        if max(width, height) / min(width, height) <= MAX_BUCKET_ASPECT and width * height <= area:
            buckets.add((width, height))
    side = max(stride, resolution // stride * stride)
    buckets.add((side, side))
    return sorted(buckets)


def bucket_for(width: int, height: int, buckets: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The bucket whose aspect ratio is nearest the image's (ties: the larger bucket)."""
    aspect = math.log(width / height)
    return min(buckets, key=lambda b: (round(abs(math.log(b[0] / b[1]) - aspect), 9), -b[0] * b[1], b))


@dataclass(frozen=True)
class Schedule:
    """Which images (and flips) each step trains on: a pure function of the seed and the step."""

    buckets: tuple[int, ...]  # bucket index of every image
    batch_size: int
    seed: int
    flip: bool

    def _epoch(self, epoch: int) -> list[list[tuple[int, bool]]]:
        rng = np.random.default_rng([self.seed, epoch])
        batches: list[list[int]] = []
        for bucket in sorted(set(self.buckets)):
            members = [i for i, b in enumerate(self.buckets) if b == bucket]
            members = [members[j] for j in rng.permutation(len(members))]
            batches.extend(members[k : k + self.batch_size] for k in range(0, len(members), self.batch_size))
        order = rng.permutation(len(batches))
        return [[(i, bool(self.flip and rng.random() < 0.5)) for i in batches[j]] for j in order]

    @property
    def batches_per_epoch(self) -> int:
        return sum(math.ceil(self.buckets.count(b) / self.batch_size) for b in set(self.buckets))

    def batch(self, step: int) -> list[tuple[int, bool]]:
        epoch, index = divmod(step, self.batches_per_epoch)
        return self._epoch(epoch)[index]


@contextlib.contextmanager
def _deterministic(torch: Any, enabled: bool) -> Iterator[None]:
    """Bitwise-equal results run to run on a CPU (ops without a deterministic kernel warn); the previous setting afterwards."""
    before, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    if enabled:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the training pipeline is dropped; the renderer loads its own


def _step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + 1) % (2**63)


def train_lora(
    base: ModelSpec,
    settings: TrainSpec,
    items: Sequence[tuple[np.ndarray, str]],
    *,
    cache_dir: Path,
    device: str = "auto",
    checkpoint: bytes | None = None,
    save_checkpoint: Callable[[bytes, int], None] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    on_status: Callable[[str], None] | None = None,
    validation_prompts: Sequence[str] = (),
    on_validation: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a LoRA on ``items`` (RGBA/RGB uint8 image, caption); returns its diffusers-format safetensors bytes.

    ``checkpoint`` (bytes a previous ``save_checkpoint`` call received) resumes
    the training at its step. ``on_step(step, loss)`` is called after every
    step (1-based). Validation prompts are rendered with and without the LoRA
    at the end, at ``resolution``², seed ``settings.seed``.
    """
    from pixelgen.render.diffusers_backend import DiffusersGenerator

    started = time.perf_counter()
    dtype_name = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[settings.precision]
    generator = DiffusersGenerator(models={base.name: base}, loras={}, cache_dir=cache_dir, device=device, dtype=dtype_name)
    generator.on_status = on_status
    torch = generator.torch
    torch.manual_seed(settings.seed)
    pipe = generator.pipeline(base.name)
    device_name = generator.device
    weight_dtype = generator.torch_dtype
    unet, vae = pipe.unet, pipe.vae
    for module in (unet, vae, pipe.text_encoder, pipe.text_encoder_2):
        module.requires_grad_(False)
    with _deterministic(torch, device_name == "cpu"):
        buckets = aspect_buckets(settings.resolution)
        image_buckets = [bucket_for(image.shape[1], image.shape[0], buckets) for image, _ in items]
        bucket_index = tuple(buckets.index(b) for b in image_buckets)
        schedule = Schedule(bucket_index, settings.batch_size, settings.seed, settings.flip)

        # Latents of every (image, flip) and embeddings of every caption, computed once with the frozen models.
        if on_status:
            on_status(f"encoding {len(items)} training images…")
        latents: dict[tuple[int, bool], Any] = {}
        vae_dtype = vae.dtype
        vae.to(torch.float32)  # SDXL's VAE overflows in fp16; encoding is a small part of the time
        with torch.no_grad():
            for index, (image, _caption) in enumerate(items):
                fitted = flatten_alpha(fit_nearest(image, image_buckets[index]))
                for flipped in ((False, True) if settings.flip else (False,)):
                    pixels = fitted[:, ::-1] if flipped else fitted
                    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float().div(127.5).sub(1.0)
                    encoded = vae.encode(tensor.unsqueeze(0).to(device_name)).latent_dist.mode()
                    latents[(index, flipped)] = (encoded * vae.config.scaling_factor)[0]
            embeddings: dict[str, tuple[Any, Any]] = {}
            for _image, caption in items:
                if caption not in embeddings:
                    prompt_embeds, _, pooled, _ = pipe.encode_prompt(caption, device=device_name, num_images_per_prompt=1, do_classifier_free_guidance=False)
                    embeddings[caption] = (prompt_embeds[0], pooled[0])
        vae.to(vae_dtype)

        from diffusers import DDPMScheduler
        from peft import LoraConfig

        noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        torch.manual_seed(settings.seed)  # peft draws lora_A's initial values from the global generator
        unet.add_adapter(LoraConfig(r=settings.rank, lora_alpha=settings.alpha, init_lora_weights="gaussian", target_modules=TARGET_MODULES))
        trainable = [(name, parameter) for name, parameter in unet.named_parameters() if parameter.requires_grad]
        for _name, parameter in trainable:
            parameter.data = parameter.data.float()  # LoRA weights learn in fp32 even when the model is bf16/fp16
        if settings.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        unet.train()
        optimizer = torch.optim.AdamW([p for _, p in trainable], lr=settings.lr, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
        losses: list[float] = []
        start = 0
        if checkpoint is not None:
            start, losses = _restore(checkpoint, trainable, optimizer, torch)

        prediction = noise_scheduler.config.get("prediction_type", "epsilon")
        steps_total = noise_scheduler.config.num_train_timesteps
        for step in range(start, settings.steps):
            batch = schedule.batch(step)
            clean = torch.stack([latents[item] for item in batch]).float()
            rng = torch.Generator().manual_seed(_step_seed(settings.seed, step))
            noise = torch.randn(clean.shape, generator=rng).to(device_name)
            timesteps = torch.randint(0, steps_total, (len(batch),), generator=rng).to(device_name)
            noisy = noise_scheduler.add_noise(clean, noise, timesteps)
            text = torch.stack([embeddings[items[i][1]][0] for i, _ in batch]).to(weight_dtype)
            pooled = torch.stack([embeddings[items[i][1]][1] for i, _ in batch]).to(weight_dtype)
            height, width = image_buckets[batch[0][0]][1], image_buckets[batch[0][0]][0]
            time_ids = torch.tensor([[height, width, 0, 0, height, width]] * len(batch), dtype=weight_dtype, device=device_name)
            predicted = unet(noisy.to(weight_dtype), timesteps, text, added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids}).sample
            target = noise if prediction == "epsilon" else noise_scheduler.get_velocity(clean, noise, timesteps)
            loss = torch.nn.functional.mse_loss(predicted.float(), target.float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            optimizer.step()
            losses.append(float(loss.detach().cpu()))
            if on_step:
                on_step(step + 1, losses[-1])
            every = settings.validation_every
            if on_validation and validation_prompts and every and (step + 1) % every == 0 and step + 1 < settings.steps:
                # Inference with its own seeded generators: the training's draws, and so its bytes, do not change.
                on_validation(step + 1, _validate(pipe, unet, settings, list(validation_prompts), torch))
                unet.train()
            if save_checkpoint and (step + 1) % settings.checkpoint_every == 0 and step + 1 < settings.steps:
                save_checkpoint(_checkpoint_bytes(step + 1, losses, trainable, optimizer), step + 1)

        lora = _lora_bytes(unet, settings, pipe)
        validation: dict[str, Any] = {}
        if validation_prompts:
            validation = _validate(pipe, unet, settings, list(validation_prompts), torch)
        return TrainResult(lora=lora, losses=losses, seconds=time.perf_counter() - started, resumed_from=start, validation=validation)


def _lora_bytes(unet: Any, settings: TrainSpec, pipe: Any) -> bytes:
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    state = {name: tensor.detach().to("cpu").float().contiguous() for name, tensor in state.items()}
    # rank and alpha travel in the file, so load_lora_weights scales the adapter by alpha / rank.
    metadata = {"r": settings.rank, "lora_alpha": settings.alpha, "target_modules": TARGET_MODULES}
    scratch = Path(tempfile.mkdtemp(prefix="pixelgen-lora-"))
    try:
        type(pipe).save_lora_weights(scratch, unet_lora_layers=state, weight_name=LORA_FILENAME, safe_serialization=True,
                                     unet_lora_adapter_metadata=metadata)
        return canonical_safetensors((scratch / LORA_FILENAME).read_bytes())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def canonical_safetensors(data: bytes) -> bytes:
    """The same file with its JSON header's keys sorted.

    safetensors writes the ``__metadata__`` mapping in hash-map order, which
    changes from process to process: without this, equal weights would not
    give equal bytes (nor one cache key's object one digest).
    """
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # tensor data stays 8-byte aligned, as safetensors writes it
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


def _checkpoint_bytes(step: int, losses: list[float], trainable: list[tuple[str, Any]], optimizer: Any) -> bytes:
    from safetensors.torch import save

    tensors = {f"lora/{name}": parameter.detach().to("cpu").contiguous() for name, parameter in trainable}
    state = optimizer.state_dict()["state"]
    for index, (name, _parameter) in enumerate(trainable):
        for slot, value in state.get(index, {}).items():
            tensors[f"adam/{slot}/{name}"] = value.detach().to("cpu").reshape(-1).contiguous()
    metadata = {"format": CHECKPOINT_FORMAT, "step": str(step), "losses": json.dumps(losses)}
    return canonical_safetensors(save(tensors, metadata=metadata))


def _restore(data: bytes, trainable: list[tuple[str, Any]], optimizer: Any, torch: Any) -> tuple[int, list[float]]:
    """Load a checkpoint into the LoRA weights and the optimiser; returns (step, losses so far)."""
    from safetensors.torch import load

    try:  # the cache is not trusted: whatever is wrong with the bytes, the caller starts over
        tensors = load(data)
        metadata = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")]).get("__metadata__") or {}
        if metadata.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a pixelgen LoRA checkpoint")
        return _load_state(tensors, metadata, trainable, optimizer, torch)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type for damaged bytes
        raise ValueError(f"unusable checkpoint: {' '.join(str(exc).split())[:200]}") from None


def _load_state(tensors: dict[str, Any], metadata: dict[str, str], trainable: list[tuple[str, Any]], optimizer: Any, torch: Any) -> tuple[int, list[float]]:
    state: dict[int, dict[str, Any]] = {}
    with torch.no_grad():
        for index, (name, parameter) in enumerate(trainable):
            saved = tensors[f"lora/{name}"]
            if saved.shape != parameter.shape:
                raise ValueError(f"checkpoint tensor {name} has shape {tuple(saved.shape)}, not {tuple(parameter.shape)}")
            parameter.copy_(saved.to(parameter.device, parameter.dtype))
            slots = {}
            for slot in ("step", "exp_avg", "exp_avg_sq"):
                value = tensors[f"adam/{slot}/{name}"]
                slots[slot] = value.reshape(()) if slot == "step" else value.reshape(parameter.shape).to(parameter.device)
            state[index] = slots
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return int(metadata["step"]), [float(x) for x in json.loads(metadata["losses"])]


def _validate(pipe: Any, unet: Any, settings: TrainSpec, prompts: list[str], torch: Any) -> dict[str, Any]:
    """Render each prompt with and without the LoRA (same seed), as uint8 RGB arrays."""
    unet.eval()
    side = max(BUCKET_STRIDE, settings.resolution // BUCKET_STRIDE * BUCKET_STRIDE)
    renders: dict[str, list[np.ndarray]] = {}
    for label, enabled in (("without", False), ("with", True)):
        if enabled:
            unet.enable_adapters()
        else:
            unet.disable_adapters()
        generators = [torch.Generator(device="cpu").manual_seed(settings.seed) for _ in prompts]
        with torch.inference_mode():
            result = pipe(prompt=prompts, width=side, height=side, num_inference_steps=settings.validation_steps,
                          guidance_scale=5.0, generator=generators, output_type="np")
        images = np.asarray(result.images, dtype=np.float32)
        renders[label] = [np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8) for image in images]
    unet.enable_adapters()
    return {"prompts": prompts, "size": side, **renders}
