"""Every build writes a valid SBOM and provenance statement; verify catches tampering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import build_json, outputs, run_cli

from pixelgen.formats.png import read_png_text

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def _docs(project: Path) -> tuple[dict, dict]:
    out = project / "assets_out" / "small"
    return json.loads((out / "sbom.cdx.json").read_text()), json.loads((out / "provenance.intoto.json").read_text())


def test_build_writes_valid_sbom_and_provenance(project):
    build_json(project)
    sbom, statement = _docs(project)
    # Validated by cyclonedx-python-lib's strict 1.6 validator...
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(sbom)) is None
    assert sbom["specVersion"] == "1.6" and "timestamp" not in sbom["metadata"]
    types = {c["type"] for c in sbom["components"]}
    assert {"machine-learning-model", "data", "file", "library"} <= types
    # Output files are nested under one component per asset.
    files = {c["name"]: c for group in sbom["components"] if group["bom-ref"].startswith("asset/") for c in group["components"]}
    lock = json.loads((project / "manifests" / "small.lock.json").read_text())
    for path, entry in lock["outputs"].items():
        assert files[path]["hashes"][0]["content"] == entry["sha256"]
    assert sbom["formulation"]
    # ...and the statement by the in-toto attestation reference implementation.
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2

    proto = json_format.ParseDict(statement, statement_pb2.Statement())
    assert proto.predicate_type == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    recorded = {path: entry["sha256"] for path, entry in lock["outputs"].items()}
    recorded.update({path: entry["sha256"] for path, entry in lock["packs"].items()})
    assert subjects == recorded
    dependencies = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert any("small.yaml" in (d.get("name", "") + d.get("uri", "")) for d in dependencies)


def test_sbom_is_reproducible_and_sbom_command_matches(project, tmp_path_factory):
    build_json(project)
    sbom_bytes = (project / "assets_out" / "small" / "sbom.cdx.json").read_bytes()
    printed = run_cli(project, "sbom", MANIFEST)
    assert printed.code == 0 and printed.out.encode() == sbom_bytes
    other = tmp_path_factory.mktemp("other")
    shutil.copytree(project / "manifests", other / "manifests", ignore=shutil.ignore_patterns("*.lock.json"))
    build_json(other)
    assert (other / "assets_out" / "small" / "sbom.cdx.json").read_bytes() == sbom_bytes


def test_verify_passes_then_catches_a_hand_edited_asset(project):
    build_json(project)
    ok = run_cli(project, "verify", MANIFEST, "--render-sample", "2")
    assert ok.code == 0, ok.out + ok.err
    assert "re-rendered" in ok.err
    target = project / "assets_out" / "small" / "hud" / "button.png"
    target.write_bytes(target.read_bytes() + b"\0")
    bad = run_cli(project, "verify", MANIFEST)
    assert bad.code == 1 and "hud/button.png" in bad.out and "modified" in bad.out


def test_verify_catches_a_swapped_model_file(project):
    # The tiny model as a local diffusers folder, so its files are the project's.
    models = project / "manifests" / "models"
    shutil.copytree(next((project / "manifests" / ".pixelgen" / "cache" / "models").iterdir()), models / "tiny")
    path = project / MANIFEST
    path.write_text(path.read_text().replace("tiny: {builtin: tiny-sdxl}", "tiny: {path: models/tiny}"))
    build_json(project)
    assert run_cli(project, "verify", MANIFEST).code == 0
    weights = models / "tiny" / "unet" / "diffusion_pytorch_model.safetensors"
    import os

    stat = weights.stat()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size: a swapped file, not a truncated one
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    bad = run_cli(project, "verify", MANIFEST, "--out", "assets_out")
    assert bad.code == 1 and "model tiny" in bad.out and "differ" in bad.out


def test_restricted_licence_is_surfaced(project):
    path = project / MANIFEST
    path.write_text(path.read_text().replace("tiny: {builtin: tiny-sdxl}", "tiny: {builtin: tiny-sdxl, license: CC-BY-NC-4.0}"))
    result = run_cli(project, "build", MANIFEST)
    assert result.code == 0 and "CC-BY-NC-4.0" in result.err
    sbom, _ = _docs(project)
    assert "CC-BY-NC-4.0" in json.dumps(sbom["metadata"])


def test_strip_metadata(project):
    build_json(project, "--strip-metadata")
    for data in outputs(project).values():
        assert "parameters" not in read_png_text(data)
