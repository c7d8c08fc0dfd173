"""Three --shard processes at once on one shared cache folder, then the finishing step: one plain build, byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MANIFEST = textwrap.dedent("""\
    version: 1
    name: game
    models: {tiny: {builtin: tiny-sdxl}}
    palettes: {pico: {builtin: pico-8}, learned: {auto: 6, shared: true}}
    defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico, pixelart: {cell: 8}}
    assets:
      - {id: hero, kind: sprite, prompt: a hero, seed: 1, variants: [1, 2]}
      - {id: slime, kind: sprite, prompt: a slime, seed: 2, palette: learned, variants: [1, 2]}
      - {id: bat, kind: sprite, prompt: a bat, seed: 3}
      - {id: coin, kind: sprite, prompt: a coin, seed: 4}
    """)

# Each process stands in for a GPU node: the build recipe with a seeded stand-in for the diffusion model.
NODE = textwrap.dedent("""\
    import hashlib, json, sys
    from pathlib import Path
    import numpy as np
    from pixelgen.core.workspace import BuildOptions
    from pixelgen.commands.build import build
    from pixelgen.core.shard import parse_shard

    class SeededGenerator:
        def render(self, jobs):
            return [np.random.default_rng(int(hashlib.sha256(f"{j.seed}{j.prompt}".encode()).hexdigest()[:8], 16))
                    .integers(0, 256, (j.height, j.width, 3), dtype=np.uint8) for j in jobs]

    manifest, out, shard = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    options = BuildOptions(out=out, progress=False, shard=parse_shard(shard) if shard != "-" else None)
    summary = build(manifest, options, make_generator=lambda ws: SeededGenerator())
    print(json.dumps({"rendered": summary.rendered, "built": summary.built, "failed": summary.failed}))
    """)


def _files(folder: Path) -> dict[str, bytes]:
    run_records = {"provenance.intoto.json", "report.html"}  # times and this run's counts
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in run_records}


def test_three_shard_processes_and_finish_equal_one_plain_build(tmp_path: Path) -> None:
    script = tmp_path / "node.py"
    script.write_text(NODE)
    for name in ("plain", "farm"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "game.yaml").write_text(MANIFEST)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    plain = subprocess.run([sys.executable, str(script), str(tmp_path / "plain" / "game.yaml"), str(tmp_path / "plain" / "out"), "-"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr

    farm_env = {**env, "PIXELGEN_CACHE": str(tmp_path / "shared-cache")}
    manifest = tmp_path / "farm" / "game.yaml"
    shards = [subprocess.Popen([sys.executable, str(script), str(manifest), str(tmp_path / "farm" / "out"), "3"],
                               env={**farm_env, "JOB_COMPLETION_INDEX": str(index)},  # as in a Kubernetes Indexed Job
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for index in range(3)]
    rendered = 0
    for process in shards:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        result = json.loads(stdout.strip().splitlines()[-1])
        assert not result["failed"]
        rendered += result["rendered"]
    assert rendered == 6  # each image rendered by exactly one shard
    assert not (tmp_path / "farm" / "out").exists() and not manifest.with_name("game.lock.json").exists()

    finish = subprocess.run([sys.executable, "-m", "pixelgen", "build", str(manifest), "--out", str(tmp_path / "farm" / "out"), "--finish", "--json"],
                            env=farm_env, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    assert json.loads(finish.stdout)["rendered"] == 0
    assert _files(tmp_path / "farm" / "out") == _files(tmp_path / "plain" / "out")
    assert manifest.with_name("game.lock.json").read_bytes() == (tmp_path / "plain" / "game.lock.json").read_bytes()


def test_a_bad_shard_is_refused_before_any_work(tmp_path: Path) -> None:
    manifest = tmp_path / "game.yaml"
    manifest.write_text(MANIFEST)
    for argument, words in (("3/3", "between 0 and N-1"), ("3", "JOB_COMPLETION_INDEX is not set")):
        env = {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX"}
        done = subprocess.run([sys.executable, "-m", "pixelgen", "build", str(manifest), "--shard", argument],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / ".pixelgen" / "cache").exists()
