"""--shard I/N: shards fill the cache, a finishing build writes exactly what one plain build writes."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pixelgen.commands.build import build
from pixelgen.core.shard import parse_shard, select, shard_of
from pixelgen.core.workspace import BuildOptions
from pixelgen.errors import EnvironmentProblem, InputError


class SeededGenerator:
    """Stands in for the diffusion model: an image that depends on the seed and prompt only."""

    def __init__(self) -> None:
        self.rendered: list[str] = []

    def render(self, jobs):
        self.rendered.extend(job.key for job in jobs)
        images = []
        for job in jobs:
            rng = np.random.default_rng(int(hashlib.sha256(f"{job.seed}{job.prompt}".encode()).hexdigest()[:8], 16))
            images.append(rng.integers(0, 256, (job.height, job.width, 3), dtype=np.uint8))
        return images


def _manifest(folder: Path) -> Path:
    path = folder / "game.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        name: game
        models: {tiny: {builtin: tiny-sdxl}}
        palettes: {pico: {builtin: pico-8}, learned: {auto: 6, shared: true}}
        defaults: {model: tiny, size: [8, 8], render: {width: 64, height: 64, steps: 2}, palette: pico, pixelart: {cell: 8}}
        assets:
          - {id: hero, kind: sprite, prompt: a hero, seed: 1, variants: [1, 2]}
          - {id: slime, kind: sprite, prompt: a slime, seed: 2, palette: learned, variants: [1, 2, 3]}
          - {id: bat, kind: sprite, prompt: a bat, seed: 3}
          - {id: coin, kind: sprite, prompt: a coin, seed: 4}
          - {id: chest, kind: sprite, prompt: a chest, seed: 5}
          - {id: door, kind: sprite, prompt: a door, seed: 6}
        """))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("text", "environ", "expected"), [
    ("0/3", {}, (0, 3)),
    ("2/3", {}, (2, 3)),
    ("3", {"JOB_COMPLETION_INDEX": "1"}, (1, 3)),
    ("5/2", {}, None),
])
def test_parse_shard(text: str, environ: dict, expected) -> None:
    if expected is None:
        with pytest.raises(InputError, match="between 0 and N-1"):
            parse_shard(text, environ)
    else:
        assert parse_shard(text, environ) == expected


@pytest.mark.parametrize("text", ["3/3", "a/3", "-1/3", "1/0", "1/", ""])
def test_parse_shard_rejects_with_the_fix(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text, {})


def test_shard_from_job_completion_index_needs_the_variable() -> None:
    with pytest.raises(InputError, match="JOB_COMPLETION_INDEX is not set"):
        parse_shard("4", {})


def test_every_asset_is_in_exactly_one_shard_and_the_split_is_even() -> None:
    assets = [(f"a{i}", [hashlib.sha256(f"{i}/{j}".encode()).hexdigest() for j in range(3)]) for i in range(3000)]
    shards = [select(assets, (index, 3)) for index in range(3)]
    assert set().union(*shards) == {asset_id for asset_id, _ in assets}
    assert sum(len(shard) for shard in shards) == 3000
    assert all(900 < len(shard) < 1100 for shard in shards)
    assert shard_of(["f" * 64, "0" * 64], 7) == 0  # the smallest key decides, whatever the order


def test_three_shards_and_finish_equal_one_plain_build(tmp_path: Path) -> None:
    plain_dir, farm_dir = tmp_path / "plain", tmp_path / "farm"
    plain_dir.mkdir(), farm_dir.mkdir()
    plain = _manifest(plain_dir)
    build(plain, BuildOptions(out=plain_dir / "out", progress=False), make_generator=lambda ws: SeededGenerator())

    manifest = _manifest(farm_dir)
    cache = farm_dir / "shared-cache"
    rendered: list[str] = []
    for index in range(3):
        generator = SeededGenerator()
        summary = build(manifest, BuildOptions(out=farm_dir / f"unused{index}", cache_dir=cache, progress=False, shard=(index, 3)),
                        make_generator=lambda ws, g=generator: g)
        assert not summary.failed and summary.built == summary.rendered == len(generator.rendered)
        assert not (farm_dir / f"unused{index}").exists()  # a shard writes the cache only
        rendered += generator.rendered
    assert len(rendered) == len(set(rendered)) == 9  # every image rendered once, by one shard
    assert not manifest.with_name("game.lock.json").exists()

    finished = build(manifest, BuildOptions(out=farm_dir / "out", cache_dir=cache, progress=False, finish=True))
    assert finished.rendered == 0 and finished.cached == 9

    assert _files(farm_dir / "out").keys() == _files(plain_dir / "out").keys()
    # The provenance's invocation id and times differ by design, and the report counts how this run
    # got its images (built here or from the cache); every other file is the same bytes.
    run_records = {"game/provenance.intoto.json", "game/report.html"}
    for name, data in _files(plain_dir / "out").items():
        if name not in run_records:
            assert _files(farm_dir / "out")[name] == data, name
    assert manifest.with_name("game.lock.json").read_bytes() == plain.with_name("game.lock.json").read_bytes()


def test_finish_refuses_to_render_what_no_shard_rendered(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    cache = tmp_path / "cache"
    build(manifest, BuildOptions(out=tmp_path / "x", cache_dir=cache, progress=False, shard=(0, 3)),
          make_generator=lambda ws: SeededGenerator())
    with pytest.raises(EnvironmentProblem, match="--finish: some renders are not in the cache"):
        build(manifest, BuildOptions(out=tmp_path / "out", cache_dir=cache, progress=False, finish=True))
    assert not (tmp_path / "out").exists() and not manifest.with_name("game.lock.json").exists()
