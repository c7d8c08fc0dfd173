"""docs/manifest.md is the schema's own descriptions: regenerate it when the schema changes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pixelgen.manifest import manifest_schema
from pixelgen.manifest.reference import manifest_reference_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "manifest.md"


def test_docs_manifest_md_is_up_to_date():
    assert DOC.read_text("utf-8") == manifest_reference_markdown(), (
        "docs/manifest.md is out of date: run `pixelgen schema --markdown > docs/manifest.md`"
    )


def test_every_key_of_the_schema_is_in_the_reference():
    text = manifest_reference_markdown()
    schema = manifest_schema()
    for name, node in [("", schema), *schema["$defs"].items()]:
        for key in node.get("properties", {}):
            # Gates are listed by name on one line; every other key has a row.
            expected = f"`{key}`" if name == "quality" else f"| `{key}` |"
            assert expected in text, f"{name}/{key}"


def test_a_key_without_description_or_example_is_refused():
    schema = copy.deepcopy(manifest_schema())
    schema["$defs"]["render"]["properties"]["clip_skip"] = {"type": "integer"}
    with pytest.raises(ValueError, match="render/clip_skip: description.*render/clip_skip: examples"):
        manifest_reference_markdown(schema)
