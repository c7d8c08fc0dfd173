"""The SBOM's output components and its strict validation cost one pass over the outputs, and stay what the library writes."""

from __future__ import annotations

import copy
import json
import time

import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from bench.records import stand_in_info
from pixelgen.records import provenance, sbom
from pixelgen.records.linear_schema import (
    all_unique,
    cyclonedx_fast_validator,
    cyclonedx_strict_validator,
    json_identity,
)
from pixelgen.records.provenance import BuildInfo, OutputInfo
from pixelgen.records.sbom import build_sbom, validate_sbom


def _library_groups(info: BuildInfo) -> tuple[list[dict], list[dict]]:
    """The asset groups and their dependencies as cyclonedx-python-lib builds them from its own model (the reference)."""
    bom = Bom()
    models = {model.name: sbom._model_component(model) for model in info.models}
    for component in models.values():
        bom.components.add(component)
    for asset_id, outputs in sbom._group_outputs(info.outputs).items():
        group = Component(
            type=ComponentType.FILE,
            name=f"{asset_id}/",
            bom_ref=sbom._asset_ref(asset_id),
            properties=sbom._properties([("pixelgen:asset-id", asset_id)]),
        )
        for output in outputs:
            group.components.add(sbom._output_component(output))
        bom.components.add(group)
        used = [models[o.model] for o in outputs if o.model in models]
        if used:
            bom.register_dependency(group, list({m.bom_ref.value: m for m in used}.values()))
    doc = json.loads(JsonV1Dot6(bom).output_as_string())
    for group in doc["components"]:
        for output in group.get("components", []):
            media_type = provenance._MEDIA_TYPES.get("." + output["name"].rsplit(".", 1)[-1])
            if media_type:
                output["mime-type"] = media_type
    groups = [c for c in doc["components"] if c["type"] == "file"]
    dependencies = [d for d in doc["dependencies"] if d["ref"].startswith("asset/")]
    return groups, dependencies


def _mixed_info() -> BuildInfo:
    """Assets of one and of several outputs, a pack file without a model, an asset of an unrecorded model."""
    info = stand_in_info(5)
    extra = (
        OutputInfo(path="sprite000001/sheet.json", sha256="a" * 64, asset_id="sprite000001", job_key="b" * 64),
        OutputInfo(path="sprite000001/sprite000001_b.png", sha256="c" * 64, asset_id="sprite000001", job_key="d" * 64,
                   prompt="second frame", seed=7, model="tiny"),
        OutputInfo(path="zz/only.png", sha256="e" * 64, asset_id="zz", job_key=None, model="not-recorded"),
    )
    return BuildInfo(**{**info.__dict__, "outputs": tuple(sorted(info.outputs + extra, key=lambda o: o.path))})


def test_asset_groups_are_what_the_library_writes() -> None:
    info = _mixed_info()
    doc = build_sbom(info)
    groups, dependencies = _library_groups(info)
    assert [c for c in doc["components"] if c["type"] == "file"] == groups
    assert [d for d in doc["dependencies"] if d["ref"].startswith("asset/")] == dependencies
    validate_sbom(doc)


def test_components_and_dependencies_keep_the_library_order() -> None:
    doc = build_sbom(_mixed_info())
    types = [c["type"] for c in doc["components"]]
    assert types == sorted(types)
    files = [c["name"] for c in doc["components"] if c["type"] == "file"]
    assert files == sorted(files) and len(files) == 6
    refs = [d["ref"] for d in doc["dependencies"]]
    assert refs == sorted(refs) and len(refs) == len(set(refs))


def test_linear_validation_agrees_with_the_library_validator() -> None:
    """Same verdict as cyclonedx's JsonStrictValidator on a valid SBOM and on broken ones, duplicates included."""
    doc = build_sbom(_mixed_info())
    duplicated = copy.deepcopy(doc)
    duplicated["components"].append(copy.deepcopy(duplicated["components"][-1]))
    reordered_duplicate = copy.deepcopy(doc)  # equal objects whose keys are in another order are still duplicates
    group = reordered_duplicate["components"][0]
    reordered_duplicate["components"].append(dict(reversed(list(group.items()))))
    bad_hash = copy.deepcopy(doc)
    bad_hash["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "xyz"}]
    unknown = copy.deepcopy(doc)
    unknown["components"][-1]["colour"] = "red"
    bad_email = copy.deepcopy(doc)  # a format check: the strict schema checks formats
    bad_email["metadata"]["component"]["authors"] = [{"name": "a", "email": "not an email"}]
    library = JsonStrictValidator(SchemaVersion.V1_6)
    fast = cyclonedx_fast_validator()
    assert fast is not None, "jsonschema-rs is a dependency"
    cases = ((doc, True), (duplicated, False), (reordered_duplicate, False), (bad_hash, False), (unknown, False), (bad_email, False))
    for case, valid in cases:
        assert (library.validate_str(json.dumps(case)) is None) == valid
        assert fast.is_valid(json.loads(json.dumps(case))) == valid
        assert (next(cyclonedx_strict_validator().iter_errors(json.loads(json.dumps(case))), None) is None) == valid
        if valid:
            validate_sbom(case)
        else:
            with pytest.raises(ValueError, match="not valid CycloneDX 1.6"):
                validate_sbom(case)


def test_duplicates_are_named_in_the_error() -> None:
    doc = build_sbom(stand_in_info(3))
    doc["dependencies"].append(copy.deepcopy(doc["dependencies"][0]))
    with pytest.raises(ValueError, match="non-unique"):
        validate_sbom(doc)


@pytest.mark.parametrize(
    ("one", "two", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ([1, 2], [2, 1], False),
        ({"a": None}, {"a": False}, False),
        ("1", 1, False),
        ({"a": {"b": 1.0}}, {"a": {"b": 1}}, True),
    ],
)
def test_json_identity_is_json_schema_equality(one: object, two: object, equal: bool) -> None:
    assert (json_identity(one) == json_identity(two)) is equal
    assert all_unique([one, two]) is not equal


def test_uniqueness_of_many_objects_is_one_pass() -> None:
    """20,000 distinct objects: a pairwise check makes 200 million comparisons (minutes); one pass takes well under a second."""
    items = [{"ref": f"asset/sprite{index:06d}", "dependsOn": ["model/tiny"]} for index in range(20_000)]
    started = time.perf_counter()
    assert all_unique(items)
    assert not all_unique(items + [dict(items[12_345])])
    assert time.perf_counter() - started < 5.0
