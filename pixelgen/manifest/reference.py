"""docs/manifest.md, generated from the JSON Schema's own descriptions, defaults and examples.

The schema is the one place a manifest key is declared; this turns it into a
page a person reads. A key without a description or an example is an error,
so the reference cannot silently fall behind the schema (a test compares the
page with this output).
"""

from __future__ import annotations

import json
from typing import Any

from pixelgen.manifest.load import manifest_schema

# The schema's reusable parts, in the order a reader meets them, with their section titles.
SECTIONS = (
    ("", "Top level"),
    ("model", "models.<name>"),
    ("lora", "loras.<name>"),
    ("controlnet", "controlnets.<name>"),
    ("adapter", "adapters.<name>"),
    ("loraTrain", "loras.<name>.train"),
    ("palette", "palettes.<name>"),
    ("assetSettings", "defaults, and every asset"),
    ("asset", "assets[]"),
    ("render", "render"),
    ("pixelart", "pixelart"),
    ("loraUse", "loras[] (in defaults or an asset)"),
    ("image", "tiles[] and elements[]"),
    ("variant", "variants[]"),
    ("animation", "animations[]"),
    ("directions", "directions"),
    ("init", "init"),
    ("controlUse", "control[]"),
    ("sheet", "sheet"),
    ("terrain", "terrain"),
    ("quality", "quality"),
    ("limits", "limits"),
)
_SIMPLE = {"safeName": "name", "seed": "integer (seed)", "size": "[width, height]", "sha256": "sha256 hex", "vars": "map of variable → value",
           "conditionImage": "image: path, `asset:ID[/IMAGE]`, `pose:CYCLE/FACING/FRAME` or OpenPose .json"}


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in _SIMPLE:
            return _SIMPLE[name]
        title = dict(SECTIONS).get(name, name)
        return f"[{name}](#{_anchor(title)})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(value) if not isinstance(value, str) else value}`" for value in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(option) for option in node["oneOf"])
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        if "prefixItems" in node:
            return f"list of {len(node['prefixItems'])} integers"
        return f"list of {_type(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of name → {_type(node['additionalProperties'])}"
    return kind or "any"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _example(node: dict[str, Any]) -> str:
    examples = node.get("examples")
    if not examples:
        return ""
    return "`" + json.dumps(examples[0], ensure_ascii=False).replace("|", "\\|") + "`"


def _rows(properties: dict[str, Any], required: set[str], where: str, missing: list[str]) -> list[str]:
    rows = ["| key | type | default | description | example |", "|---|---|---|---|---|"]
    for key, node in properties.items():
        if node is False:
            continue
        if not node.get("description"):
            missing.append(f"{where}/{key}: description")
        if not node.get("examples"):
            missing.append(f"{where}/{key}: examples")
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ("required" if key in required else "—")
        rows.append(f"| `{key}` | {_type(node)} | {default} | {_cell(node.get('description', ''))} | {_example(node)} |")
    return rows


def manifest_reference_markdown(schema: dict[str, Any] | None = None) -> str:
    """The whole reference page; raises ``ValueError`` naming every key that lacks a description or an example."""
    schema = schema or manifest_schema()
    definitions = schema["$defs"]
    missing: list[str] = []
    lines = [
        "# Manifest reference (version 1)",
        "",
        "<!-- Generated from pixelgen/schemas/manifest.v1.json by `pixelgen schema --markdown > docs/manifest.md`;",
        "     edit the schema's descriptions, not this file (tests/unit/manifest/test_reference.py compares them). -->",
        "",
        _cell(schema.get("description", "")),
        "",
        "Every key: its type, its default (— when it has none), what it does, and an example.",
        "Unknown keys are errors. Start from `pixelgen init`, which writes a commented manifest.",
        "",
    ]
    for name, title in SECTIONS:
        node = schema if not name else definitions[name]
        lines += [f"## {title}", ""]
        if name and node.get("description"):
            lines += [_cell(node["description"]), ""]
        if name and node.get("examples"):
            lines += [f"Example: {_example(node)}", ""]
        if name == "variant":
            node = node["oneOf"][1]
        if name == "quality":
            gates = node["propertyNames"]["enum"]
            lines += ["Gate names (each maps to a number threshold): " + ", ".join(f"`{gate}`" for gate in gates) + ".", ""]
            continue
        lines += _rows(node.get("properties", {}), set(node.get("required", [])), f"#/{name}" if name else "", missing)
        lines.append("")
    if missing:
        raise ValueError("schema keys without a description or example (add them to the schema): " + "; ".join(missing))
    return "\n".join(lines).rstrip() + "\n"
