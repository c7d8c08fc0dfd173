"""Render images with diffusers' ``StableDiffusionXLPipeline``.

One pipeline per model stays loaded across jobs. Jobs arrive in groups that
share everything but prompt and seed, so one pipeline call renders a batch;
each image gets its own ``torch.Generator`` seeded with its seed, so an image
does not depend on which batch it landed in (up to ~1e-6 float noise between
batched and single calls, which the lock records through the batch size).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from pixelgen.errors import EnvironmentProblem, InputError
from pixelgen.manifest.model import AdapterSpec, ControlNetSpec, LoraSpec, ModelSpec

if TYPE_CHECKING:
    from pixelgen.core.plan import RenderJob

log = logging.getLogger("pixelgen")

SCHEDULERS = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "unipc": ("UniPCMultistepScheduler", {}),
}
_PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")


def import_render_stack() -> tuple[Any, Any]:
    from pixelgen.render import quiet_hf_libraries

    quiet_hf_libraries()
    try:
        import diffusers
        import torch
        import transformers
    except ImportError as exc:
        raise EnvironmentProblem(
            f"rendering needs {exc.name}, which is not installed: "
            "pip install torch==2.13.0 (CPU) or a CUDA torch, then pip install -e ."
        ) from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    return torch, diffusers


def select_device(requested: str, dtype_name: str | None = None) -> tuple[str, str]:
    """Pick the device and dtype: CUDA → fp16 (or bf16), CPU → fp32."""
    torch, _ = import_render_stack()
    if requested == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif requested == "cuda":
        if not torch.cuda.is_available():
            raise EnvironmentProblem(
                "--device cuda was asked for but no CUDA device is available "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                "install a CUDA build of torch or use --device cpu"
            )
        device = "cuda"
    else:
        device = "cpu"
    if device == "cpu":
        return device, "float32"
    return device, dtype_name or "float16"


@contextlib.contextmanager
def circular_padding(*modules: Any) -> Iterator[None]:
    """Make every Conv2d wrap around, so the render tiles seamlessly; restore afterwards."""
    torch, _ = import_render_stack()
    changed = []
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, torch.nn.Conv2d) and layer.padding_mode != "circular":
                changed.append((layer, layer.padding_mode))
                layer.padding_mode = "circular"
    try:
        yield
    finally:
        for layer, mode in changed:
            layer.padding_mode = mode


def _require_cached(what: str, repo: str, filename: str, revision: str | None) -> None:
    """Offline, a hub file must already be in the Hugging Face cache: say so, and how to get it, before diffusers tries."""
    from pixelgen.core.resolve import cached_hub_file, hf_cache_dir, hub_download_hint

    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if offline and cached_hub_file(repo, filename, revision) is None:
        raise EnvironmentProblem(
            f"{what}: {repo}{f' at revision {revision}' if revision else ''} is not in the Hugging Face cache "
            f"({hf_cache_dir()}) and HF_HUB_OFFLINE is set\n"
            f"    fix: download it once with `{hub_download_hint(repo, revision)}`, or unset HF_HUB_OFFLINE to let the build download it"
        )


@dataclass
class DiffusersGenerator:
    """Keeps pipelines loaded and renders groups of jobs."""

    models: dict[str, ModelSpec]
    loras: dict[str, LoraSpec]
    cache_dir: Path
    device: str = "auto"
    dtype: str | None = None
    _pipelines: dict[str, Any] = field(default_factory=dict)
    _active_loras: dict[str, tuple] = field(default_factory=dict)
    model_files: dict[str, str] = field(default_factory=dict)
    on_status: Any = None  # called with a line of text while something slow happens (a model loads)
    controlnets: dict[str, ControlNetSpec] = field(default_factory=dict)
    _controlnet_models: dict[str, Any] = field(default_factory=dict)
    _variants: dict[tuple, Any] = field(default_factory=dict)  # (model, mode, ControlNets) → a pipeline sharing the model's weights
    adapters: dict[str, AdapterSpec] = field(default_factory=dict)
    _active_adapter: dict[str, str] = field(default_factory=dict)  # model → the IP-Adapter loaded into its UNet

    def __post_init__(self) -> None:
        self.torch, self.diffusers = import_render_stack()
        self.device, self.dtype = select_device(self.device, self.dtype)
        self.torch_dtype = getattr(self.torch, self.dtype)

    # -- loading ---------------------------------------------------------------
    def pipeline(self, model_name: str) -> Any:
        if model_name not in self._pipelines:
            # One model on the GPU at a time: SDXL is ~7 GB in fp16.
            for other in list(self._pipelines):
                del self._pipelines[other]
                self._active_loras.pop(other, None)
            self._variants.clear()
            self._active_adapter.clear()
            spec = self.models[model_name]
            if self.on_status is not None:
                self.on_status(f"loading model {model_name!r} ({spec.source}) onto {self.device}…")
            pipe = self._load(spec)
            pipe.set_progress_bar_config(disable=True)
            pipe.to(self.device)
            self._pipelines[model_name] = pipe
        return self._pipelines[model_name]

    def _load(self, spec: ModelSpec) -> Any:
        Pipeline = self.diffusers.StableDiffusionXLPipeline
        # diffusers ≥ 0.42 names the precision `dtype` in from_pretrained, but
        # from_single_file still takes `torch_dtype`.
        common: dict[str, Any] = {"dtype": self.torch_dtype}
        if spec.variant:
            common["variant"] = spec.variant
        try:
            if spec.kind == "builtin":
                from pixelgen.render.tiny import ensure_tiny_sdxl

                path = ensure_tiny_sdxl(self.cache_dir)
                self.model_files[spec.name] = str(path)
                return Pipeline.from_pretrained(path, use_safetensors=True, **common)
            if spec.kind == "hub":
                # Hub ids go through the normal Hugging Face cache and honour HF_HUB_OFFLINE.
                _require_cached(f"model {spec.name!r}", spec.source, "model_index.json", spec.revision)
                return Pipeline.from_pretrained(
                    spec.source, revision=spec.revision, use_safetensors=not spec.allow_pickle, **common
                )
            if spec.kind == "diffusers_dir":
                return Pipeline.from_pretrained(spec.source, use_safetensors=not spec.allow_pickle, **common)
            if Path(spec.source).suffix.lower() in _PICKLE_SUFFIXES and not spec.allow_pickle:
                raise InputError(f"model {spec.name!r}: refusing to load pickle weights {spec.source} without allow_pickle: true")
            extra = {"config": spec.config} if spec.config else {}
            return Pipeline.from_single_file(spec.source, torch_dtype=self.torch_dtype, **extra)
        except (OSError, EnvironmentError, ValueError) as exc:
            if isinstance(exc, InputError) or getattr(exc, "errno", None) == errno.ELOOP:
                raise  # a refused symlink: reported with its own fix
            if spec.kind == "builtin":
                from pixelgen.render.tiny import tiny_model_dir

                folder = tiny_model_dir(self.cache_dir)
                raise EnvironmentProblem(
                    f"the built-in model {spec.name!r} in {folder} is damaged ({exc})\n"
                    f"    fix: delete {folder}; the next build recreates it"
                ) from None
            offline = ""
            if spec.kind == "hub" and os.environ.get("HF_HUB_OFFLINE"):
                offline = " (HF_HUB_OFFLINE is set: the weights must already be in the Hugging Face cache)"
            raise EnvironmentProblem(f"cannot load model {spec.name!r} from {spec.source}{offline}: {exc}") from None

    def _apply_loras(self, model_name: str, pipe: Any, loras: tuple[tuple[str, float], ...]) -> None:
        wanted = tuple(sorted(loras))
        if self._active_loras.get(model_name, ()) == wanted:
            return
        if self._active_loras.get(model_name):
            pipe.unload_lora_weights()
        self._active_loras[model_name] = ()
        if not wanted:
            return
        for name, _weight in wanted:
            spec = self.loras[name]
            if spec.kind == "trained":
                raise EnvironmentProblem(f"LoRA {name!r} is trained from {spec.source} and its weights are not ready: "
                                         "`pixelgen build` or `pixelgen train` trains it first")
            try:
                if spec.kind == "hub":
                    _require_cached(f"LoRA {name!r}", spec.source, spec.weight_name or "pytorch_lora_weights.safetensors", spec.revision)
                    pipe.load_lora_weights(spec.source, weight_name=spec.weight_name, revision=spec.revision, adapter_name=name)
                else:
                    source = Path(spec.source)
                    pipe.load_lora_weights(str(source.parent), weight_name=source.name, adapter_name=name)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise InputError(
                    f"LoRA {name!r} ({spec.source}) cannot be applied to model {model_name!r}: {' '.join(str(exc).split())[:300]}\n"
                    "    fix: check that it is an SDXL LoRA in diffusers or kohya format, and that the file is complete"
                ) from None
        pipe.set_adapters([name for name, _ in wanted], adapter_weights=[weight for _, weight in wanted])
        self._active_loras[model_name] = wanted

    @property
    def memory_peak_bytes(self) -> int | None:
        """Peak CUDA memory allocated by torch since start-up; None on CPU."""
        if self.device != "cuda":
            return None
        return int(self.torch.cuda.max_memory_allocated())

    def controlnet(self, name: str) -> Any:
        """A declared ControlNet, loaded once (``ControlNetModel.from_pretrained``) and kept on the device."""
        if name not in self._controlnet_models:
            spec = self.controlnets[name]
            if self.on_status is not None:
                self.on_status(f"loading ControlNet {name!r} ({spec.source}) onto {self.device}…")
            ControlNetModel = self.diffusers.ControlNetModel
            options: dict[str, Any] = {"dtype": self.torch_dtype}
            if spec.variant:
                options["variant"] = spec.variant
            try:
                if spec.kind == "builtin":
                    from pixelgen.render.tiny import ensure_tiny_controlnet

                    model = ControlNetModel.from_pretrained(ensure_tiny_controlnet(self.cache_dir), use_safetensors=True, **options)
                elif spec.kind == "hub":
                    config = f"{spec.subfolder}/config.json" if spec.subfolder else "config.json"
                    _require_cached(f"ControlNet {name!r}", spec.source, config, spec.revision)
                    if spec.subfolder:
                        options["subfolder"] = spec.subfolder
                    model = ControlNetModel.from_pretrained(spec.source, revision=spec.revision, use_safetensors=True, **options)
                else:
                    model = ControlNetModel.from_pretrained(spec.source, use_safetensors=True, **options)
            except (OSError, ValueError) as exc:
                raise EnvironmentProblem(f"cannot load ControlNet {name!r} from {spec.source}: {' '.join(str(exc).split())[:300]}\n"
                                         "    fix: check that it is a diffusers SDXL ControlNet folder with safetensors weights") from None
            self._controlnet_models[name] = model.to(self.device)
        return self._controlnet_models[name]

    def _apply_adapter(self, model_name: str, adapter: str | None) -> None:
        """Load the IP-Adapter (``load_ip_adapter``) into the model's UNet, or unload it: a loaded one changes every render."""
        base = self._pipelines[model_name]
        if self._active_adapter.get(model_name) == adapter:
            return
        if self._active_adapter.pop(model_name, None) is not None:
            base.unload_ip_adapter()
        if adapter is None:
            return
        spec = self.adapters[adapter]
        if self.on_status is not None:
            self.on_status(f"loading IP-Adapter {adapter!r} ({spec.source})…")
        try:
            if spec.kind == "builtin":
                from pixelgen.render.tiny import ensure_tiny_ip_adapter

                source, options = str(ensure_tiny_ip_adapter(self.cache_dir)), {}
            elif spec.kind == "hub":
                weights = "/".join(part for part in (spec.subfolder, spec.weight_name) if part)
                _require_cached(f"IP-Adapter {adapter!r}", spec.source, weights, spec.revision)
                source, options = spec.source, {"revision": spec.revision}
            else:
                source, options = spec.source, {}
            base.load_ip_adapter(source, subfolder=spec.subfolder or "", weight_name=spec.weight_name,
                                 image_encoder_folder=spec.image_encoder_folder, **options)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EnvironmentProblem(f"cannot load IP-Adapter {adapter!r} from {spec.source}: {' '.join(str(exc).split())[:300]}\n"
                                     "    fix: check that it is an SDXL IP-Adapter (safetensors) with its CLIP image encoder folder") from None
        base.image_encoder.to(self.device, dtype=self.torch_dtype)
        self._active_adapter[model_name] = adapter

    def _variant(self, job: "RenderJob") -> Any:
        """The pipeline for the job's mode (img2img, inpaint, ControlNet), made with ``from_pipe``: no weights are loaded again."""
        names = tuple(use["model"] for use in job.control)
        key = (job.model, job.mode, names)
        if key not in self._variants:
            base = self._pipelines[job.model]
            prefix = "StableDiffusionXLControlNet" if names else "StableDiffusionXL"
            suffix = {"text": "Pipeline", "img2img": "Img2ImgPipeline", "inpaint": "InpaintPipeline"}[job.mode]
            if not names and job.mode == "text":
                return base
            extra: dict[str, Any] = {}
            if names:
                models = [self.controlnet(name) for name in names]
                extra["controlnet"] = models[0] if len(models) == 1 else models
            variant = getattr(self.diffusers, prefix + suffix).from_pipe(base, **extra)
            variant.set_progress_bar_config(disable=True)
            self._variants[key] = variant
        return self._variants[key]

    # -- rendering -------------------------------------------------------------
    def render(self, jobs: Sequence["RenderJob"], conditions: Sequence[dict[str, Any]] | None = None) -> list[np.ndarray]:
        """Render one group of jobs (same model, LoRAs, size, steps, guidance, scheduler, and conditioning mode).

        ``conditions`` (one per job, see ``pixelgen.core.conditioning.condition_images``) holds
        the init image, mask and control images of conditioned jobs.
        """
        first = jobs[0]
        pipe = self.pipeline(first.model)
        self._apply_loras(first.model, pipe, first.loras)
        kwargs: dict[str, Any] = {"width": first.width, "height": first.height}
        if conditions is not None and (len(first.control) > 1 or first.style is not None) and len(jobs) > 1:
            # diffusers takes one image per ControlNet (and one set of IP-Adapter images) for a whole call: one call per job.
            return [self.render([job], [condition])[0] for job, condition in zip(jobs, conditions)]
        self._apply_adapter(first.model, first.style["adapter"] if first.style else None)
        if conditions is not None:
            pipe = self._variant(first)
            kwargs = self._condition_arguments(first, conditions)
            if first.init is not None and int(first.steps * first.init["strength"]) < 1:
                # No denoising step is left at this strength: the init image through the VAE, as the pipeline would return it.
                return self._vae_round_trip(pipe, [condition["init"] for condition in conditions], first)
        class_name, options = SCHEDULERS[first.scheduler]
        scheduler_class = getattr(self.diffusers, class_name)
        pipe.scheduler = scheduler_class.from_config(pipe.scheduler.config, **options)
        generators = [self.torch.Generator(device="cpu").manual_seed(job.seed) for job in jobs]
        seamless = circular_padding(pipe.unet, pipe.vae) if first.seamless else contextlib.nullcontext()
        with seamless, self.torch.inference_mode():
            result = pipe(
                prompt=[job.prompt for job in jobs],
                negative_prompt=[job.negative for job in jobs],
                num_inference_steps=first.steps,
                guidance_scale=first.guidance,
                generator=generators,
                output_type="np",
                **kwargs,
            )
        images = np.asarray(result.images, dtype=np.float32)
        return [np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8) for image in images]

    def _condition_arguments(self, first: "RenderJob", conditions: Sequence[dict[str, Any]]) -> dict[str, Any]:
        from PIL import Image

        kwargs: dict[str, Any] = {}
        if first.mode != "img2img" or first.control:  # the plain img2img pipeline takes its size from the image
            kwargs.update(width=first.width, height=first.height)
        if first.init is not None:
            kwargs["image"] = [Image.fromarray(condition["init"]) for condition in conditions]
            kwargs["strength"] = first.init["strength"]
            if first.mode == "inpaint":
                kwargs["mask_image"] = [Image.fromarray(condition["mask"]) for condition in conditions]
        if first.control:
            single = len(first.control) == 1
            if single:
                control_images: Any = [Image.fromarray(condition["control"][0]) for condition in conditions]
            else:  # one job (see render): one image per ControlNet
                control_images = [Image.fromarray(image) for image in conditions[0]["control"]]
            kwargs["control_image" if first.init is not None else "image"] = control_images
            scales = [use["scale"] for use in first.control]
            kwargs["controlnet_conditioning_scale"] = scales[0] if single else scales
            kwargs["control_guidance_start"] = [use["start"] for use in first.control] if not single else first.control[0]["start"]
            kwargs["control_guidance_end"] = [use["end"] for use in first.control] if not single else first.control[0]["end"]
        if first.style is not None:
            base = self._pipelines[first.model]
            pipe = self._variant(first)
            if pipe is not base:  # a variant made before the adapter was loaded lacks its encoder
                pipe.register_modules(image_encoder=base.image_encoder, feature_extractor=base.feature_extractor)
            base.set_ip_adapter_scale(first.style["scale"])
            kwargs["ip_adapter_image"] = [[Image.fromarray(image) for image in conditions[0]["style"]]]
        return kwargs

    def _vae_round_trip(self, pipe: Any, images: Sequence[np.ndarray], first: "RenderJob") -> list[np.ndarray]:
        """Encode and decode through the pipeline's VAE (the latent mean: no sampling noise)."""
        torch = self.torch
        vae = pipe.vae
        upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
        seamless = circular_padding(vae) if first.seamless else contextlib.nullcontext()
        with seamless, torch.inference_mode():
            dtype = torch.float32 if upcast else vae.dtype
            if upcast:
                vae.to(dtype=torch.float32)
            try:
                pixels = torch.from_numpy(np.stack(images).astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
                latents = vae.encode(pixels.to(device=vae.device, dtype=dtype)).latent_dist.mode()
                decoded = vae.decode(latents).sample
            finally:
                if upcast:
                    vae.to(dtype=torch.float16)
        result = ((decoded.float().clamp(-1, 1) + 1.0) * 127.5).permute(0, 2, 3, 1).cpu().numpy()
        return [np.clip(np.rint(image), 0, 255).astype(np.uint8) for image in result]
