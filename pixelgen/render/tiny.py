"""Build ``builtin:tiny-sdxl``: a tiny, randomly initialised SDXL-architecture pipeline.

It exists so the whole tool — diffusers' real loading code included — runs on a
laptop CPU and in CI without downloading weights. The architecture matches
SDXL where it matters to pixelgen's code paths: a UNet with
``addition_embed_type="text_time"`` conditioned on two CLIP text encoders (the
second with a projection giving the pooled embedding), and a 4-level VAE so
latents are 1/8 of the image size. Its images look like noise.

Weights come from fixed seeds, so the same torch version builds the same files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from pixelgen.render import TINY_SDXL_NAME, TINY_SDXL_RECIPE

_TEXT_WIDTH = 32
_MAX_TOKENS = 77


def tiny_model_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / f"{TINY_SDXL_NAME}-r{TINY_SDXL_RECIPE}"


def ensure_tiny_sdxl(cache_dir: Path) -> Path:
    """Return the tiny model's directory, building it there first if absent.

    Built in a temporary sibling and renamed into place, so a killed build or
    a concurrent one never leaves a half-written model behind.
    """
    target = tiny_model_dir(cache_dir)
    if target.parent.is_symlink() or target.is_symlink():
        # The cache may be shared: never build into (or load from) a folder a link points elsewhere.
        raise OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(target if target.is_symlink() else target.parent))
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build_tiny_sdxl(staging)
        try:
            os.replace(staging, target)
        except OSError:
            # Another process finished first; its copy is identical.
            if not (target / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _byte_level_vocab() -> tuple[dict[str, int], list[str]]:
    """A CLIP BPE vocabulary of single byte-characters and no merges.

    CLIP's tokenizer maps bytes to printable unicode characters (transformers'
    ``bytes_to_unicode``) and marks word ends with ``</w>``; with every
    character and its word-final form in the vocabulary and no merges, any
    text tokenizes, one token per byte.
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for token in ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]:
        vocab[token] = len(vocab)
    return vocab, ["#version: 0.2"]


def build_tiny_sdxl(directory: Path) -> None:
    from pixelgen.render.diffusers_backend import import_render_stack

    import_render_stack()
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
    )

    directory = Path(directory)
    vocab, merges = _byte_level_vocab()
    vocab_dir = directory / "_vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    (vocab_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    (vocab_dir / "merges.txt").write_text("\n".join(merges) + "\n", "utf-8")
    tokenizer = CLIPTokenizer(
        str(vocab_dir / "vocab.json"), str(vocab_dir / "merges.txt"), model_max_length=_MAX_TOKENS
    )

    def text_config() -> CLIPTextConfig:
        return CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=_TEXT_WIDTH,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=3,
            max_position_embeddings=_MAX_TOKENS,
            projection_dim=_TEXT_WIDTH,
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
            hidden_act="gelu",
        )

    torch.manual_seed(0)
    text_encoder = CLIPTextModel(text_config())
    torch.manual_seed(1)
    text_encoder_2 = CLIPTextModelWithProjection(text_config())
    torch.manual_seed(2)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 1),
        cross_attention_dim=2 * _TEXT_WIDTH,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        # 6 time ids (original size, crop, target size) × 8 + the pooled text embedding.
        projection_class_embeddings_input_dim=6 * 8 + _TEXT_WIDTH,
        norm_num_groups=8,
    )
    torch.manual_seed(3)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=128,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        timestep_spacing="leading",
        steps_offset=1,
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
    )
    pipeline.save_pretrained(directory, safe_serialization=True)
    shutil.rmtree(vocab_dir)


def build_tiny_lora(path: Path, *, seed: int = 0, rank: int = 4, scale: float = 0.5) -> Path:
    """Write a small random LoRA for the tiny UNet in diffusers' LoRA format.

    Tests use it to drive the real ``load_lora_weights`` path. ``lora_B`` is
    non-zero (unlike a fresh adapter) so the LoRA visibly changes the render.
    """
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    path = Path(path)
    scratch = Path(tempfile.mkdtemp(prefix="tiny-lora-"))
    try:
        build_tiny_sdxl(scratch)
        unet = UNet2DConditionModel.from_pretrained(scratch / "unet")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=True))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_B" in name or "lora_A" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionXLPipeline.save_lora_weights(path.parent, unet_lora_layers=state, weight_name=path.name, safe_serialization=True)
    return path


def tiny_controlnet_dir(cache_dir: Path) -> Path:
    from pixelgen.render import TINY_CONTROLNET_NAME, TINY_CONTROLNET_RECIPE

    return Path(cache_dir) / "models" / f"{TINY_CONTROLNET_NAME}-r{TINY_CONTROLNET_RECIPE}-sdxl-r{TINY_SDXL_RECIPE}"


