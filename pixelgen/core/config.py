"""Build-environment settings in a config file: where and how a build runs, never what it makes.

A repository may keep, next to its manifests or at its root, either a
``pixelgen.toml`` or a ``[tool.pixelgen]`` table in its ``pyproject.toml``::

    executor = "ray"          # "local" | "ray"
    ray-address = "auto"      # the Ray cluster to join (with executor "ray")
    batch-size = 4            # images per pipeline call

It is found by walking up from the manifest's folder: in each folder a
``pixelgen.toml`` first, then a ``pyproject.toml`` that has a ``[tool.pixelgen]``
table; the first found wins, and the walk stops at the repository root (a folder
holding ``.git`` or ``.hg``), so a file above the checkout never applies. That is
how ruff and black find theirs, so a pipeline engineer knows where to look.

These settings change neither job keys nor asset bytes (tests check the plan
is the same with and without them), which is why a manifest does not hold
them: one manifest builds on a laptop and on a farm. Each setting is taken from
the first of: the command-line flag, an environment variable
(``PIXELGEN_EXECUTOR``, ``PIXELGEN_RAY_ADDRESS``, ``PIXELGEN_BATCH_SIZE``), the
config file, the default; :class:`Setting` says which.

The no-op shortcut (:mod:`pixelgen.fastcli`) reads the file too, so a broken
file is reported the same way whether or not a build has anything to do; so
this module imports only what that path has loaded already (no dataclasses,
the errors only to raise one), and parses a ``pyproject.toml`` only if it may
hold the table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, NamedTuple

CONFIG_FILENAME = "pixelgen.toml"
PYPROJECT = "pyproject.toml"
REPOSITORY_MARKERS = (".git", ".hg")
EXECUTORS = ("local", "ray")  # as pixelgen.core.executor.EXECUTORS (not imported: it pulls in the plan)
BATCH_SIZE_RANGE = (1, 64)


# A pyproject.toml that may have the table: a [tool.pixelgen…] header, a tool.pixelgen… dotted key, or a [tool] table.
_MAY_HAVE_TABLE = re.compile(rb"""^[ \t]*(\[[ \t]*tool[ \t]*\.[ \t]*["']?pixelgen|tool[ \t]*\.[ \t]*["']?pixelgen|\[[ \t]*tool[ \t]*\])""", re.M)


def _input_error(message: str) -> Exception:
    from pixelgen.errors import InputError  # imported on a problem only: the no-op path does without it

    return InputError(message)


class _Key(NamedTuple):
    name: str  # in the file
    flag: str
    variable: str
    default: Any


KEYS = {
    "executor": _Key("executor", "--executor", "PIXELGEN_EXECUTOR", "local"),
    "ray_address": _Key("ray-address", "--ray-address", "PIXELGEN_RAY_ADDRESS", None),
    "batch_size": _Key("batch-size", "--batch-size", "PIXELGEN_BATCH_SIZE", 1),
}
_BY_FILE_NAME = {key.name: field for field, key in KEYS.items()}


class Setting(NamedTuple):
    value: Any
    source: str  # "--executor", "$PIXELGEN_EXECUTOR", "/repo/pixelgen.toml: executor", "default"


class BuildSettings(NamedTuple):
    executor: Setting
    ray_address: Setting
    batch_size: Setting
    config_file: Path | None

    def describe(self) -> str:
        """``executor ray (from /repo/pixelgen.toml: executor), Ray cluster auto (from $PIXELGEN_RAY_ADDRESS)``."""
        text = f"executor {self.executor.value} (from {self.executor.source})"
        if self.executor.value == "ray":
            address = self.ray_address.value or "a new one on this machine"
            text += f", Ray cluster {address} (from {self.ray_address.source})"
        return text


class ConfigFile(NamedTuple):
    path: Path
    table: str  # "" for pixelgen.toml, "tool.pixelgen" for pyproject.toml
    values: dict[str, Any]

    def where(self, key: str) -> str:
        return f"{self.path}: {self.table + '.' if self.table else ''}{key}"


def find_config(start: Path) -> Path | None:
    """The config file that applies to a manifest in folder ``start``, or None."""
    folder = Path(os.path.abspath(start))
    while True:
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
        if any((folder / marker).exists() for marker in REPOSITORY_MARKERS) or folder.parent == folder:
            return None
        folder = folder.parent


def _has_tool_table(pyproject: Path) -> bool:
    try:
        data = pyproject.read_bytes()
    except OSError:
        return False
    if not _MAY_HAVE_TABLE.search(data):
        return False
    return "pixelgen" in _parse(pyproject, data).get("tool", {})


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _input_error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})\n    fix: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise _input_error(f"{path}: not valid TOML: {exc}\n    fix: correct the syntax (https://toml.io)") from None


def read_config(path: Path) -> ConfigFile:
    """The settings of a ``pixelgen.toml`` or of a ``pyproject.toml``'s ``[tool.pixelgen]`` table, checked."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _input_error(f"{path}: cannot be read ({exc.strerror})\n    fix: make it readable, or remove it") from None
    document = _parse(path, data)
    table = ""
    if path.name == PYPROJECT:
        table = "tool.pixelgen"
        document = document.get("tool", {}).get("pixelgen", {})
        if not isinstance(document, dict):
            raise _input_error(f"{path}: tool.pixelgen must be a table\n    fix: write it as [tool.pixelgen] with key = value lines")
    config = ConfigFile(path, table, {})
    values = {}
    for name, value in document.items():
        field = _BY_FILE_NAME.get(name)
        if field is None:
            raise _input_error(f"{config.where(name)}: unknown setting{_suggestion(name)}\n"
                             f"    fix: use one of {', '.join(key.name for key in KEYS.values())}, or remove it")
        values[field] = _check(field, value, config.where(name))
    return ConfigFile(path, table, values)


def _suggestion(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name.replace("_", "-"), [key.name for key in KEYS.values()], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check(field: str, value: Any, where: str, *, text: bool = False) -> Any:
    """A setting's value, or exit 2 naming where it came from, the value and the fix (``text``: from an environment variable)."""
    if field == "executor":
        if value not in EXECUTORS:
            raise _input_error(f"{where} = {value!r}: not an executor\n    fix: use one of {', '.join(repr(e) for e in EXECUTORS)}")
        return value
    if field == "ray_address":
        if not isinstance(value, str) or not value.strip():
            raise _input_error(f"{where} = {value!r}: not a Ray address\n    fix: write \"auto\" or \"HOST:PORT\" (the address `ray start --head` printed)")
        return value.strip()
    low, high = BATCH_SIZE_RANGE
    if text and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _input_error(f"{where} = {value!r}: not a batch size\n    fix: use a whole number from {low} to {high}")
    return value


def build_settings(manifest_path: Path, flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> BuildSettings:
    """Each setting from the flag, else the environment, else the config file, else the default.

    ``flags`` maps ``executor``, ``ray_address``, ``batch_size`` to a command-line value or None.
    """
    environ = os.environ if environ is None else environ
    path = find_config(Path(manifest_path).parent)
    config = read_config(path) if path is not None else None
    chosen = {}
    for field, key in KEYS.items():
        if flags.get(field) is not None:
            chosen[field] = Setting(flags[field], key.flag)
        elif environ.get(key.variable):
            chosen[field] = Setting(_check(field, environ[key.variable], f"${key.variable}", text=True), f"${key.variable}")
        elif config is not None and field in config.values:
            chosen[field] = Setting(config.values[field], config.where(key.name))
        else:
            chosen[field] = Setting(key.default, "default")
    if chosen["executor"].value != "ray":
        if chosen["ray_address"].source == KEYS["ray_address"].flag:
            raise _input_error(f"--ray-address needs the ray executor, and the executor is {chosen['executor'].value!r} "
                             f"(from {chosen['executor'].source})\n    fix: add --executor ray, or drop --ray-address")
        # An address from the environment or the file is for builds that choose Ray: not used here.
        chosen["ray_address"] = Setting(None, "default")
    return BuildSettings(chosen["executor"], chosen["ray_address"], chosen["batch_size"], path)
