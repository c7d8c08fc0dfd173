"""Turn an asset's raw renders into final pixel-art images (pure, no I/O).

All images of one asset are processed together: they share one cell size,
found jointly over the renders (an animation's frames, a character's
facings, a tileset's tiles), and a shared learned palette (``auto: N`` with
``shared: true``) is learned from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pixelgen.core.plan import PostJob
from pixelgen.pixelart import (
    GridResult,
    detect_grid_joint,
    learn_palette,
    nine_slice_fit,
    palette_from_hex,
    palette_to_hex,
    pixelize,
    undo_half_cell,
)
from pixelgen.pixelart.options import PixelArtOptions


@dataclass(frozen=True)
class PostResult:
    image: np.ndarray  # uint8 RGBA
    report: dict[str, Any]
    palette: list[str] | None  # the colours the image was snapped to


def _options(job: PostJob) -> PixelArtOptions:
    return PixelArtOptions(**job.pixelart)


def _call(job: PostJob) -> dict[str, Any]:
    """The per-image arguments of pixelize beside its options."""
    return dict(size=job.size, background=job.background, wrap=job.wrap)


def _shared_grids(renders: Sequence[np.ndarray], jobs: Sequence[PostJob]) -> tuple[list[GridResult | None], float | None]:
    """One cell size for every image of the set, each with its own phase; and the grid consistency."""
    if jobs[0].grid_set is None:
        return [None] * len(jobs), None
    sizes = {job.size for job in jobs}
    prior = sizes.pop() if len(sizes) == 1 else None
    grids, consistency = detect_grid_joint(list(renders), wrap=jobs[0].wrap, prior_size=prior)
    # The half-cell trap, decided once for the set so that its frames keep one cell size.
    grids = undo_half_cell(list(renders), grids, target=prior, wrap=jobs[0].wrap) or grids
    # A set with no visible grid is left to each image's own fallback.
    return [grid if grid.periodic else None for grid in grids], consistency


def postprocess_asset(renders: Sequence[np.ndarray], jobs: Sequence[PostJob]) -> list[PostResult]:
    """Post-process every image of one asset; ``renders[i]`` belongs to ``jobs[i]``."""
    grids, consistency = _shared_grids(renders, jobs)
    palette_spec = jobs[0].palette
    if palette_spec is None:
        palettes: list[np.ndarray | None] = [None] * len(jobs)
    elif "colors" in palette_spec:
        fixed = palette_from_hex(palette_spec["colors"])
        palettes = [fixed] * len(jobs)
    else:
        # Learn from the reduced images (one pixel per cell), not the raw
        # renders: the palette should describe what the asset will show.
        reduced = [
            pixelize(render, **_call(job), options=_options(job).with_changes(outline=None, colors="keep"), grid=grid,
                     palette=None).image
            for render, job, grid in zip(renders, jobs, grids)
        ]
        count = palette_spec["auto"]
        if "shared_with" in palette_spec:
            shared = learn_palette(reduced, n=count, seed=0)
            palettes = [shared] * len(jobs)
        else:
            palettes = [learn_palette([image], n=count, seed=0) for image in reduced]
    results = []
    for render, job, palette, grid in zip(renders, jobs, palettes, grids):
        outcome = pixelize(render, **_call(job), options=_options(job), grid=grid, palette=palette)
        image, report = outcome.image, dict(outcome.report)
        if job.border and tuple(report.get("cells") or job.size) != tuple(job.size):
            # The detected grid does not match the element's size: fitting by
            # crop or resample would cut into the 9-slice corners. Keep the
            # cell-level image and stretch only its centre band instead.
            cells = pixelize(render, **{**_call(job), "size": None}, options=_options(job), grid=grid, palette=palette)
            image = nine_slice_fit(cells.image, size=job.size, border=job.border)
            report = {**dict(cells.report), "size": list(job.size),
                      "notes": [*cells.report.get("notes", []), f"9-slice fit from {report['cells']} cells: corners kept, centre resized"]}
        if consistency is not None:
            report["grid_consistency"] = round(consistency, 4)
        results.append(PostResult(image=image, report=report, palette=None if palette is None else palette_to_hex(palette)))
    return results
