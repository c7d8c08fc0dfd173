"""YAML + JSON Schema → a frozen ``Manifest``, or every problem at once.

Order: read YAML (syntax, aliases, duplicate keys) → check ``version`` →
validate against ``manifest.v1.json`` (all violations) → semantic checks the
schema cannot express (references, reserved names, template variables,
duplicate ids after matrix expansion, palette files, model/LoRA files) →
expansion into dataclasses. Each stage reports all its problems before the
load stops, and nothing is ever written.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import stat
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pixelgen.errors import InputError, ManifestError, Problem, translate_os_errors
from pixelgen.files.fsutil import (
    read_regular_file,
    regular_file_problem,
    write_bytes_inside,
)
from pixelgen.files.hashing import sha256_bytes
from pixelgen.files.limits import Limits, input_image_problem, matrix_combinations
from pixelgen.files.paths import RESERVED_NAMES, portable_key, portable_name_problem
from pixelgen.manifest.model import (
    MANIFEST_VERSION,
    AdapterSpec,
    Asset,
    ClipSpec,
    ConditionImage,
    ControlNetSpec,
    ControlUse,
    ImageSpec,
    InitImage,
    LoraSpec,
    LoraUse,
    Manifest,
    ModelSpec,
    PaletteSpec,
    RenderSettings,
    SheetSettings,
    StyleUse,
    TerrainSpec,
    TrainSpec,
)
from pixelgen.manifest.yamlread import (
    Located,
    YamlProblem,
    escape_pointer_token,
    load_located,
)
from pixelgen.pixelart.options import PixelArtOptions

MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_PALETTE_FILE_BYTES = 1024 * 1024  # a text palette of 256 colours is a few KB
MAX_ASSETS_AFTER_EXPANSION = 100_000
_RESERVED = RESERVED_NAMES  # Windows refuses these as file names whatever the extension
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SAFE_NAME_FIX = "use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit (no '/', '..' or spaces)"
_TEMPLATE_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MERGED_MAPPINGS = ("render", "pixelart", "quality", "vars")


@lru_cache(maxsize=1)
def manifest_schema_text() -> str:
    return resources.files("pixelgen").joinpath("schemas/manifest.v1.json").read_text("utf-8")


def manifest_schema() -> dict[str, Any]:
    return json.loads(manifest_schema_text())


@translate_os_errors("read")
def load_manifest(path: str | Path, *, validation_memo: Path | None = None) -> Manifest:
    """Load, validate and expand a manifest; raise ``ManifestError`` with every problem.

    ``validation_memo`` is a folder where the digests of manifests that passed
    schema validation are remembered: importing jsonschema costs ~1 s, which a
    no-op build of an unchanged manifest should not pay.
    """
    path = Path(path)
    shown = str(path)
    problem = regular_file_problem(path)
    if problem == "does not exist":
        raise InputError(f"{shown}: no such manifest file")
    if problem:
        raise InputError(f"{shown}: the manifest {problem}; pass a YAML file")
    try:
        raw = read_regular_file(path, max_bytes=MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such manifest file") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the manifest: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(shown, f"byte {exc.start}", "the file is not UTF-8 text", "save it as UTF-8")]) from None
    try:
        located = load_located(text)
    except YamlProblem as exc:
        where = str(exc.line) if exc.line else "1"
        raise ManifestError([Problem(shown, where, exc.message, exc.fix)]) from None

    checker = _Checker(shown, located)
    data = located.data
    if not isinstance(data, dict):
        raise ManifestError([checker.problem("", "the manifest must be a YAML mapping (key: value lines)", "start with `version: 1`")])
    _check_version(checker, data)
    checker.raise_if_any()
    digest = sha256_bytes(raw)
    memo = _memo_path(validation_memo, digest) if validation_memo else None
    if not _memo_valid(memo):
        _check_schema(checker, data)
        checker.raise_if_any()
    manifest = _Expander(checker, path, data).expand()
    checker.raise_if_any()
    return dataclasses.replace(manifest, raw_sha256=digest)


def _memo_path(memo_dir: Path, manifest_digest: str) -> Path | None:
    """Where the memo of these manifest bytes would be; None when memos cannot be authenticated.

    The memo's name is a MAC (keyed per cache, with a key kept outside every
    cache) of the schema digest, the manifest digest and pixelgen's version:
    a file someone else put in a shared cache cannot carry a valid name, so
    nothing in the cache can make a build skip validation.
    """
    from pixelgen import __version__
    from pixelgen.files.hashing import hmac_sha256
    from pixelgen.files.trust import cache_key

    key = cache_key(memo_dir.parent)
    if key is None:
        return None
    schema_digest = sha256_bytes(manifest_schema_text().encode())
    name = hmac_sha256(key, {"schema": schema_digest, "manifest": manifest_digest, "pixelgen": __version__})
    return memo_dir / name


def _memo_valid(memo: Path | None) -> bool:
    if memo is None:
        return False
    try:
        info = os.stat(memo, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode)


def remember_validated(memo_dir: Path, manifest: Manifest) -> None:
    """Record that these manifest bytes passed validation (called once the whole load succeeded)."""
    memo = _memo_path(memo_dir, manifest.raw_sha256)
    if memo is not None and not _memo_valid(memo):
        try:
            write_bytes_inside(memo_dir.parent, memo, b"")
        except OSError:
            pass  # the memo is an optimisation only


class _Checker:
    def __init__(self, file: str, located: Located) -> None:
        self.file = file
        self.located = located
        self.problems: list[Problem] = []

    def where(self, pointer: str) -> str:
        line = self.located.line_of(pointer)
        shown = pointer or "/"
        return f"{line}: at {shown}" if line else f"at {shown}"

    def problem(self, pointer: str, message: str, fix: str | None = None) -> Problem:
        return Problem(self.file, self.where(pointer), message, fix)

    def add(self, pointer: str, message: str, fix: str | None = None) -> None:
        problem = self.problem(pointer, message, fix)
        if problem not in self.problems:  # a template shared by many frames reports once
            self.problems.append(problem)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ManifestError(self.problems)


def _check_version(checker: _Checker, data: dict[str, Any]) -> None:
    if "version" not in data:
        checker.add("", "missing `version`", f"add `version: {MANIFEST_VERSION}` at the top of the manifest")
    elif data["version"] != MANIFEST_VERSION or not isinstance(data["version"], int) or isinstance(data["version"], bool):
        checker.add(
            "/version",
            f"unsupported manifest version {data['version']!r}: this pixelgen reads version {MANIFEST_VERSION}",
            f"set `version: {MANIFEST_VERSION}`, or upgrade pixelgen if the manifest is newer",
        )


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{escape_pointer_token(p)}" for p in path)


def _strict_validator_class() -> Any:
    """Draft 2020-12 where ``integer`` means an int: ``7.0`` is refused, not silently taken as 7."""
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return validators.extend(Draft202012Validator, type_checker=checker)


def _check_schema(checker: _Checker, data: dict[str, Any]) -> None:
    validator = _strict_validator_class()(manifest_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: ([str(p) for p in e.absolute_path], e.validator or ""))
    seen: set[tuple[str, str]] = set()
    for error in errors:
        pointer, message, fix = _describe_schema_error(error, data)
        if not message:
            continue
        if (pointer, message) not in seen:
            seen.add((pointer, message))
            checker.add(pointer, message, fix)


def _describe_schema_error(error: Any, root: Any) -> tuple[str, str, str | None]:
    pointer = _pointer(error.absolute_path)
    value = error.instance
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind in ("additionalProperties", "unevaluatedProperties"):
        known = _declared_properties(schema)
        unexpected = [k for k in value if k not in known] if isinstance(value, dict) else []
        match = re.findall(r"'([^']+)'", error.message)
        names = [n for n in match if isinstance(value, dict) and n in value and n not in known] or unexpected
        if kind == "unevaluatedProperties" and not names:
            # Keys a failing subschema declared count as "unevaluated": the real
            # problem is reported by that subschema's own error.
            return "", "", None
        name = names[0] if names else "?"
        return (
            f"{pointer}/{escape_pointer_token(name)}",
            f"unknown key {name!r}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else ""),
            "check the spelling, or remove it; `pixelgen schema` lists every key",
        )
    if kind is None or kind == "false" or error.message.startswith("False schema"):
        # jsonschema reports a `false` property schema at the parent's path:
        # find the key whose value is the refused instance.
        parent: Any = root
        for step in error.absolute_path:
            parent = parent[step]
        keys = [k for k, v in parent.items() if v is error.instance] if isinstance(parent, dict) else []
        key = keys[0] if keys else "?"
        pointer = _pointer([*error.absolute_path, key]) if keys else pointer
        return pointer, f"key {key!r} is not allowed for this asset kind", "remove it, or change `kind`"
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        return pointer, f"missing required key {name!r}", f"add `{name}:`"
    if kind == "oneOf" and isinstance(value, dict):
        options = [s.get("required", [None])[0] for s in schema.get("oneOf", []) if isinstance(s, dict)]
        options = [o for o in options if o]
        present = [o for o in options if o in value]
        if options:
            if len(present) > 1:
                return pointer, f"has both {' and '.join(map(repr, present))}", f"keep exactly one of: {', '.join(options)}"
            if not present:
                return pointer, f"needs one of: {', '.join(options)}", f"add one of: {', '.join(options)}"
        if error.context:
            from jsonschema.exceptions import best_match

            same_type = [e for e in error.context if _branch_accepts_type(error.validator_value, e, value)]
            return _describe_schema_error(best_match(same_type or error.context), root)
    if kind == "oneOf" and error.context:
        from jsonschema.exceptions import best_match

        # Explain the branch meant for this kind of value (a mapping variant
        # is not "should be of type integer"), when one matches its type.
        same_type = [e for e in error.context if _branch_accepts_type(error.validator_value, e, value)]
        return _describe_schema_error(best_match(same_type or error.context), root)
    if kind == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return pointer, f"{value!r} is not one of: {allowed}", f"use one of: {allowed}"
    if kind == "pattern" and error.validator_value == _SAFE_NAME.pattern:
        return pointer, f"{value!r} is not a safe name", _SAFE_NAME_FIX
    if kind == "pattern":
        return pointer, f"{value!r} does not have the expected form ({error.validator_value})", None
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        article = "an" if str(expected)[:1] in "aeiou" else "a"
        return pointer, f"{value!r} should be of type {expected}", f"write {article} {expected} here"
    if kind in ("minimum", "exclusiveMinimum"):
        return pointer, f"{value!r} is too small (minimum {error.validator_value})", f"use a value ≥ {error.validator_value}"
    if kind in ("maximum", "exclusiveMaximum"):
        return pointer, f"{value!r} is too large (maximum {error.validator_value})", f"use a value ≤ {error.validator_value}"
    if kind == "multipleOf":
        return pointer, f"{value!r} is not a multiple of {error.validator_value}", f"use a multiple of {error.validator_value}"
    if kind in ("minItems", "maxItems", "items", "prefixItems"):
        return pointer, f"wrong number of items: {error.message}", None
    return pointer, error.message, None


def _declared_properties(schema: dict[str, Any]) -> set[str]:
    """Property names a schema declares itself or through ``allOf``/``$ref`` (one level of each)."""
    names = set(schema.get("properties", {}))
    definitions = manifest_schema().get("$defs", {})
    for part in schema.get("allOf", []):
        if isinstance(part, dict):
            target = definitions.get(part.get("$ref", "").rsplit("/", 1)[-1], part) if "$ref" in part else part
            names |= set(target.get("properties", {}))
    return names


def _branch_accepts_type(branches: Any, error: Any, value: Any) -> bool:
    if not error.relative_schema_path or not isinstance(branches, list):
        return False
    index = error.relative_schema_path[0]
    branch = branches[index] if isinstance(index, int) and index < len(branches) else {}
    if "$ref" in branch:
        branch = manifest_schema().get("$defs", {}).get(branch["$ref"].rsplit("/", 1)[-1], {})
    expected = branch.get("type")
    if expected is None:
        return False
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}
    types = expected if isinstance(expected, list) else [expected]
    return any(isinstance(value, kinds.get(t, ())) for t in types)


class _Expander:
    """Semantic checks and expansion of a schema-valid manifest."""

    def __init__(self, checker: _Checker, path: Path, data: dict[str, Any]) -> None:
        self.checker = checker
        self.path = path
        self.base = path.parent
        self.data = data
        self.limits = Limits.from_manifest(data.get("limits"))

    def expand(self) -> Manifest:
        data = self.data
        self._check_safe(data["name"], "/name")
        models = {name: self._model(name, spec) for name, spec in data["models"].items()}
        loras = {name: self._lora(name, spec) for name, spec in data.get("loras", {}).items()}
        palettes = {name: self._palette(name, spec) for name, spec in data.get("palettes", {}).items()}
        self.controlnets = {name: self._controlnet(name, spec) for name, spec in data.get("controlnets", {}).items()}
        self.adapters = {name: self._adapter(name, spec) for name, spec in data.get("adapters", {}).items()}
        self.asset_references: list[tuple[str, str, ConditionImage, str]] = []  # (asset, image, reference, pointer)
        defaults = data.get("defaults", {})
        self._check_refs(defaults, "/defaults", models, loras, palettes, asset_level=False)
        if not self._within_limits(data["assets"], defaults):
            self.checker.raise_if_any()
        assets: list[Asset] = []
        first_seen: dict[str, str] = {}
        first_portable: dict[str, str] = {}
        for index, raw_asset in enumerate(data["assets"]):
            pointer = f"/assets/{index}"
            self._check_refs(raw_asset, pointer, models, loras, palettes, asset_level=True)
            for asset in self._asset(raw_asset, defaults, pointer, models):
                if asset.id in first_seen:
                    self.checker.add(
                        pointer + "/id",
                        f"duplicate asset id {asset.id!r} (first defined at {first_seen[asset.id]})",
                        "give every asset (and every matrix combination) a unique id",
                    )
                elif portable_key(asset.id) in first_portable:
                    self.checker.add(
                        pointer + "/id",
                        f"asset id {asset.id!r} names the same folder as {first_portable[portable_key(asset.id)]!r} on Windows and macOS "
                        "(names differing only in case or a trailing '.' collide there)",
                        "make the ids differ by more than case or a trailing dot",
                    )
                else:
                    first_seen[asset.id] = self.checker.where(pointer)
                    first_portable[portable_key(asset.id)] = asset.id
                assets.append(asset)
            if len(assets) > MAX_ASSETS_AFTER_EXPANSION:
                self.checker.add(pointer + "/matrix", f"the manifest expands to more than {MAX_ASSETS_AFTER_EXPANSION} assets", "use smaller matrices")
                break
        if self.asset_references:
            from pixelgen.manifest.conditioning import link_asset_references

            assets = link_asset_references(assets, self.asset_references, self.checker)
        return Manifest(
            path=self.path,
            name=data["name"],
            models=models,
            loras=loras,
            palettes=palettes,
            assets=tuple(assets),
            description=data.get("description", ""),
            deploy_dir=self._local(data["deploy"]["dir"]) if "deploy" in data else None,
            overrides_dir=data["overrides"]["dir"].rstrip("/") if "overrides" in data else None,
            controlnets=self.controlnets,
            adapters=self.adapters,
        )

    # -- names and references -------------------------------------------------
    def _check_safe(self, name: str, pointer: str) -> None:
        # The schema checks this too; checked again here because a name becomes a path.
        if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
            self.checker.add(pointer, f"{name!r} is not a safe name", _SAFE_NAME_FIX)
            return
        problem = portable_name_problem(name)
        if problem:
            self.checker.add(pointer, problem, "choose another name")

    def _check_portable_collisions(self, names: list[str], pointer: str, what: str) -> None:
        """Names that differ only in case or a trailing dot are one file on Windows and macOS."""
        seen: dict[str, str] = {}
        for name in names:
            other = seen.setdefault(portable_key(name), name)
            if other != name:
                self.checker.add(pointer, f"{what} names {other!r} and {name!r} are the same file on Windows and macOS",
                                 "make the names differ by more than case or a trailing dot")

    def _within_limits(self, raw_assets: list[dict[str, Any]], defaults: dict[str, Any]) -> bool:
        """Count what the assets would expand to, before expanding anything; False (with problems) if over a limit."""
        limits = self.limits
        total = 0
        within = True
        for index, raw in enumerate(raw_assets):
            pointer = f"/assets/{index}"
            combos = matrix_combinations(raw.get("matrix", {}))
            if combos > limits.max_matrix_combinations:
                self.checker.add(pointer + "/matrix", f"the matrix multiplies out to {combos} combinations, more than the {limits.max_matrix_combinations} allowed",
                                 "use fewer matrix values, or raise `limits.max_matrix_combinations`")
                within = False
                continue
            frames = sum(clip.get("frames", 1) for clip in raw.get("animations", [])) * _facing_count(raw.get("directions")) if raw.get("animations") else 0
            if frames > limits.max_frames_per_sprite:
                self.checker.add(pointer + "/animations", f"the animations have {frames} frames (frames × directions), more than the {limits.max_frames_per_sprite} allowed",
                                 "use fewer or shorter clips, or raise `limits.max_frames_per_sprite`")
                within = False
            images = frames or len(raw.get("tiles") or raw.get("elements") or raw.get("variants") or [None])
            total += combos * images
        if total > limits.max_images:
            self.checker.add("/assets", f"the manifest expands to {total} images, more than the {limits.max_images} allowed",
                             "split the manifest, or raise `limits.max_images`")
            within = False
        return within

    def _check_refs(self, settings: dict[str, Any], pointer: str, models: dict, loras: dict, palettes: dict, *, asset_level: bool) -> None:
        if "model" in settings and settings["model"] not in models:
            self.checker.add(pointer + "/model", f"undefined model {settings['model']!r}", f"define it under `models:` or use one of: {', '.join(models)}")
        if "palette" in settings and settings["palette"] not in palettes:
            known = ", ".join(palettes) or "(none defined)"
            self.checker.add(pointer + "/palette", f"undefined palette {settings['palette']!r}", f"define it under `palettes:` or use one of: {known}")
        for index, use in enumerate(settings.get("loras", [])):
            if use["name"] not in loras:
                known = ", ".join(loras) or "(none defined)"
                self.checker.add(f"{pointer}/loras/{index}/name", f"undefined LoRA {use['name']!r}", f"define it under `loras:` or use one of: {known}")
        if asset_level:
            self._check_safe(settings["id"], pointer + "/id")

    # -- models, LoRAs, palettes --------------------------------------------
    def _local(self, relative: str) -> Path:
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else (self.base / candidate).resolve()

    def _model(self, name: str, spec: dict[str, Any]) -> ModelSpec:
        pointer = f"/models/{escape_pointer_token(name)}"
        self._check_safe(name, pointer)
        common = dict(
            name=name,
            revision=spec.get("revision"),
            sha256=spec.get("sha256"),
            variant=spec.get("variant"),
            allow_pickle=spec.get("allow_pickle", False),
            license=spec.get("license"),
        )
        if "builtin" in spec:
            return ModelSpec(kind="builtin", source=spec["builtin"], **common)
        if "repo" in spec:
            return ModelSpec(kind="hub", source=spec["repo"], **common)
        path = self._local(spec["path"])
        config = spec.get("config")
        if config and not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", config):
            config = str(self._local(config))
        if path.is_dir():
            return ModelSpec(kind="diffusers_dir", source=str(path), config=config, **common)
        if not path.exists():
            self.checker.add(pointer + "/path", f"model file {spec['path']!r} does not exist (looked for {path})", "fix the path (relative to the manifest) or download the weights")
        elif not self._weights_allowed(path, spec, pointer + "/path"):
            pass
        return ModelSpec(kind="single_file", source=str(path), config=config, **common)

    def _weights_allowed(self, path: Path, spec: dict[str, Any], pointer: str) -> bool:
        if path.suffix.lower() in (".bin", ".ckpt", ".pt", ".pth", ".pkl") and not spec.get("allow_pickle", False):
            self.checker.add(
                pointer,
                f"{path.name} is a pickle file: loading it can execute arbitrary code",
                "use a .safetensors file, or set `allow_pickle: true` if you trust its source",
            )
            return False
        return True

    def _lora(self, name: str, spec: dict[str, Any]) -> LoraSpec:
        pointer = f"/loras/{escape_pointer_token(name)}"
        self._check_safe(name, pointer)
        common = dict(name=name, sha256=spec.get("sha256"), allow_pickle=spec.get("allow_pickle", False), license=spec.get("license"))
        if "train" in spec:
            return self._trained_lora(name, spec["train"], pointer + "/train", common)
        if "repo" in spec:
            weight = spec["weight_name"]
            self._weights_allowed(Path(weight), spec, pointer + "/weight_name")
            return LoraSpec(kind="hub", source=spec["repo"], weight_name=weight, revision=spec.get("revision"), **common)
        path = self._local(spec["path"])
        if not path.is_file():
            self.checker.add(pointer + "/path", f"LoRA file {spec['path']!r} does not exist (looked for {path})", "fix the path (relative to the manifest)")
        else:
            self._weights_allowed(path, spec, pointer + "/path")
        return LoraSpec(kind="file", source=str(path), weight_name=spec.get("weight_name"), **common)

    def _trained_lora(self, name: str, train: dict[str, Any], pointer: str, common: dict[str, Any]) -> LoraSpec:
        folder = self._local(train["images"])
        if not folder.is_dir():
            self.checker.add(pointer + "/images", f"dataset folder {train['images']!r} does not exist (looked for {folder})",
                             "fix the path (relative to the manifest) of the folder of training images")
        if train["base"] not in self.data["models"]:
            self.checker.add(pointer + "/base", f"undefined model {train['base']!r}",
                             f"train on a model defined under `models:`: {', '.join(self.data['models'])}")
        validation = train.get("validation", {})
        settings = TrainSpec(
            images=str(folder),
            base=train["base"],
            validation_prompts=tuple(validation.get("prompts", ())),
            quality=tuple(sorted((gate, float(value)) for gate, value in train.get("quality", {}).items())),
            **{key: train[key] for key in ("captions", "rank", "alpha", "steps", "lr", "resolution", "batch_size", "seed", "precision",
                                           "gradient_checkpointing", "flip", "checkpoint_every") if key in train},
            **({"validation_steps": validation["steps"]} if "steps" in validation else {}),
            **({"validation_every": validation["every"]} if "every" in validation else {}),
        )
        return LoraSpec(kind="trained", source=str(folder), train=settings, **common)

    def _palette(self, name: str, spec: dict[str, Any]) -> PaletteSpec:
        from pixelgen.pixelart import palette as palettes

        pointer = f"/palettes/{escape_pointer_token(name)}"
        self._check_safe(name, pointer)
        shared = spec.get("shared", False)
        if "auto" in spec:
            return PaletteSpec(name=name, kind="auto", auto_colors=spec["auto"], shared=shared)
        if "colors" in spec:
            colors = tuple("#" + c.lstrip("#").lower() for c in spec["colors"])
            return PaletteSpec(name=name, kind="colors", colors=colors, shared=shared)
        if "builtin" in spec:
            try:
                array = palettes.builtin_palette(spec["builtin"])
            except (KeyError, ValueError):
                known = ", ".join(palettes.builtin_palette_names())
                self.checker.add(pointer + "/builtin", f"unknown built-in palette {spec['builtin']!r}", f"use one of: {known}")
                return PaletteSpec(name=name, kind="builtin", shared=shared)
            return PaletteSpec(name=name, kind="builtin", colors=tuple(palettes.palette_to_hex(array)), path=spec["builtin"], shared=shared)
        path = self._local(spec["path"])
        problem = regular_file_problem(path)
        if problem is None and path.suffix.lower() == ".png":
            problem = input_image_problem(path, self.limits.max_input_pixels)
        elif problem is None and path.stat().st_size > MAX_PALETTE_FILE_BYTES:
            problem = f"is {path.stat().st_size} bytes, more than the {MAX_PALETTE_FILE_BYTES} a palette file may have"
        if problem and problem != "does not exist":
            self.checker.add(pointer + "/path", f"palette file {spec['path']!r} {problem}", "use a .hex, .gpl, .pal or .png palette file")
            return PaletteSpec(name=name, kind="file", path=str(path), shared=shared)
        try:
            array = palettes.load_palette_file(path)
        except FileNotFoundError:
            self.checker.add(pointer + "/path", f"palette file {spec['path']!r} does not exist (looked for {path})", "fix the path (relative to the manifest)")
            return PaletteSpec(name=name, kind="file", path=str(path), shared=shared)
        except ValueError as exc:
            self.checker.add(pointer + "/path", f"palette file {spec['path']!r} does not parse: {exc}", "use a .hex, .gpl, .pal or .png palette file")
            return PaletteSpec(name=name, kind="file", path=str(path), shared=shared)
        if len(array) > self.limits.max_palette_colors:
            self.checker.add(pointer + "/path", f"palette file {spec['path']!r} has {len(array)} colours, more than the {self.limits.max_palette_colors} allowed",
                             "use a smaller palette, or raise `limits.max_palette_colors`")
        return PaletteSpec(name=name, kind="file", colors=tuple(palettes.palette_to_hex(array)), path=str(path), shared=shared)

    # -- assets ----------------------------------------------------------------
    def _asset(self, raw: dict[str, Any], defaults: dict[str, Any], pointer: str, models: dict[str, ModelSpec]) -> list[Asset]:
        merged: dict[str, Any] = {**defaults, **raw}
        for key in _MERGED_MAPPINGS:
            merged[key] = {**defaults.get(key, {}), **raw.get(key, {})}
        if "size" not in merged and raw["kind"] == "ui" and all("size" in e for e in raw.get("elements", [])):
            merged["size"] = raw["elements"][0]["size"]  # every element has its own size
        if "size" not in merged:
            self.checker.add(pointer, f"asset {raw['id']!r} has no `size`", "add `size: [w, h]` to the asset or to `defaults`")
            return []
        if "model" not in merged:
            if len(models) == 1:
                merged["model"] = next(iter(models))
            else:
                self.checker.add(pointer, f"asset {raw['id']!r} names no model and the manifest defines several", "set `model:` on the asset or in `defaults`")
                return []
        matrix: dict[str, list[Any]] = raw.get("matrix", {})
        combos = list(itertools.product(*matrix.values())) if matrix else [()]
        assets = []
        for combo in combos:
            variables = {**merged["vars"], **dict(zip(matrix, combo))}
            asset_id = raw["id"] + "".join("-" + _slug(value) for value in combo)
            assets.append(self._one_asset(asset_id, merged, variables, pointer))
        return assets

    def _one_asset(self, asset_id: str, merged: dict[str, Any], variables: dict[str, Any], pointer: str) -> Asset:
        render = RenderSettings(**merged["render"])
        pixel_steps = render.width * render.height * render.steps
        if pixel_steps > self.limits.max_render_pixel_steps:
            self.checker.add(
                pointer + "/render",
                f"a {render.width}x{render.height} render at {render.steps} steps is {pixel_steps} pixel-steps, more than the {self.limits.max_render_pixel_steps} allowed",
                "render smaller or with fewer steps, or raise `limits.max_render_pixel_steps`",
            )
        try:
            pixelart = PixelArtOptions(**merged["pixelart"])
        except (TypeError, ValueError) as exc:
            self.checker.add(pointer + "/pixelart", str(exc), "see docs/manifest.md#pixelart for the allowed values")
            pixelart = PixelArtOptions()
        kind = merged["kind"]
        asset_size = tuple(merged["size"])
        seed = merged.get("seed", 0)
        negative_default = merged.get("negative", "")
        images: list[ImageSpec] = []
        clips: list[ClipSpec] = []
        if kind == "sprite" and merged.get("animations"):
            images, clips = self._frames(merged, variables, pointer, seed, negative_default, asset_size, asset_id)
        elif kind == "sprite":
            variants = merged.get("variants") or [{"name": "default", "seed": seed}]
            for index, variant in enumerate(variants):
                if isinstance(variant, int):
                    variant = {"name": f"seed{variant}", "seed": variant}
                self._check_safe(variant["name"], f"{pointer}/variants/{index}")
                images.append(
                    ImageSpec(
                        name=variant["name"],
                        prompt=self._prompt(merged, merged["prompt"], variables, pointer + "/prompt"),
                        negative=self._template(negative_default, variables, pointer + "/negative"),
                        seed=variant["seed"],
                        size=asset_size,
                        reference=self._reference(merged.get("reference"), pointer + "/reference"),
                        **self._conditioning(merged, {**variables, "name": variant["name"]}, pointer, asset_id, variant["name"]),
                    )
                )
        else:
            key = "tiles" if kind == "tileset" else "elements"
            for index, item in enumerate(merged[key]):
                item_pointer = f"{pointer}/{key}/{index}"
                self._check_safe(item["name"], item_pointer + "/name")
                item_vars = {**variables, **item.get("vars", {}), "name": item["name"]}
                template = item.get("prompt") or merged.get("prompt")
                if template is None:
                    self.checker.add(item_pointer, f"{item['name']!r} has no prompt and the asset has none", "add `prompt:` to the item or the asset")
                    continue
                size = tuple(item.get("size", asset_size))
                if kind == "tileset" and "size" in item:
                    self.checker.add(item_pointer + "/size", "tiles of a tileset share the asset's `size`", "remove the tile's `size`")
                border = tuple(item["border"]) if "border" in item else None
                if border is not None and kind != "ui":
                    self.checker.add(item_pointer + "/border", "`border` (9-slice) is only for UI elements", "remove it")
                if border is not None and (border[0] + border[2] >= size[0] or border[1] + border[3] >= size[1]):
                    self.checker.add(
                        item_pointer + "/border",
                        f"9-slice border {list(border)} leaves no centre in a {size[0]}x{size[1]} element",
                        "make left+right smaller than the width and top+bottom smaller than the height",
                    )
                images.append(
                    ImageSpec(
                        name=item["name"],
                        prompt=self._prompt(merged, template, item_vars, item_pointer + "/prompt"),
                        negative=self._template(item.get("negative", negative_default), item_vars, item_pointer + "/negative"),
                        seed=item.get("seed", seed),
                        size=size,
                        border=border,
                        reference=self._reference(item.get("reference"), item_pointer + "/reference"),
                        **self._conditioning(merged, item_vars, pointer, asset_id, item["name"]),
                    )
                )
        terrain = None
        if kind == "tileset" and "terrain" in merged:
            raw_terrain = merged["terrain"]
            tile_names = [image.name for image in images]
            for index, terrain_type in enumerate(raw_terrain["types"]):
                if terrain_type not in tile_names:
                    self.checker.add(f"{pointer}/terrain/types/{index}", f"terrain {terrain_type!r} is not a tile of this tileset", f"use one of: {', '.join(tile_names)}")
            if len(set(raw_terrain["types"])) != len(raw_terrain["types"]):
                self.checker.add(f"{pointer}/terrain/types", "a terrain type is listed twice", "list each tile once")
            if raw_terrain.get("mode") == "blob47" and len(raw_terrain["types"]) != 2:
                self.checker.add(f"{pointer}/terrain/types", "the blob47 set is made between exactly two terrains", "list two tiles, or use mode: corner16")
            if asset_size[0] != asset_size[1]:
                self.checker.add(pointer + "/size", "terrain transition tiles must be square", "use a square `size`")
            terrain = TerrainSpec(types=tuple(raw_terrain["types"]), mode=raw_terrain.get("mode", "corner16"), name=raw_terrain.get("name", "terrain"))
        names = [image.name for image in images]
        for name in {n for n in names if names.count(n) > 1}:
            self.checker.add(pointer, f"asset {asset_id!r} has two images named {name!r}", "give every variant, tile or element a unique name")
        self._check_portable_collisions(names, pointer, f"asset {asset_id!r}: image")
        for index, clip in enumerate(merged.get("animations", []) if kind == "sprite" else []):
            self._check_safe(clip["name"], f"{pointer}/animations/{index}/name")
        self._check_portable_collisions([clip.name for clip in clips], pointer + "/animations", f"asset {asset_id!r}: clip")
        for image in images:
            if image.size[0] > render.width or image.size[1] > render.height:
                self.checker.add(
                    pointer + "/size",
                    f"size {list(image.size)} is larger than the render size {render.width}x{render.height}",
                    "raise `render.width/height` or lower `size`",
                )
                break
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", asset_id):
            self.checker.add(pointer + "/matrix", f"matrix expansion gives an unsafe id {asset_id!r}", "use matrix values made of letters, digits, '.', '_' and '-'")
        elif portable_name_problem(asset_id):
            self.checker.add(pointer + "/id", str(portable_name_problem(asset_id)), "choose another name")
        return Asset(
            id=asset_id,
            kind=kind,
            images=tuple(images),
            model=merged["model"],
            loras=tuple(LoraUse(use["name"], float(use.get("weight", 1.0))) for use in merged.get("loras", [])),
            palette=merged.get("palette"),
            background=merged.get("background", "transparent" if kind == "sprite" else "keep"),
            render=render,
            pixelart=pixelart,
            seamless=bool(merged.get("seamless", False)),
            quality=tuple(sorted(merged["quality"].items())),
            clips=tuple(clips),
            sheet=SheetSettings(**merged.get("sheet", {})),
            terrain=terrain,
            description=merged.get("description", ""),
            tags=tuple(merged.get("tags", ())),
            line=self.checker.located.line_of(pointer),
        )

    _FACINGS = {4: ("n", "e", "s", "w"), 8: ("n", "ne", "e", "se", "s", "sw", "w", "nw")}
    _FACING_WORDS = {"n": "north", "ne": "north-east", "e": "east", "se": "south-east", "s": "south", "sw": "south-west", "w": "west", "nw": "north-west"}

    def _frames(self, merged: dict[str, Any], variables: dict[str, Any], pointer: str, seed: int, negative: str,
                size: tuple[int, int], asset_id: str) -> tuple[list[ImageSpec], list[ClipSpec]]:
        """One image per frame of every clip (and facing); all share the sprite's seed.

        With ``from: first-frame`` a clip's later frames start from its frame 0
        (img2img); ``from: <earlier clip>`` also starts frame 0 from that clip's
        frame 0; ``directions: {from: first-facing}`` starts every other
        facing's frame 0 from the first facing's.
        """
        images: list[ImageSpec] = []
        clips: list[ClipSpec] = []
        directions = merged.get("directions")
        facings: tuple[str | None, ...] = self._FACINGS.get(_facing_count(directions), (None,))
        derive_facings = isinstance(directions, dict) and directions.get("from") == "first-facing"
        first_facing = directions.get("first", "s") if isinstance(directions, dict) else None
        if derive_facings and first_facing not in facings:
            self.checker.add(pointer + "/directions/first", f"facing {first_facing!r} is not one of the {len(facings)} directions",
                             "use one of: " + ", ".join(f for f in facings if f))
            derive_facings = False
        clip_names = [clip["name"] for clip in merged["animations"]]
        for index, clip in enumerate(merged["animations"]):
            clip_pointer = f"{pointer}/animations/{index}"
            poses = clip.get("poses", [])
            if poses and len(poses) != clip["frames"]:
                self.checker.add(clip_pointer + "/poses", f"{len(poses)} poses for {clip['frames']} frames", "give one pose per frame, or none")
                poses = []
            source = clip.get("from", "text")
            if source not in ("text", "first-frame") and source not in clip_names[:index]:
                self.checker.add(clip_pointer + "/from", f"`from: {source}` names no earlier animation of this sprite",
                                 "use text, first-frame, or the name of an animation listed before this one: " + (", ".join(clip_names[:index]) or "(none)"))
                source = "text"
            strength = float(clip.get("strength", 0.6))
            control_source = clip if "control" in clip else merged
            control_pointer = clip_pointer if "control" in clip else pointer
            template = clip.get("prompt") or merged["prompt"]
            for facing in facings:
                clip_name = clip["name"] if facing is None else f"{clip['name']}-{facing}"
                frame_names = []
                for frame in range(clip["frames"]):
                    pose = poses[frame] if poses else ""
                    direction = f"facing {self._FACING_WORDS[facing]}" if facing else ""
                    frame_vars = {**variables, "frame": frame, "pose": pose, "direction": direction,
                                  "facing": facing or "e", "cycle": clip.get("cycle", clip["name"])}
                    body = template
                    if pose and "{pose}" not in body:
                        body += ", {pose}"
                    if direction and "{direction}" not in body:
                        body += ", {direction}"
                    name = f"{clip_name}-{frame}"
                    frame_names.append(name)
                    derived_from = None
                    if frame > 0 and source != "text":
                        derived_from = f"{clip_name}-0"
                    elif frame == 0 and source not in ("text", "first-frame"):
                        derived_from = (source if facing is None else f"{source}-{facing}") + "-0"
                    elif frame == 0 and derive_facings and facing != first_facing:
                        derived_from = f"{clip['name']}-{first_facing}-0"
                    conditioning = self._conditioning({**merged, "control": control_source.get("control", [])}, frame_vars,
                                                      control_pointer, asset_id, name, init_allowed=derived_from is None)
                    if derived_from is not None:
                        reference = ConditionImage("asset", f"{asset_id}/{derived_from}", f"asset:{asset_id}/{derived_from}")
                        conditioning["init"] = InitImage(reference, strength)
                        self.asset_references.append((asset_id, name, reference, clip_pointer + "/from"))
                    images.append(ImageSpec(
                        name=name,
                        prompt=self._prompt(merged, body, frame_vars, clip_pointer + "/prompt"),
                        negative=self._template(negative, frame_vars, pointer + "/negative"),
                        seed=seed,
                        size=size,
                        **conditioning,
                    ))
                clip_images = images[-len(frame_names):]
                varied = len({(image.prompt, image.negative, image.control) for image in clip_images})
                if len(clip_images) > 1 and varied == 1:
                    self.checker.add(
                        clip_pointer,
                        f"the {len(clip_images)} frames of animation {clip['name']!r} would be identical: same prompt and seed for every frame",
                        "give one pose per frame (`poses: [...]`, or a control image with {frame}), or put {frame} or {pose} in the prompt",
                    )
                clips.append(ClipSpec(name=clip_name, frames=tuple(frame_names), duration_ms=clip.get("duration_ms", 100),
                                      direction=clip.get("direction", "forward")))
        return images, clips

    # -- conditioning ------------------------------------------------------------
    def _conditioning(self, settings: dict[str, Any], variables: dict[str, Any], pointer: str, asset_id: str, image: str,
                      *, init_allowed: bool = True) -> dict[str, Any]:
        """``init`` and ``control`` of one image, its templates filled in; asset references are linked later."""
        result: dict[str, Any] = {}
        raw_init = settings.get("init")
        if raw_init is not None and init_allowed:
            init_pointer = pointer + "/init"
            source = self._condition_image(raw_init["image"], variables, init_pointer + "/image", asset_id, image, "init image")
            mask = None
            if "mask" in raw_init:
                mask = self._condition_image(raw_init["mask"], variables, init_pointer + "/mask", asset_id, image, "mask")
                if mask.kind in ("pose", "pose_file"):
                    self.checker.add(init_pointer + "/mask", "a mask cannot be a pose", "use a black-and-white image: white is repainted")
            result["init"] = InitImage(source, float(raw_init.get("strength", 0.6)), mask)
        uses = []
        for index, use in enumerate(settings.get("control", [])):
            use_pointer = f"{pointer}/control/{index}"
            if use["model"] not in self.controlnets:
                known = ", ".join(self.controlnets) or "(none defined)"
                self.checker.add(use_pointer + "/model", f"undefined ControlNet {use['model']!r}", f"define it under `controlnets:` or use one of: {known}")
            start, end = float(use.get("start", 0.0)), float(use.get("end", 1.0))
            if start >= end:
                self.checker.add(use_pointer, f"control starts at {start:g} and ends at {end:g}", "make `start` smaller than `end`")
            source = self._condition_image(use["image"], variables, use_pointer + "/image", asset_id, image, "control image")
            uses.append(ControlUse(use["model"], source, float(use.get("scale", 1.0)), start, end))
        if settings.get("style_images"):
            result["style"] = self._style(settings, variables, pointer, asset_id, image)
        if uses:
            result["control"] = tuple(uses)
            poses = [use.image for use in uses if use.image.kind in ("pose", "pose_file")]
            if poses:
                result["pose"] = poses[0]
        return result

    def _style(self, settings: dict[str, Any], variables: dict[str, Any], pointer: str, asset_id: str, image: str) -> StyleUse:
        adapter = settings.get("adapter")
        if adapter is None and len(self.adapters) == 1:
            adapter = next(iter(self.adapters))
        if adapter not in self.adapters:
            known = ", ".join(self.adapters) or "(none defined)"
            where = pointer + ("/adapter" if "adapter" in settings else "/style_images")
            what = f"undefined IP-Adapter {adapter!r}" if adapter else "style_images need an IP-Adapter and none is chosen"
            self.checker.add(where, what, f"declare it under `adapters:` and name it in `adapter:`; declared: {known}")
            adapter = adapter or ""
        images = tuple(
            self._condition_image(text, variables, f"{pointer}/style_images/{index}", asset_id, image, "style image")
            for index, text in enumerate(settings["style_images"])
        )
        for index, reference in enumerate(images):
            if reference.kind in ("pose", "pose_file"):
                self.checker.add(f"{pointer}/style_images/{index}", "a style image cannot be a pose", "use a picture of the look you want, or asset:ID")
        return StyleUse(adapter, images, float(settings.get("style_scale", 0.6)))

    def _adapter(self, name: str, spec: dict[str, Any]) -> AdapterSpec:
        pointer = f"/adapters/{escape_pointer_token(name)}"
        self._check_safe(name, pointer)
        common = dict(name=name, revision=spec.get("revision"), subfolder=spec.get("subfolder"), license=spec.get("license"),
                      weight_name=spec.get("weight_name", "ip-adapter.safetensors"), image_encoder_folder=spec.get("image_encoder_folder", "image_encoder"))
        if "builtin" in spec:
            return AdapterSpec(kind="builtin", source=spec["builtin"], **common)
        if "repo" in spec:
            return AdapterSpec(kind="hub", source=spec["repo"], **common)
        path = self._local(spec["path"])
        weights = path / (spec.get("subfolder") or "") / common["weight_name"]
        if not weights.is_file():
            self.checker.add(pointer + "/path", f"IP-Adapter weights {weights} do not exist",
                             "point `path:` (and `subfolder:`, `weight_name:`) at the adapter's .safetensors file")
        return AdapterSpec(kind="diffusers_dir", source=str(path), **common)

    def _condition_image(self, written: str, variables: dict[str, Any], pointer: str, asset_id: str, image: str, what: str) -> ConditionImage:
        text = self._template(written, variables, pointer)
        if text.startswith("asset:"):
            target = text[len("asset:"):]
            if target.count("/") > 1 or not target.strip("/"):
                self.checker.add(pointer, f"{what} {text!r} is not asset:ID or asset:ID/IMAGE", "write asset:ID, or asset:ID/IMAGE for one image of it")
            reference = ConditionImage("asset", target, text)
            self.asset_references.append((asset_id, image, reference, pointer))
            return reference
        if text.startswith("pose:"):
            from pixelgen.core.poses import pose_problem

            problem = pose_problem(text[len("pose:"):])
            if problem:
                self.checker.add(pointer, f"{what} {text!r}: {problem}", "write pose:CYCLE/FACING/FRAME, e.g. pose:walk/e/0")
            return ConditionImage("pose", text[len("pose:"):], text)
        path = self._local(text)
        if path.suffix.lower() == ".json":
            from pixelgen.core.poses import read_openpose_json

            problem = regular_file_problem(path)
            if problem:
                self.checker.add(pointer, f"pose file {text!r} {problem} (looked for {path})", "fix the path (relative to the manifest)")
            else:
                try:
                    read_openpose_json(read_regular_file(path, max_bytes=MAX_PALETTE_FILE_BYTES * 8))
                except (OSError, ValueError) as exc:
                    self.checker.add(pointer, f"pose file {text!r} is not OpenPose JSON: {exc}", "export the pose as OpenPose JSON (people[].pose_keypoints_2d)")
            return ConditionImage("pose_file", str(path), text)
        problem = input_image_problem(path, self.limits.max_input_pixels)
        if problem == "does not exist":
            self.checker.add(pointer, f"{what} {text!r} does not exist (looked for {path})",
                             "fix the path (relative to the manifest), or write asset:ID or pose:CYCLE/FACING/FRAME")
        elif problem:
            self.checker.add(pointer, f"{what} {text!r} {problem}", "point it at a PNG (or another image Pillow reads)")
        return ConditionImage("file", str(path), text)

    def _controlnet(self, name: str, spec: dict[str, Any]) -> ControlNetSpec:
        pointer = f"/controlnets/{escape_pointer_token(name)}"
        self._check_safe(name, pointer)
        common = dict(name=name, revision=spec.get("revision"), subfolder=spec.get("subfolder"), variant=spec.get("variant"), license=spec.get("license"))
        if "builtin" in spec:
            return ControlNetSpec(kind="builtin", source=spec["builtin"], **common)
        if "repo" in spec:
            return ControlNetSpec(kind="hub", source=spec["repo"], **common)
        path = self._local(spec["path"])
        if not (path / "config.json").is_file():
            self.checker.add(pointer + "/path", f"ControlNet folder {spec['path']!r} has no config.json (looked in {path})",
                             "point `path:` at a diffusers ControlNet folder (config.json + diffusion_pytorch_model.safetensors)")
        return ControlNetSpec(kind="diffusers_dir", source=str(path), **common)

    def _reference(self, relative: str | None, pointer: str) -> str | None:
        if relative is None:
            return None
        path = self._local(relative)
        problem = input_image_problem(path, self.limits.max_input_pixels)
        if problem == "does not exist":
            self.checker.add(pointer, f"reference image {relative!r} does not exist (looked for {path})", "fix the path (relative to the manifest)")
        elif problem:
            self.checker.add(pointer, f"reference image {relative!r} {problem}", "point `reference:` at a PNG (or another image Pillow reads)")
        return str(path)

    def _prompt(self, merged: dict[str, Any], template: str, variables: dict[str, Any], pointer: str) -> str:
        body = self._template(template, variables, pointer)
        return merged.get("prompt_prefix", "") + body + merged.get("prompt_suffix", "")

    def _template(self, template: str, variables: dict[str, Any], pointer: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                known = ", ".join(sorted(variables)) or "(none)"
                self.checker.add(pointer, f"prompt uses {{{name}}} but no variable {name!r} is defined", f"add it to `vars:` or `matrix:`; defined: {known}")
                return match.group(0)
            value = variables[name]
            return str(value).lower() if isinstance(value, bool) else str(value)

        return _TEMPLATE_VAR.sub(substitute, template)


def _facing_count(directions: Any) -> int:
    """``directions: 8`` or ``directions: {count: 8, from: …}`` → 8; none → 1."""
    if isinstance(directions, dict):
        return int(directions.get("count", 1))
    return int(directions) if isinstance(directions, int) else 1


def _slug(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-") or "x"
