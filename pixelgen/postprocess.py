"""Turn an asset's raw renders into final pixel-art images (pure, no I/O).

All images of one asset are processed together because a shared learned
palette (``auto: N`` with ``shared: true``) is learned from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pixelgen.pixelart import hex_to_rgb, learn_palette, nine_slice_fit, palette_from_hex, palette_to_hex, pixelize
from pixelgen.plan import PostJob


@dataclass(frozen=True)
class PostResult:
    image: np.ndarray  # uint8 RGBA
    report: dict[str, Any]
    palette: list[str] | None  # the colours the image was snapped to


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
        outline=None if settings["outline"] is None else hex_to_rgb(settings["outline"]),
        anchor=settings["anchor"],
        wrap=job.wrap,
    )


def postprocess_asset(renders: Sequence[np.ndarray], jobs: Sequence[PostJob]) -> list[PostResult]:
    """Post-process every image of one asset; ``renders[i]`` belongs to ``jobs[i]``."""
    palette_spec = jobs[0].palette
    if palette_spec is None:
        palettes: list[np.ndarray | None] = [None] * len(jobs)
    elif "colors" in palette_spec:
        fixed = palette_from_hex(palette_spec["colors"])
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
        results.append(PostResult(image=image, report=report, palette=None if palette is None else palette_to_hex(palette)))
    return results
