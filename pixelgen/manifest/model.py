"""Frozen dataclasses a validated manifest resolves into.

Everything here is already expanded: defaults merged, matrices multiplied out,
prompts templated. Later layers never look at raw YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pixelgen.pixelart.options import PixelArtOptions

MANIFEST_VERSION = 1

AssetKind = Literal["sprite", "tileset", "ui"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: Literal["builtin", "hub", "diffusers_dir", "single_file"]
    source: str  # builtin name, repo id, or absolute path
    revision: str | None = None
    sha256: str | None = None
    config: str | None = None
    variant: str | None = None
    allow_pickle: bool = False
    license: str | None = None


@dataclass(frozen=True)
class TrainSpec:
    """How a LoRA is trained from a folder of images (``loras: {NAME: {train: {...}}}``)."""

    images: str  # absolute path of the dataset folder
    base: str  # name of the model under `models:` the LoRA is trained on
    captions: str = "sidecar"  # sidecar | filename | prompt:TEXT
    rank: int = 16
    alpha: float = 16.0
    steps: int = 1500
    lr: float = 1e-4
    resolution: int = 1024
    batch_size: int = 1
    seed: int = 0
    precision: str = "bf16"  # bf16 | fp16 | fp32 on a GPU; a CPU always trains in fp32
    gradient_checkpointing: bool = False
    flip: bool = True  # horizontal flips, the only augmentation besides nearest-neighbour scaling
    # Not part of the LoRA's bytes, so not part of its key:
    checkpoint_every: int = 100
    validation_prompts: tuple[str, ...] = ()  # empty: the captions of the first four images
    validation_steps: int = 20
    validation_every: int = 0  # also validate every N steps (0: only at the end)
    quality: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class LoraSpec:
    name: str
    kind: Literal["file", "hub", "trained"]
    source: str  # absolute path, repo id, or (trained) the dataset folder
    weight_name: str | None = None
    revision: str | None = None
    sha256: str | None = None
    allow_pickle: bool = False
    license: str | None = None
    train: TrainSpec | None = None


@dataclass(frozen=True)
class PaletteSpec:
    name: str
    kind: Literal["builtin", "colors", "file", "auto"]
    colors: tuple[str, ...] = ()  # "#rrggbb", lowercase; filled for builtin/colors/file
    path: str | None = None
    auto_colors: int | None = None
    shared: bool = False


@dataclass(frozen=True)
class RenderSettings:
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance: float = 7.0
    scheduler: str = "euler"


@dataclass(frozen=True)
class LoraUse:
    name: str
    weight: float = 1.0


@dataclass(frozen=True)
class ControlNetSpec:
    """A ControlNet model, declared under ``controlnets:`` like a LoRA."""

    name: str
    kind: Literal["builtin", "hub", "diffusers_dir"]
    source: str  # builtin name, repo id, or absolute folder path
    revision: str | None = None
    subfolder: str | None = None
    variant: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class AdapterSpec:
    """An IP-Adapter and its CLIP vision encoder, declared under ``adapters:``."""

    name: str
    kind: Literal["builtin", "hub", "diffusers_dir"]
    source: str  # builtin name, repo id, or absolute folder path
    revision: str | None = None
    subfolder: str | None = None
    weight_name: str = "ip-adapter.safetensors"
    image_encoder_folder: str = "image_encoder"
    license: str | None = None


@dataclass(frozen=True)
class ConditionImage:
    """An image a render is conditioned on.

    ``file``: an image file (absolute path); ``asset``: another image's raw
    render, ``source`` being ``ASSET/IMAGE``; ``pose``: a pose of the built-in
    library, ``CYCLE/FACING/FRAME``; ``pose_file``: an OpenPose JSON file.
    """

    kind: Literal["file", "asset", "pose", "pose_file"]
    source: str
    written: str = ""  # as the manifest wrote it, for messages


@dataclass(frozen=True)
class InitImage:
    """img2img (and, with a mask, inpainting) from an image."""

    image: ConditionImage
    strength: float = 0.6
    mask: ConditionImage | None = None


@dataclass(frozen=True)
class ControlUse:
    model: str  # a name under ``controlnets:``
    image: ConditionImage
    scale: float = 1.0
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class StyleUse:
    """IP-Adapter image prompt: reference images and how strongly they steer."""

    adapter: str  # a name under ``adapters:``
    images: tuple[ConditionImage, ...]
    scale: float = 0.6


@dataclass(frozen=True)
class ImageSpec:
    """One generated image: a sprite variant, a tile or a UI element."""

    name: str
    prompt: str  # fully templated, prefix and suffix included
    negative: str
    seed: int
    size: tuple[int, int]
    border: tuple[int, int, int, int] | None = None
    reference: str | None = None  # absolute path of an image to compare with
    init: InitImage | None = None
    control: tuple[ControlUse, ...] = ()
    pose: ConditionImage | None = None  # the pose a frame is drawn in (shown beside it in the report)
    style: StyleUse | None = None

    @property
    def condition_files(self) -> tuple[str, ...]:
        """Absolute paths of the files this image's render is conditioned on (images and pose JSON)."""
        sources = [self.init.image, self.init.mask] if self.init else []
        sources += [use.image for use in self.control]
        sources += list(self.style.images) if self.style else []
        return tuple(dict.fromkeys(s.source for s in sources if s is not None and s.kind in ("file", "pose_file")))

    @property
    def upstream(self) -> tuple[str, ...]:
        """``ASSET/IMAGE`` of every image this one's render is conditioned on."""
        sources = [self.init.image, self.init.mask] if self.init else []
        sources += [use.image for use in self.control]
        sources += list(self.style.images) if self.style else []
        return tuple(dict.fromkeys(s.source for s in sources if s is not None and s.kind == "asset"))


@dataclass(frozen=True)
class ClipSpec:
    """An animation clip: the names of its frame images, in order."""

    name: str
    frames: tuple[str, ...]
    duration_ms: int = 100
    direction: str = "forward"


@dataclass(frozen=True)
class SheetSettings:
    layout: str = "grid"
    columns: int | None = None
    padding: int = 1
    extrude: int = 0


@dataclass(frozen=True)
class TerrainSpec:
    types: tuple[str, ...]
    mode: str = "corner16"
    name: str = "terrain"


@dataclass(frozen=True)
class Asset:
    id: str
    kind: AssetKind
    images: tuple[ImageSpec, ...]
    model: str
    loras: tuple[LoraUse, ...]
    palette: str | None
    background: str
    render: RenderSettings
    pixelart: PixelArtOptions
    seamless: bool = False
    quality: tuple[tuple[str, float], ...] = ()
    clips: tuple[ClipSpec, ...] = ()
    sheet: SheetSettings = SheetSettings()
    terrain: TerrainSpec | None = None
    # Cosmetic: never part of a key.
    description: str = ""
    tags: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    models: dict[str, ModelSpec]
    loras: dict[str, LoraSpec]
    palettes: dict[str, PaletteSpec]
    assets: tuple[Asset, ...]
    version: int = MANIFEST_VERSION
    description: str = ""
    deploy_dir: Path | None = None
    overrides_dir: str | None = None  # hand touch-ups kept in the repo, relative to the manifest (pixelgen.core.overrides)
    controlnets: dict[str, ControlNetSpec] = field(default_factory=dict)
    adapters: dict[str, AdapterSpec] = field(default_factory=dict)
    raw_sha256: str = field(default="", compare=False)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.lock.json")

    def asset(self, asset_id: str) -> Asset:
        for asset in self.assets:
            if asset.id == asset_id:
                return asset
        raise KeyError(asset_id)
