"""deploy/k8s/: valid against the Kubernetes API schema, and consistent with the CLI it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pixelgen.cli import cli
from pixelgen.core.shard import parse_shard

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate (in the dev extra)")

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33"  # the oldest API this set-up needs: Job.backoffLimitPerIndex is GA from 1.33


def _documents() -> dict[str, dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_every_manifest_is_valid_against_the_kubernetes_schema(version: str) -> None:
    documents = _documents()
    assert set(documents) == {"Job/pixelgen-train", "Job/pixelgen-render", "Job/pixelgen-finish",
                              "PersistentVolumeClaim/pixelgen-cache", "PersistentVolumeClaim/pixelgen-work"}
    for name, document in documents.items():
        kubernetes_validate.validate(document, version, strict=True)  # raises on any unknown or mistyped field


def test_the_validator_rejects_a_broken_job() -> None:
    job = _documents()["Job/pixelgen-render"]
    job["spec"]["completions"] = "four"  # mistyped
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    job = _documents()["Job/pixelgen-render"]
    job["spec"]["template"]["spec"]["containers"][0]["gpus"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def _container(job: dict) -> dict:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def test_shards_and_finish_agree_with_each_other_and_the_cli() -> None:
    documents = _documents()
    train, render, finish = documents["Job/pixelgen-train"], documents["Job/pixelgen-render"], documents["Job/pixelgen-finish"]
    spec = render["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
    train_args, render_args, finish_args = _container(train)["args"], _container(render)["args"], _container(finish)["args"]
    shard = render_args[render_args.index("--shard") + 1]
    for index in range(spec["completions"]):  # every pod's JOB_COMPLETION_INDEX names one shard of N
        assert parse_shard(shard, {"JOB_COMPLETION_INDEX": str(index)}) == (index, spec["completions"])
    assert render_args[:2] == finish_args[:2] == ["build", render_args[1]]  # the same manifest
    assert "--finish" in finish_args
    assert train_args[:2] == ["train", render_args[1]]  # shards never train: the LoRAs of the same manifest, trained first
    environment = {e["name"]: e["value"] for e in _container(render)["env"]}
    for job in (train, finish):
        assert environment == {e["name"]: e["value"] for e in _container(job)["env"]}  # the same cache
    for job in (train, render, finish):
        mounts = {m["mountPath"] for m in _container(job)["volumeMounts"]}
        assert any(environment["PIXELGEN_CACHE"].startswith(mount + "/") for mount in mounts)
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"]["volumes"]
                  if "persistentVolumeClaim" in v}
        assert claims["data"] == "pixelgen-cache"
    # Both command lines are ones the CLI accepts (--help stops before anything runs).
    for args in (train_args, render_args, finish_args):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, result.output