def ensure_tiny_controlnet(cache_dir: Path) -> Path:
    """The tiny SDXL ControlNet's folder (a diffusers ``ControlNetModel``), built there first if absent; see ``ensure_tiny_sdxl``."""
    target = tiny_controlnet_dir(cache_dir)
    if target.parent.is_symlink() or target.is_symlink():
        raise OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(target if target.is_symlink() else target.parent))
    if (target / "config.json").is_file():
        return target
    unet_dir = ensure_tiny_sdxl(cache_dir) / "unet"
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build_tiny_controlnet(unet_dir, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_controlnet(unet_dir: Path, directory: Path) -> None:
    """A ControlNet made from the tiny UNet (``ControlNetModel.from_unet``), as SDXL ControlNets are made from SDXL's.

    A fresh ControlNet's output convolutions are zero, so it changes nothing;
    these get random weights from a fixed seed, and the control image's
    embedding gets a gain large enough that thin pose lines on black visibly
    (and reproducibly) change the render.
    """
    from pixelgen.render.diffusers_backend import import_render_stack

    import_render_stack()
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(unet_dir)
    torch.manual_seed(4)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 16, 16))
    generator = torch.Generator().manual_seed(5)
    embedding = controlnet.controlnet_cond_embedding
    gains = [(layer, 3.0) for layer in (embedding.conv_in, *embedding.blocks)] + [(embedding.conv_out, 5.0)]
    gains += [(layer, 0.3) for layer in (*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block)]
    with torch.no_grad():
        for layer, gain in gains:
            fan_in = layer.weight[0].numel()
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * gain / fan_in**0.5)
            layer.bias.zero_()
    controlnet.save_pretrained(directory, safe_serialization=True)


def tiny_ip_adapter_dir(cache_dir: Path) -> Path:
    from pixelgen.render import TINY_IP_ADAPTER_NAME, TINY_IP_ADAPTER_RECIPE

    return Path(cache_dir) / "models" / f"{TINY_IP_ADAPTER_NAME}-r{TINY_IP_ADAPTER_RECIPE}-sdxl-r{TINY_SDXL_RECIPE}"


def ensure_tiny_ip_adapter(cache_dir: Path) -> Path:
    """The tiny IP-Adapter's folder (``ip-adapter.safetensors`` + ``image_encoder/``), built there first if absent."""
    target = tiny_ip_adapter_dir(cache_dir)
    if target.parent.is_symlink() or target.is_symlink():
        raise OSError(errno.ELOOP, "a symbolic link to a folder is not followed", str(target if target.is_symlink() else target.parent))
    if (target / "ip-adapter.safetensors").is_file():
        return target
    unet_dir = ensure_tiny_sdxl(cache_dir) / "unet"
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build_tiny_ip_adapter(unet_dir, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "ip-adapter.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_ip_adapter(unet_dir: Path, directory: Path) -> None:
    """An IP-Adapter for the tiny UNet in the original layout ``load_ip_adapter`` reads, and a tiny CLIP vision encoder.

    ``image_proj`` maps the encoder's image embedding to 4 tokens of the
    UNet's cross-attention width; ``ip_adapter.{1,3,5,…}.to_{k,v}_ip`` give
    every cross-attention layer (numbered as IP-Adapter numbers attention
    processors, self-attention taking the even numbers) its image keys and values.
    """
    from pixelgen.render.diffusers_backend import import_render_stack

    import_render_stack()
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    directory = Path(directory)
    unet = UNet2DConditionModel.from_pretrained(unet_dir)
    torch.manual_seed(6)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=_TEXT_WIDTH, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=32, patch_size=8,
        projection_dim=_TEXT_WIDTH,
    ))
    encoder.save_pretrained(directory / "image_encoder", safe_serialization=True)
    cross = unet.config.cross_attention_dim
    generator = torch.Generator().manual_seed(7)
    state = {
        "image_proj.proj.weight": torch.randn(4 * cross, _TEXT_WIDTH, generator=generator) * 0.2,
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    cross_attention = [name[: -len(".processor")] for name in unet.attn_processors if not name.endswith("attn1.processor")]
    for index, name in enumerate(cross_attention):
        attention = unet.get_submodule(name)
        state[f"ip_adapter.{2 * index + 1}.to_k_ip.weight"] = torch.randn(attention.to_k.weight.shape, generator=generator) * 0.3
        state[f"ip_adapter.{2 * index + 1}.to_v_ip.weight"] = torch.randn(attention.to_v.weight.shape, generator=generator) * 0.3
    save_file({key: value.contiguous() for key, value in state.items()}, str(directory / "ip-adapter.safetensors"))
