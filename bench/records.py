"""Time to build and strictly validate the build records (SBOM + provenance) for N assets.

    python bench/records.py [--sizes 1000,10000,100000]

Stands in for the build with a record of N single-image assets (one model, one
palette, the manifest, and the Python environment this runs in), as a first
build of such a manifest records them: the time is what ``write_provenance_files``
spends before writing, split into building and validating each document.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pixelgen import __version__  # noqa: E402
from pixelgen.records.intoto import build_provenance, validate_provenance  # noqa: E402
from pixelgen.records.provenance import (  # noqa: E402
    BuildInfo,
    DataInfo,
    FileDigest,
    ModelInfo,
    OutputInfo,
    TaskInfo,
)
from pixelgen.records.sbom import build_sbom, validate_sbom  # noqa: E402


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stand_in_info(count: int) -> BuildInfo:
    """A build record of ``count`` single-image assets."""
    outputs = tuple(
        OutputInfo(
            path=f"sprite{index:06d}/sprite{index:06d}.png",
            sha256=_digest(f"output {index}"),
            asset_id=f"sprite{index:06d}",
            job_key=_digest(f"job {index}"),
            prompt=f"sprite number {index}",
            seed=index,
            model="tiny",
        )
        for index in range(count)
    )
    return BuildInfo(
        manifest_name=f"bench{count}",
        manifest_path=f"bench{count}.yaml",
        selection=None,
        pixelgen_version=__version__,
        invocation_id="00000000-0000-4000-8000-000000000000",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:10:00Z",
        models=(
            ModelInfo(
                name="tiny",
                source="builtin:tiny-sdxl",
                kind="builtin",
                revision=None,
                files=(FileDigest("unet/model.safetensors", _digest("unet")), FileDigest("vae/model.safetensors", _digest("vae"))),
                license="openrail++",
            ),
        ),
        loras=(),
        data=(
            DataInfo(name=f"bench{count}", kind="manifest", path=f"bench{count}.yaml", sha256=_digest("manifest")),
            DataInfo(name="pico", kind="palette", path="pico.palette", sha256=_digest("palette")),
        ),
        outputs=outputs,
        tasks=(TaskInfo("render", {"batch_sizes": "1"}), TaskInfo("post-process", {"algorithm_version": "1"})),
        environment={"python": sys.version.split()[0]},
    )


def measure(count: int) -> dict[str, float]:
    info = stand_in_info(count)
    times: dict[str, float] = {}
    started = time.perf_counter()
    sbom = build_sbom(info)
    times["sbom build"] = time.perf_counter() - started
    started = time.perf_counter()
    validate_sbom(sbom)
    times["sbom validate"] = time.perf_counter() - started
    started = time.perf_counter()
    statement = build_provenance(info, byproducts={"sbom.cdx.json": _digest("sbom")})
    times["provenance build"] = time.perf_counter() - started
    started = time.perf_counter()
    validate_provenance(statement)
    times["provenance validate"] = time.perf_counter() - started
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    columns = ("sbom build", "sbom validate", "provenance build", "provenance validate", "total")
    print(f"{'assets':>7} " + " ".join(f"{name + ' s':>21}" for name in columns))
    for count in (int(size) for size in args.sizes.split(",")):
        times = measure(count)
        print(f"{count:>7} " + " ".join(f"{times[name]:>21.2f}" for name in columns), flush=True)


if __name__ == "__main__":
    main()
