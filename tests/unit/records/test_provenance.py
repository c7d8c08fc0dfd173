"""SBOM (CycloneDX 1.6) and provenance (in-toto / SLSA v1) records of a build."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from importlib import metadata
from pathlib import Path

import pytest
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement

from pixelgen.files import hashing
from pixelgen.files.fsutil import dump_json
from pixelgen.records import provenance, sbom
from pixelgen.records.intoto import (
    build_provenance,
    read_provenance_subjects,
    validate_provenance,
)
from pixelgen.records.provenance import (
    BuildInfo,
    DataInfo,
    FileDigest,
    LoraInfo,
    ModelInfo,
    OutputInfo,
    TaskInfo,
    is_restricted_license,
    restricted_licenses,
    write_provenance_files,
)
from pixelgen.records.sbom import build_sbom, validate_sbom

HUB_REVISION = "0123456789abcdef0123456789abcdef01234567"


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashing.sha256_file(path)


@pytest.fixture()
def build_info(tmp_path: Path) -> BuildInfo:
    """A small build made of real files hashed with pixelgen.files.hashing."""
    model_dir = tmp_path / "models" / "sdxl"
    model_files = tuple(
        FileDigest(rel, _write(model_dir / rel, f"weights of {rel}".encode()))
        for rel in (
            "unet/diffusion_pytorch_model.safetensors",
            "vae/diffusion_pytorch_model.safetensors",
            "model_index.json",
        )
    )
    single = tmp_path / "models" / "retro.safetensors"
    lora_file = tmp_path / "loras" / "pixel-art-xl.safetensors"
    manifest = tmp_path / "assets.yaml"
    palette = tmp_path / "palettes" / "pico8.hex"
    out = tmp_path / "out"
    outputs = []
    for index, rel in enumerate(("hero/idle_0.png", "hero/idle_1.png", "tiles/grass.png")):
        digest = _write(out / rel, f"png bytes {rel}".encode())
        outputs.append(
            OutputInfo(
                path=rel,
                sha256=digest,
                asset_id=rel.split("/")[0],
                job_key=hashing.content_key({"job": rel}),
                prompt=f"pixel art {rel}",
                seed=1000 + index,
                model="sdxl",
            )
        )
    return BuildInfo(
        manifest_name="demo",
        manifest_path="assets.yaml",
        selection=("hero", "tiles"),
        pixelgen_version="0.1.0",
        invocation_id="3f1c8a52-0000-4000-8000-000000000001",
        started_at="2025-03-01T10:00:00Z",
        finished_at="2025-03-01T10:05:30Z",
        models=(
            ModelInfo(
                name="sdxl",
                source="stabilityai/stable-diffusion-xl-base-1.0",
                kind="hub",
                revision=HUB_REVISION,
                files=model_files,
                license="openrail++",
            ),
            ModelInfo(
                name="retro",
                source=str(single),
                kind="single_file",
                revision=None,
                files=(FileDigest(single.name, _write(single, b"single file checkpoint")),),
                license="CC-BY-NC-4.0",
            ),
            ModelInfo(name="tiny", source="builtin:tiny-sdxl", kind="builtin", revision=None, files=(), license="MIT"),
        ),
        loras=(
            LoraInfo(
                name="pixel-art",
                source="nerijs/pixel-art-xl",
                weight_name="pixel-art-xl.safetensors",
                sha256=_write(lora_file, b"lora weights"),
                license="CC-BY-NC-SA-4.0",
            ),
        ),
        data=(
            DataInfo(name="demo", kind="manifest", path="assets.yaml", sha256=_write(manifest, b"assets: []\n")),
            DataInfo(
                name="pico8", kind="palette", path="palettes/pico8.hex", sha256=_write(palette, b"000000\nffffff\n")
            ),
        ),
        outputs=tuple(outputs),
        tasks=(
            TaskInfo("render", {"steps": "30", "guidance": "7.5"}),
            TaskInfo("post-process", {"palette": "pico8"}),
            TaskInfo("pack", {"format": "atlas"}),
        ),
        environment={"python": {"version": "3.11.7"}, "seeds": [1000, 1001, 1002]},
    )


def _components(doc: dict) -> dict[str, dict]:
    """Every component by bom-ref, nested ones included (outputs sit under their asset)."""
    found: dict[str, dict] = {}

    def walk(components: list) -> None:
        for component in components:
            found[component["bom-ref"]] = component
            walk(component.get("components", []))

    walk(doc["components"])
    return found


def _sha(component: dict) -> str:
    (entry,) = component["hashes"]
    assert entry["alg"] == "SHA-256"
    return entry["content"]


def _props(component: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


# --------------------------------------------------------------------------- SBOM


def test_sbom_validates_against_cyclonedx_1_6(build_info: BuildInfo) -> None:
    doc = build_sbom(build_info)
    assert doc["specVersion"] == "1.6"
    validate_sbom(doc)  # JsonStrictValidator(SchemaVersion.V1_6)


def test_sbom_lists_models_loras_data_and_outputs_with_digests(build_info: BuildInfo) -> None:
    components = _components(build_sbom(build_info))

    sdxl = components["model/sdxl"]
    assert sdxl["type"] == "machine-learning-model"
    assert sdxl["version"] == HUB_REVISION
    assert sdxl["purl"] == f"pkg:huggingface/stabilityai/stable-diffusion-xl-base-1.0@{HUB_REVISION}"
    assert sdxl["licenses"] == [{"license": {"name": "openrail++"}}]
    assert sdxl["modelCard"]["modelParameters"]["task"] == "text-to-image"
    assert sdxl["modelCard"]["modelParameters"]["modelArchitecture"] == "stable-diffusion-xl"
    nested = {c["name"]: _sha(c) for c in sdxl["components"]}
    assert nested == {f.path: f.sha256 for f in build_info.models[0].files}
    assert all(c["type"] == "file" for c in sdxl["components"])

    retro = components["model/retro"]
    assert _sha(retro) == build_info.models[1].files[0].sha256  # one file: hash on the model itself
    assert retro["licenses"] == [{"license": {"id": "CC-BY-NC-4.0"}}]
    assert "components" not in retro

    lora = components["lora/pixel-art"]
    assert lora["type"] == "machine-learning-model"
    assert _sha(lora) == build_info.loras[0].sha256
    assert _props(lora)["pixelgen:weight-name"] == ["pixel-art-xl.safetensors"]

    for data in build_info.data:
        component = components[f"data/{data.kind}/{data.name}"]
        assert component["type"] == "data"
        assert _sha(component) == data.sha256
        assert component["data"] == [{"type": "configuration", "name": data.name}]

    for output in build_info.outputs:
        component = components[f"output/{output.path}"]
        assert component["type"] == "file"
        assert component["mime-type"] == "image/png"
        assert _sha(component) == output.sha256
        props = _props(component)
        assert props["pixelgen:seed"] == [str(output.seed)]
        assert props["pixelgen:prompt"] == [output.prompt]
        assert props["pixelgen:job-key"] == [output.job_key]


def test_sbom_lists_installed_python_packages_and_pixelgen(build_info: BuildInfo) -> None:
    doc = build_sbom(build_info)
    assert doc["metadata"]["component"]["name"] == "pixelgen"
    assert doc["metadata"]["component"]["type"] == "application"
    assert doc["metadata"]["component"]["version"] == "0.1.0"
    libraries = [c for c in doc["components"] if c["type"] == "library"]
    names = [c["name"] for c in libraries]
    assert len(names) == len(set(names))
    assert "pixelgen" not in names
    by_name = {c["name"]: c for c in libraries}
    numpy_version = metadata.version("numpy")
    assert by_name["numpy"]["version"] == numpy_version
    assert by_name["numpy"]["purl"] == f"pkg:pypi/numpy@{numpy_version}"
    assert by_name["cyclonedx-python-lib"]["version"] == metadata.version("cyclonedx-python-lib")


def test_sbom_formulation_describes_the_build_tasks_in_order(build_info: BuildInfo) -> None:
    (formula,) = build_sbom(build_info)["formulation"]
    (workflow,) = formula["workflows"]
    assert [t["name"] for t in workflow["tasks"]] == ["render", "post-process", "pack"]
    render = workflow["tasks"][0]
    assert render["inputs"] == [
        {"parameters": [{"name": "guidance", "value": "7.5"}, {"name": "steps", "value": "30"}]}
    ]
    assert workflow["taskDependencies"][1] == {"ref": "task/post-process", "dependsOn": ["task/render"]}
    input_refs = {i["resource"]["ref"] for i in workflow["inputs"]}
    assert {"model/sdxl", "model/retro", "lora/pixel-art", "data/palette/pico8", "data/manifest/demo"} <= input_refs
    assert {o["resource"]["ref"] for o in workflow["outputs"]} == {f"asset/{o.asset_id}" for o in build_info.outputs}


def test_sbom_is_byte_identical_when_built_twice_in_any_input_order(build_info: BuildInfo) -> None:
    first = dump_json(build_sbom(build_info))
    assert dump_json(build_sbom(build_info)) == first
    shuffled = dataclasses.replace(
        build_info,
        outputs=tuple(reversed(build_info.outputs)),
        models=tuple(reversed(build_info.models)),
        data=tuple(reversed(build_info.data)),
    )
    assert dump_json(build_sbom(shuffled)) == first
    assert "timestamp" not in json.loads(first)["metadata"]


def test_sbom_serial_is_content_derived_and_changes_with_an_output_digest(build_info: BuildInfo) -> None:
    serial = build_sbom(build_info)["serialNumber"]
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", serial)
    assert uuid.UUID(serial[len("urn:uuid:") :]).version == 5
    changed_output = dataclasses.replace(build_info.outputs[0], sha256="0" * 64)
    changed = dataclasses.replace(build_info, outputs=(changed_output, *build_info.outputs[1:]))
    assert build_sbom(changed)["serialNumber"] != serial


def test_sbom_timestamp_only_when_asked(build_info: BuildInfo) -> None:
    doc = build_sbom(build_info, timestamp="2025-03-01T10:05:30Z")
    assert doc["metadata"]["timestamp"] == "2025-03-01T10:05:30Z"
    validate_sbom(doc)
    assert doc["serialNumber"] != build_sbom(build_info)["serialNumber"]
    with pytest.raises(ValueError, match="RFC 3339"):
        build_sbom(build_info, timestamp="yesterday")


def test_model_tree_digest_equals_sha256_tree_of_the_folder(tmp_path: Path) -> None:
    # "a-c" sorts before "a/b" as a string but after it by path parts, the
    # order sha256_tree walks in: the digests agree only if that order is kept.
    root = tmp_path / "model"
    files = tuple(FileDigest(rel, _write(root / rel, rel.encode())) for rel in ("a-c.json", "a/b.bin", "a/a.bin"))
    model = ModelInfo("m", str(root), "diffusers_dir", None, files, None)
    component = sbom._model_component(model)
    tree = {p.name: p.value for p in component.properties}["pixelgen:tree-sha256"]
    assert tree == hashing.sha256_tree(root)


def test_sbom_rejects_bad_digests_and_paths(build_info: BuildInfo) -> None:
    bad_digest = dataclasses.replace(build_info.outputs[0], sha256="ABC")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        build_sbom(dataclasses.replace(build_info, outputs=(bad_digest,)))
    escaping = dataclasses.replace(build_info.outputs[0], path="../secret.png")
    with pytest.raises(ValueError, match="inside the output"):
        build_sbom(dataclasses.replace(build_info, outputs=(escaping,)))
    duplicate = (build_info.outputs[0], build_info.outputs[0])
    with pytest.raises(ValueError, match="duplicate output path"):
        build_sbom(dataclasses.replace(build_info, outputs=duplicate))
    with pytest.raises(ValueError, match="str -> str"):
        build_sbom(dataclasses.replace(build_info, tasks=(TaskInfo("render", {"steps": 30}),)))  # type: ignore[dict-item]


def test_validate_sbom_reports_schema_errors(build_info: BuildInfo) -> None:
    doc = build_sbom(build_info)
    doc["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not-hex"}]
    with pytest.raises(ValueError, match="not valid CycloneDX 1.6"):
        validate_sbom(doc)
    unknown_field = build_sbom(build_info)
    unknown_field["bogus"] = True
    with pytest.raises(ValueError, match="bogus"):
        validate_sbom(unknown_field)


# --------------------------------------------------------------------------- licences


@pytest.mark.parametrize(
    ("license_text", "restricted"),
    [
        ("CC-BY-NC-4.0", True),
        ("cc-by-nc-sa-4.0", True),
        ("Non-Commercial Research License", True),
        ("SDXL 0.9 research-only license", True),
        ("openrail++", False),
        ("CreativeML OpenRAIL-M", False),
        ("MIT", False),
        ("NCSA", False),  # University of Illinois/NCSA: permissive despite the letters
        (None, False),
    ],
)
def test_is_restricted_license(license_text: str | None, restricted: bool) -> None:
    assert is_restricted_license(license_text) is restricted


def test_restricted_licenses_are_surfaced_in_lines_and_sbom(build_info: BuildInfo) -> None:
    lines = restricted_licenses(build_info)
    assert len(lines) == 2
    assert "model 'retro'" in lines[0] and "CC-BY-NC-4.0" in lines[0]
    assert "LoRA 'pixel-art'" in lines[1] and "CC-BY-NC-SA-4.0" in lines[1]
    doc = build_sbom(build_info)
    # The library sorts properties, so compare as sets of lines.
    assert sorted(_props(doc["metadata"])[provenance.PROPERTY_RESTRICTED]) == sorted(lines)
    components = _components(doc)
    assert _props(components["model/retro"])[provenance.PROPERTY_RESTRICTED] == ["true"]
    assert _props(components["lora/pixel-art"])[provenance.PROPERTY_RESTRICTED] == ["true"]
    assert provenance.PROPERTY_RESTRICTED not in _props(components["model/sdxl"])  # openrail++


def test_no_restricted_property_when_all_licences_allow_commercial_use(build_info: BuildInfo) -> None:
    permissive = dataclasses.replace(build_info, models=build_info.models[:1], loras=())
    assert restricted_licenses(permissive) == []
    assert provenance.PROPERTY_RESTRICTED not in _props(build_sbom(permissive)["metadata"])


# --------------------------------------------------------------------------- provenance


def _check_with_in_toto(doc: dict) -> None:
    """The reference parser: Statement proto + its validate(), and the SLSA v1 predicate proto."""
    statement = json_format.ParseDict(doc, statement_pb2.Statement())
    Statement.copy_from_pb(statement).validate()
    # ParseDict rejects unknown fields and malformed timestamps.
    json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance())


def test_provenance_statement_is_valid_in_toto_slsa_v1(build_info: BuildInfo) -> None:
    doc = build_provenance(build_info)
    validate_provenance(doc)
    _check_with_in_toto(doc)
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"


def test_provenance_subjects_are_every_output(build_info: BuildInfo) -> None:
    doc = build_provenance(build_info)
    assert {s["name"]: s["digest"]["sha256"] for s in doc["subject"]} == {o.path: o.sha256 for o in build_info.outputs}


def test_provenance_records_parameters_dependencies_and_run(build_info: BuildInfo) -> None:
    predicate = build_provenance(build_info)["predicate"]
    definition = predicate["buildDefinition"]
    assert definition["buildType"] == provenance.BUILD_TYPE
    assert definition["externalParameters"] == {
        "manifest": {"name": "demo", "path": "assets.yaml"},
        "selection": ["hero", "tiles"],
    }
    assert definition["internalParameters"]["pixelgenVersion"] == "0.1.0"
    assert definition["internalParameters"]["environment"] == build_info.environment

    digests = {d["name"]: d.get("digest", {}).get("sha256") for d in definition["resolvedDependencies"]}
    assert definition["resolvedDependencies"][0]["annotations"]["kind"] == "manifest"
    assert digests["assets.yaml"] == build_info.data[0].sha256
    assert digests["palettes/pico8.hex"] == build_info.data[1].sha256
    for model in build_info.models:
        for file in model.files:
            assert digests[f"models/{model.name}/{file.path}"] == file.sha256
    assert digests["loras/pixel-art/pixel-art-xl.safetensors"] == build_info.loras[0].sha256
    builtin = next(d for d in definition["resolvedDependencies"] if d["name"] == "models/tiny")
    assert builtin["uri"] == "builtin:tiny-sdxl"

    run = predicate["runDetails"]
    assert run["builder"]["id"] == f"{provenance.BUILDER_ID_PREFIX}@v0.1.0"
    assert run["metadata"] == {
        "invocationId": build_info.invocation_id,
        "startedOn": "2025-03-01T10:00:00Z",
        "finishedOn": "2025-03-01T10:05:30Z",
    }


def test_provenance_of_all_selection_records_null(build_info: BuildInfo) -> None:
    doc = build_provenance(dataclasses.replace(build_info, selection=None))
    assert doc["predicate"]["buildDefinition"]["externalParameters"]["selection"] is None
    _check_with_in_toto(doc)


def test_provenance_needs_outputs_and_rfc3339_times(build_info: BuildInfo) -> None:
    with pytest.raises(ValueError, match="at least one output"):
        build_provenance(dataclasses.replace(build_info, outputs=()))
    with pytest.raises(ValueError, match="started_at"):
        build_provenance(dataclasses.replace(build_info, started_at="2025-03-01 10:00"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), "_type"),
        (lambda d: d.update(subject=[]), "non-empty"),
        (lambda d: d["subject"][0].update(digest={}), "digest"),
        (lambda d: d["subject"][0]["digest"].update(sha256="XYZ"), "hex"),
        (lambda d: d.update(predicateType="https://slsa.dev/provenance/v0.2"), "predicateType"),
        (lambda d: d["predicate"]["buildDefinition"].pop("buildType"), "buildType"),
        (lambda d: d["predicate"]["runDetails"]["builder"].pop("id"), "builder.id"),
        (lambda d: d["predicate"]["runDetails"]["metadata"].update(startedOn="noon"), "startedOn"),
        (lambda d: d["predicate"]["buildDefinition"]["resolvedDependencies"].append({}), "at least one of"),
    ],
)
def test_validate_provenance_rejects_broken_statements(build_info: BuildInfo, mutate, message: str) -> None:
    doc = build_provenance(build_info)
    mutate(doc)
    with pytest.raises(ValueError, match=message):
        validate_provenance(doc)


def test_in_toto_parser_rejects_what_validate_provenance_rejects(build_info: BuildInfo) -> None:
    # Cross-check that the hand-written validator is not looser than the reference on these cases.
    no_subject = build_provenance(build_info)
    no_subject["subject"] = []
    bad_time = build_provenance(build_info)
    bad_time["predicate"]["runDetails"]["metadata"]["startedOn"] = "noon"
    for doc in (no_subject, bad_time):
        with pytest.raises(ValueError):
            validate_provenance(doc)
        with pytest.raises((ValueError, json_format.ParseError)):  # validate() / protobuf parser
            _check_with_in_toto(doc)


# --------------------------------------------------------------------------- files


def test_write_provenance_files_writes_both_and_reports_digests(build_info: BuildInfo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_provenance_files(out, build_info)
    assert set(written) == {"sbom.cdx.json", "provenance.intoto.json"}
    for name, digest in written.items():
        assert hashing.sha256_file(out / name) == digest
    sbom_doc = json.loads((out / "sbom.cdx.json").read_text(encoding="utf-8"))
    validate_sbom(sbom_doc)
    assert (out / "sbom.cdx.json").read_text(encoding="utf-8") == dump_json(build_sbom(build_info))
    statement = json.loads((out / "provenance.intoto.json").read_text(encoding="utf-8"))
    _check_with_in_toto(statement)
    assert statement["predicate"]["runDetails"]["byproducts"] == [
        {"name": "sbom.cdx.json", "digest": {"sha256": written["sbom.cdx.json"]}}
    ]
    assert read_provenance_subjects(out / "provenance.intoto.json") == {o.path: o.sha256 for o in build_info.outputs}
    # Rewriting the same build gives the same SBOM bytes.
    assert write_provenance_files(out, build_info)["sbom.cdx.json"] == written["sbom.cdx.json"]


def test_write_provenance_files_writes_nothing_when_sbom_is_invalid(
    build_info: BuildInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_build_sbom = sbom.build_sbom

    def sbom_with_schema_error(info: BuildInfo, *, timestamp: str | None = None) -> dict:
        doc = real_build_sbom(info, timestamp=timestamp)
        doc["components"][0]["type"] = "not-a-component-type"
        return doc

    monkeypatch.setattr(sbom, "build_sbom", sbom_with_schema_error)
    out = tmp_path / "out-invalid"
    with pytest.raises(ValueError, match="not valid CycloneDX"):
        write_provenance_files(out, build_info)
    assert not out.exists() or list(out.iterdir()) == []


def test_write_provenance_files_writes_nothing_when_info_is_invalid(build_info: BuildInfo, tmp_path: Path) -> None:
    bad = dataclasses.replace(build_info, finished_at="later")
    out = tmp_path / "out-bad"
    with pytest.raises(ValueError, match="finished_at"):
        write_provenance_files(out, bad)
    assert not out.exists() or list(out.iterdir()) == []


def test_read_provenance_subjects_rejects_garbage(tmp_path: Path) -> None:
    not_json = tmp_path / "a.json"
    not_json.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        read_provenance_subjects(not_json)
    wrong = tmp_path / "b.json"
    wrong.write_text(json.dumps({"_type": "x"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not valid"):
        read_provenance_subjects(wrong)


def _with_a_trained_lora(info: BuildInfo) -> BuildInfo:
    images = tuple(DataInfo(name=f"house/{name}", kind="training_image", path=f"house-style/{name}", sha256=hashing.sha256_bytes(name.encode()))
                   for name in ("bat_01.png", "slime_00.png"))
    training = {"key": "a" * 64, "base_model": "sdxl", "settings": {"rank": 16, "steps": 1500, "lr": 0.0001},
                "dataset_sha256": "b" * 64, "images": [image.name for image in images], "metrics": {"final_loss": 0.08, "ssim_gain": None}}
    lora = LoraInfo(name="house", source="trained:house-style", weight_name=None, sha256="c" * 64, license="proprietary", training=training)
    return dataclasses.replace(info, loras=(*info.loras, lora), data=(*info.data, *images))


def test_a_trained_lora_has_its_dataset_and_training_parameters_in_the_sbom(build_info: BuildInfo) -> None:
    doc = build_sbom(_with_a_trained_lora(build_info))
    validate_sbom(doc)
    components = {c["bom-ref"]: c for c in doc["components"]}
    images = [c for ref, c in components.items() if ref.startswith("data/training_image/house/")]
    assert [c["type"] for c in images] == ["data", "data"] and all(c["data"][0]["type"] == "dataset" for c in images)
    card = components["lora/house"]["modelCard"]
    assert card["modelParameters"]["datasets"] == [{"ref": "data/training_image/house/bat_01.png"}, {"ref": "data/training_image/house/slime_00.png"}]
    properties = {p["name"]: p["value"] for p in card["properties"]}
    assert properties["pixelgen:train:rank"] == "16" and properties["pixelgen:train:base"] == "sdxl" and properties["pixelgen:train:key"] == "a" * 64
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [{"type": "final_loss", "value": "0.08"}]


def test_the_training_job_is_in_the_provenance_statement(build_info: BuildInfo) -> None:
    doc = build_provenance(_with_a_trained_lora(build_info))
    validate_provenance(doc)
    _check_with_in_toto(doc)
    (job,) = doc["predicate"]["buildDefinition"]["internalParameters"]["trainings"]
    assert job["lora"] == "house" and job["jobKey"] == "a" * 64 and job["weights"] == {"sha256": "c" * 64}
    assert job["dataset"] == {"path": "trained:house-style", "images": 2, "sha256": "b" * 64} and job["metrics"] == {"final_loss": 0.08}
    names = {d["name"]: d for d in doc["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert names["loras/house"]["annotations"]["kind"] == "trained-lora" and "house-style/slime_00.png" in names
    assert "trainings" not in build_provenance(build_info)["predicate"]["buildDefinition"]["internalParameters"]
