"""Builders on different machines sharing one bucket as their cache: S3 (moto's server) and GCS (an emulator), both started by the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gcs_helpers import gcs_server, new_gcs_bucket
from s3_helpers import new_bucket, s3_server

from pixelgen.files.hashing import sha256_bytes

BUILDER = textwrap.dedent("""\
    import hashlib, json, sys, time
    from pathlib import Path
    import numpy as np
    from pixelgen.core.workspace import BuildOptions
    from pixelgen.commands.build import build

    class SeededGenerator:  # stands in for the diffusion model; slow enough that the two builders overlap
        def render(self, jobs):
            time.sleep(0.2 * len(jobs))
            return [np.random.default_rng(int(hashlib.sha256(f"{j.seed}{j.prompt}".encode()).hexdigest()[:8], 16))
                    .integers(0, 256, (j.height, j.width, 3), dtype=np.uint8) for j in jobs]

    summary = build(Path(sys.argv[1]), BuildOptions(out=Path(sys.argv[2]), progress=False), make_generator=lambda ws: SeededGenerator())
    print(json.dumps({"built": summary.built, "rendered": summary.rendered, "cached": summary.cached, "failed": summary.failed}))
    """)

MANIFEST = textwrap.dedent("""\
    version: 1
    name: game
    models: {tiny: {builtin: tiny-sdxl}}
    palettes: {pico: {builtin: pico-8}}
    defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico, pixelart: {cell: 8}}
    assets:
      - {id: hero, kind: sprite, prompt: a hero, seed: 1, variants: [1, 2]}
      - {id: slime, kind: sprite, prompt: a slime, seed: 2}
      - {id: bat, kind: sprite, prompt: a bat, seed: 3}
      - {id: coin, kind: sprite, prompt: a coin, seed: 4}
      - {id: chest, kind: sprite, prompt: a chest, seed: 5}
    """)


@pytest.fixture(scope="module")
def s3():
    with s3_server() as environment:
        yield environment


@pytest.fixture(scope="module")
def gcs():
    with gcs_server() as environment:
        yield environment


@pytest.fixture(params=["s3", "gs"])
def bucket(request) -> tuple[str, dict[str, str], object]:
    """(a fresh bucket's URL, the environment a builder needs for it, an fsspec file system on it)."""
    if request.param == "s3":
        environment = request.getfixturevalue("s3")
        import s3fs

        return new_bucket(), environment, s3fs.S3FileSystem(skip_instance_cache=True)
    environment = request.getfixturevalue("gcs")
    import gcsfs

    return new_gcs_bucket(), environment, gcsfs.GCSFileSystem(skip_instance_cache=True)


def _checkout(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "game.yaml").write_text(MANIFEST)
    return folder / "game.yaml"


def _outputs(folder: Path) -> dict[str, bytes]:
    run_records = {"provenance.intoto.json", "report.html"}  # times and this run's counts
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in run_records}


def test_two_concurrent_builders_share_one_bucket(bucket, tmp_path: Path) -> None:
    url, bucket_environment, fs = bucket
    script = tmp_path / "builder.py"
    script.write_text(BUILDER)
    environment = {**os.environ, **bucket_environment, "PIXELGEN_CACHE": url, "HF_HUB_OFFLINE": "1"}
    processes = []
    for name in ("a", "b"):
        manifest = _checkout(tmp_path, name)
        env = {**environment, "PIXELGEN_CACHE_LOCAL": str(tmp_path / name / "local-cache")}
        processes.append(subprocess.Popen([sys.executable, str(script), str(manifest), str(tmp_path / name / "out")],
                                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert all(r["built"] + r["cached"] == 6 and not r["failed"] for r in results)
    assert _outputs(tmp_path / "a" / "out") == _outputs(tmp_path / "b" / "out")

    # The bucket: one record per job (both builders made the same bytes), every object intact.
    base = url.split("://", 1)[1]
    records = [p for p in fs.find(f"{base}/jobs") if p.endswith(".json")]
    keys = {p.rsplit("/", 2)[-2] for p in records}
    assert len(records) == len(keys) == 12  # 6 renders and 6 post-processed images
    for path in fs.find(f"{base}/objects"):
        shard, name = path.rsplit("/", 2)[-2:]
        assert sha256_bytes(fs.cat_file(path)) == shard + name

    # A third machine with an empty local cache: everything from the bucket, through the command line, nothing rendered.
    manifest = _checkout(tmp_path, "c")
    done = subprocess.run([sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(tmp_path / "c" / "out"), "--finish", "--json"],
                          env={**environment, "PIXELGEN_CACHE_LOCAL": str(tmp_path / "c" / "local-cache")},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rendered"] == 0 and summary["cached"] == 6
    assert _outputs(tmp_path / "c" / "out") == _outputs(tmp_path / "a" / "out")
    assert (tmp_path / "c" / "local-cache" / "objects").is_dir()  # read through into the local copy

    gc = subprocess.run([sys.executable, "-m", "pixelgen", "gc", str(manifest), "--json"],
                        env={**environment, "PIXELGEN_CACHE_LOCAL": str(tmp_path / "c" / "local-cache")},
                        capture_output=True, text=True, timeout=120)
    assert gc.returncode == 0, gc.stderr
    assert json.loads(gc.stdout)["cache"] == url and json.loads(gc.stdout)["removed"] == 0  # everything is in the lock
