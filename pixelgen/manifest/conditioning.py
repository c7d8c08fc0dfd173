"""Linking conditioning references between assets, and refusing cycles.

``asset:ID`` and ``asset:ID/IMAGE`` references are checked once every asset is
expanded: the asset and image must exist (``asset:ID`` means its first image),
and no image may need itself through a chain of references.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pixelgen.core.dag import DependencyCycle, levels
from pixelgen.manifest.model import Asset, ConditionImage, ImageSpec


def link_asset_references(assets: list[Asset], references: list[tuple[str, str, ConditionImage, str]], checker: Any) -> list[Asset]:
    """Assets with every ``asset:`` reference completed to ``ID/IMAGE``; problems go to ``checker``."""
    images = {asset.id: [image.name for image in asset.images] for asset in assets}
    completed: dict[str, str] = {}
    where: dict[tuple[str, str], str] = {}
    for asset_id, image, reference, pointer in references:
        target_asset, _, target_image = reference.source.partition("/")
        if target_asset not in images:
            close = [name for name in images if name.startswith(target_asset[:3])][:5]
            checker.add(pointer, f"{reference.written!r} names no asset {target_asset!r}",
                        "use the id of an asset of this manifest (after matrix expansion)" + (f", e.g. {', '.join(close)}" if close else ""))
            continue
        if not target_image:
            target_image = images[target_asset][0]
        elif target_image not in images[target_asset]:
            shown = ", ".join(images[target_asset][:8]) + (" …" if len(images[target_asset]) > 8 else "")
            checker.add(pointer, f"{reference.written!r}: asset {target_asset!r} has no image {target_image!r}", f"use one of: {shown}")
            continue
        completed[reference.source] = f"{target_asset}/{target_image}"
        where.setdefault((asset_id, image), pointer)
    linked = [_with_linked(asset, completed) for asset in assets]
    graph = {f"{asset.id}/{image.name}": image.upstream for asset in linked for image in asset.images}
    try:
        levels(graph)
    except DependencyCycle as cycle:
        first = str(cycle.cycle[0]).split("/", 1)
        checker.add(where.get((first[0], first[1]), "/assets"), f"{cycle} (each image needs the next one's render)",
                    "break the cycle: remove or change one of these references")
    return linked


def _with_linked(asset: Asset, completed: dict[str, str]) -> Asset:
    def link(reference: ConditionImage | None) -> ConditionImage | None:
        if reference is None or reference.kind != "asset" or reference.source not in completed:
            return reference
        return dataclasses.replace(reference, source=completed[reference.source])

    def image_linked(image: ImageSpec) -> ImageSpec:
        if image.init is None and not image.control and image.style is None:
            return image
        init = image.init and dataclasses.replace(image.init, image=link(image.init.image), mask=link(image.init.mask))
        control = tuple(dataclasses.replace(use, image=link(use.image)) for use in image.control)
        style = image.style and dataclasses.replace(image.style, images=tuple(link(i) for i in image.style.images))
        return dataclasses.replace(image, init=init, control=control, style=style)

    return dataclasses.replace(asset, images=tuple(image_linked(image) for image in asset.images))
