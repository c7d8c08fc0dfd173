"""Structured edits of a manifest that keep its comments, key order and layout.

Used by the MCP server's ``add_asset`` and ``edit_asset`` tools. The YAML is
edited as a round-trip tree (ruamel.yaml), the result is validated exactly as
``pixelgen validate`` would (schema, references, templates), and only a valid
result replaces the file, atomically. An edit is a JSON merge patch
(RFC 7386) applied to one asset: a key set to ``null`` is removed, a mapping
is merged key by key, anything else replaces the value.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from pixelgen.errors import InputError, ManifestError
from pixelgen.files.fsutil import write_text_atomic


def _yaml() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError:
        from pixelgen.errors import EnvironmentProblem

        raise EnvironmentProblem("editing manifests needs ruamel.yaml: pip install 'pixelgen[mcp]'") from None
    yaml = YAML()  # round-trip: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long prompts
    yaml.indent(mapping=2, sequence=4, offset=2)  # "  - id: …" under "assets:", as the shipped manifests are written
    return yaml


def _to_yaml_value(value: Any) -> Any:
    """Plain JSON data as round-trip nodes; short lists of scalars stay on one line ([16, 16])."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _to_yaml_value(item)
        return node
    if isinstance(value, list):
        node = CommentedSeq(_to_yaml_value(item) for item in value)
        if all(not isinstance(item, (Mapping, list)) for item in value):
            node.fa.set_flow_style()
        return node
    return value


def _merge(target: Any, patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), Mapping):
            _merge(target[key], value)
        else:
            target[key] = _to_yaml_value(value)


def _load(path: Path) -> tuple[Any, Any]:
    yaml = _yaml()
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest file") from None
    try:
        document = yaml.load(text)
    except Exception as exc:  # noqa: BLE001 - ruamel raises many parser error types
        raise InputError(f"{path}: cannot parse the YAML ({exc}); fix it with `pixelgen validate {path}` first") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("assets"), list):
        raise InputError(f"{path}: the manifest has no `assets:` list; run `pixelgen validate {path}`")
    return yaml, document


def _dump(yaml: Any, document: Any) -> str:
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def _asset_index(document: Any, asset_id: str, path: Path) -> int:
    for index, asset in enumerate(document["assets"]):
        if isinstance(asset, Mapping) and asset.get("id") == asset_id:
            return index
    known = ", ".join(str(a.get("id")) for a in document["assets"] if isinstance(a, Mapping))
    raise InputError(f"{path}: no asset with id {asset_id!r} (the manifest has: {known})")


def load_text(path: Path, text: str) -> Any:
    """Load ``text`` as the manifest at ``path`` would be (relative files resolve beside it).

    Raises the loader's errors, naming ``path``; returns the ``Manifest`` (with ``path``).
    """
    from pixelgen.manifest import load_manifest

    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".candidate.yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            manifest = load_manifest(Path(temp_name))
        except ManifestError as exc:
            # Name the manifest being edited, not the candidate file.
            problems = [dataclasses.replace(problem, file=str(path)) for problem in exc.problems]
            raise ManifestError(problems) from None
        except InputError as exc:
            raise InputError(exc.message.replace(temp_name, str(path))) from None
    finally:
        os.unlink(temp_name)
    return dataclasses.replace(manifest, path=path)


def validate_text(path: Path, text: str) -> None:
    """Raise what ``pixelgen validate`` would report for ``text`` as the manifest at ``path``."""
    load_text(path, text)


def _write_validated(path: Path, text: str) -> None:
    validate_text(path, text)
    write_text_atomic(path, text)


def add_asset(path: Path, asset: Mapping[str, Any], *, after: str | None = None) -> str:
    """Append ``asset`` (or insert it after the asset ``after``); returns the new manifest text."""
    path = Path(path)
    if not isinstance(asset, Mapping) or not isinstance(asset.get("id"), str):
        raise InputError("add_asset: the asset must be a mapping with a string `id`")
    yaml, document = _load(path)
    if any(isinstance(a, Mapping) and a.get("id") == asset["id"] for a in document["assets"]):
        raise InputError(f"{path}: an asset with id {asset['id']!r} already exists; use edit_asset to change it")
    node = _to_yaml_value(dict(asset))
    position = len(document["assets"]) if after is None else _asset_index(document, after, path) + 1
    document["assets"].insert(position, node)
    text = _dump(yaml, document)
    _write_validated(path, text)
    return text


def edit_asset(path: Path, asset_id: str, patch: Mapping[str, Any]) -> str:
    """Apply a JSON merge patch to the asset ``asset_id``; returns the new manifest text."""
    path = Path(path)
    if not isinstance(patch, Mapping) or not patch:
        raise InputError("edit_asset: the patch must be a non-empty mapping (JSON merge patch: null removes a key)")
    if "id" in patch and patch["id"] is None:
        raise InputError("edit_asset: an asset's `id` cannot be removed")
    yaml, document = _load(path)
    _merge(document["assets"][_asset_index(document, asset_id, path)], patch)
    text = _dump(yaml, document)
    _write_validated(path, text)
    return text
