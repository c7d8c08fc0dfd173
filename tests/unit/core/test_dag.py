"""Levels, cycles and closures of dependency graphs."""

from __future__ import annotations

import pytest

from pixelgen.core.dag import DependencyCycle, closure, dependants, level_of, levels


def test_levels_put_each_node_after_everything_it_needs():
    graph = {"frame1": ["frame0"], "frame2": ["frame0"], "shield": ["frame2"], "tree": []}
    assert levels(graph) == [["frame0", "tree"], ["frame1", "frame2"], ["shield"]]
    assert level_of(graph) == {"frame0": 0, "tree": 0, "frame1": 1, "frame2": 1, "shield": 2}


@pytest.mark.parametrize("graph, shown", [
    ({"a": ["b"], "b": ["c"], "c": ["a"]}, "a → b → c → a"),
    ({"a": ["a"]}, "a → a"),
])
def test_a_cycle_is_named_in_dependency_order(graph, shown):
    with pytest.raises(DependencyCycle) as raised:
        levels(graph)
    assert str(raised.value) == f"dependency cycle: {shown}"
    assert raised.value.cycle[0] == raised.value.cycle[-1]


def test_closure_and_dependants():
    graph = {"shield": ["hero"], "hero": ["base"], "tree": []}
    assert closure(graph, ["shield"]) == {"shield", "hero", "base"}
    assert closure(graph, ["tree"]) == {"tree"}
    assert dependants(graph, ["hero"]) == {"hero", "shield"}
