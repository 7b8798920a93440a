"""The graph of steps: order and cycles (:mod:`graphlib`), ancestors and descendants.

Graphs are plain mappings ``step -> steps it needs``; order among independent
steps follows the file, so plans and summaries read like the YAML.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["ancestors", "descendants", "find_cycles", "layers", "topological_order"]

Graph = Mapping[str, Sequence[str]]


def _sorter(graph: Graph) -> graphlib.TopologicalSorter[str]:
    """A sorter over the steps of ``graph`` (needs naming unknown steps are left out)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node, needs in graph.items():
        sorter.add(node, *(n for n in needs if n in graph))
    return sorter


def find_cycles(graph: Graph) -> list[list[str]]:
    """Return each cycle once, as ``[a, b, ..., a]`` (empty when the graph is a DAG).

    Examples
    --------
    >>> find_cycles({"a": ["b"], "b": ["a"], "c": []})
    [['a', 'b', 'a']]
    """
    edges = {node: [n for n in needs if n in graph] for node, needs in graph.items()}
    cycles: list[list[str]] = []
    while True:
        try:
            _sorter(edges).prepare()
        except graphlib.CycleError as exc:
            # graphlib names the loop from the needing side; ours reads "a needs b needs a"
            cycle = list(reversed(exc.args[1]))
            start = min(range(len(cycle) - 1), key=lambda i: _position(graph, cycle[i]))
            cycle = [*cycle[start:-1], *cycle[:start], cycle[start]]
            cycles.append(cycle)
            edges[cycle[0]] = [n for n in edges[cycle[0]] if n != cycle[1]]  # break it, look on
        else:
            return cycles


def _position(graph: Graph, node: str) -> int:
    return list(graph).index(node)


def topological_order(graph: Graph) -> list[str]:
    """Steps so that each comes after everything it needs; file order among equals."""
    return [step for layer in layers(graph) for step in layer]


def layers(graph: Graph) -> list[list[str]]:
    """Steps grouped by depth: layer 0 needs nothing, layer n needs only earlier layers.

    A graph with a cycle (which the validator reports first) yields what precedes it.
    """
    sorter = _sorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError:
        return []
    order = {node: i for i, node in enumerate(graph)}
    out: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.__getitem__)
        out.append(ready)
        sorter.done(*ready)
    return out


def ancestors(graph: Graph, steps: Iterable[str]) -> set[str]:
    """Every step that ``steps`` need, directly or not (excluding ``steps`` themselves)."""
    found: set[str] = set()
    todo = [n for s in steps for n in graph.get(s, ())]
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo.extend(graph.get(node, ()))
    return found


def descendants(graph: Graph, steps: Iterable[str]) -> set[str]:
    """Every step that needs one of ``steps``, directly or not (excluding ``steps``)."""
    needed_by: dict[str, list[str]] = {}
    for node, needs in graph.items():
        for need in needs:
            needed_by.setdefault(need, []).append(node)
    return ancestors(needed_by, steps)
