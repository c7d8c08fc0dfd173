"""Turn an asset's raw renders into final pixel-art images (pure, no I/O).

All images of one asset are processed together because a shared learned
palette (``auto: N`` with ``shared: true``) is learned from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pixelgen.pixelart import learn_palette, nine_slice_fit, pixelize
from pixelgen.plan import PostJob


@dataclass(frozen=True)
class PostResult:
    image: np.ndarray  # uint8 RGBA
    report: dict[str, Any]
    palette: list[str] | None  # the colours the image was snapped to


def _hex_to_array(colors: Sequence[str]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.uint8)


def _array_to_hex(palette: np.ndarray) -> list[str]:
    return ["#%02x%02x%02x" % tuple(int(v) for v in row) for row in palette]


def _rgb(color: str | None) -> tuple[int, int, int] | None:
    if color is None:
        return None
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _options(job: PostJob) -> dict[str, Any]:
    settings = job.pixelart
    return dict(
        size=job.size,
        cell=settings["cell"],
        on_grid_failure=settings["on_grid_failure"],
        min_confidence=settings["min_confidence"],
        reduce=settings["reduce"],
        dither=settings["dither"],
        background=job.background,
        background_tolerance=settings["background_tolerance"],
        min_speck=settings["min_speck"],
        outline=_rgb(settings["outline"]),
        anchor=settings["anchor"],
        wrap=job.wrap,
    )


def postprocess_asset(renders: Sequence[np.ndarray], jobs: Sequence[PostJob]) -> list[PostResult]:
    """Post-process every image of one asset; ``renders[i]`` belongs to ``jobs[i]``."""
    palette_spec = jobs[0].palette
    if palette_spec is None:
        palettes: list[np.ndarray | None] = [None] * len(jobs)
    elif "colors" in palette_spec:
        fixed = _hex_to_array(palette_spec["colors"])
        palettes = [fixed] * len(jobs)
    else:
        # Learn from the reduced images (one pixel per cell), not the raw
        # renders: the palette should describe what the asset will show.
        reduced = [pixelize(render, **{**_options(job), "outline": None}, palette=None).image for render, job in zip(renders, jobs)]
        count = palette_spec["auto"]
        if "shared_with" in palette_spec:
            shared = learn_palette(reduced, n=count, seed=0)
            palettes = [shared] * len(jobs)
        else:
            palettes = [learn_palette([image], n=count, seed=0) for image in reduced]
    results = []
    for render, job, palette in zip(renders, jobs, palettes):
        outcome = pixelize(render, **_options(job), palette=palette)
        image, report = outcome.image, dict(outcome.report)
        if job.border and tuple(report.get("cells") or job.size) != tuple(job.size):
            # The detected grid does not match the element's size: fitting by
            # crop or resample would cut into the 9-slice corners. Keep the
            # cell-level image and stretch only its centre band instead.
            cells = pixelize(render, **{**_options(job), "size": None}, palette=palette)
            image = nine_slice_fit(cells.image, size=job.size, border=job.border)
            report = {**dict(cells.report), "size": list(job.size),
                      "notes": [*cells.report.get("notes", []), f"9-slice fit from {report['cells']} cells: corners kept, centre resized"]}
        results.append(PostResult(image=image, report=report, palette=None if palette is None else _array_to_hex(palette)))
    return results
