"""Dependency graphs of images and jobs: levels, cycles, closures. Pure.

An image rendered from another image's render (img2img, inpainting, a
ControlNet fed another asset's render, an animation frame derived from frame
0) depends on it. Jobs run level by level: level 0 needs nothing, level n
needs only jobs of lower levels, so every job of one level can run at once
(and jobs of a level sharing a pipeline configuration batch together).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Hashable, Iterable, Mapping, TypeVar

Node = TypeVar("Node", bound=Hashable)


class DependencyCycle(ValueError):
    """A cycle of dependencies; ``cycle`` lists its nodes, the first repeated at the end."""

    def __init__(self, cycle: list) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " → ".join(map(str, cycle)))


def levels(dependencies: Mapping[Node, Iterable[Node]]) -> list[list[Node]]:
    """Nodes grouped by level (sorted within a level); raises ``DependencyCycle``.

    Every node a dependency list names is a node too, even if it has no entry.
    """
    sorter: TopologicalSorter = TopologicalSorter()
    for node, upstream in dependencies.items():
        sorter.add(node, *upstream)
    try:
        sorter.prepare()
    except CycleError as exc:
        # graphlib gives the cycle as [a, b, …, a] in reverse dependency order: show it as "a needs b needs …".
        raise DependencyCycle(list(reversed(exc.args[1]))) from None
    result: list[list[Node]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=repr)
        result.append(ready)
        sorter.done(*ready)
    return result


def level_of(dependencies: Mapping[Node, Iterable[Node]]) -> dict[Node, int]:
    """Each node's level: 0 without dependencies, else one more than its highest dependency's."""
    return {node: index for index, level in enumerate(levels(dependencies)) for node in level}


def closure(dependencies: Mapping[Node, Iterable[Node]], roots: Iterable[Node]) -> set[Node]:
    """The roots and everything they need, transitively."""
    seen: set[Node] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(dependencies.get(node, ()))
    return seen


def dependants(dependencies: Mapping[Node, Iterable[Node]], roots: Iterable[Node]) -> set[Node]:
    """The roots and everything that needs them, transitively."""
    reverse: dict[Node, set[Node]] = {}
    for node, upstream in dependencies.items():
        for other in upstream:
            reverse.setdefault(other, set()).add(node)
    return closure(reverse, roots)
