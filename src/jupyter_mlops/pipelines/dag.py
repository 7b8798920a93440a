"""The graph of steps: order, cycles, ancestors and descendants.

Graphs are plain mappings ``step -> steps it needs``; order among independent
steps follows the file, so plans and summaries read like the YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["ancestors", "descendants", "find_cycles", "layers", "topological_order"]

Graph = Mapping[str, Sequence[str]]


def find_cycles(graph: Graph) -> list[list[str]]:
    """Return each cycle once, as ``[a, b, ..., a]`` (empty when the graph is a DAG).

    Examples
    --------
    >>> find_cycles({"a": ["b"], "b": ["a"], "c": []})
    [['a', 'b', 'a']]
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for need in graph.get(node, ()):
            if state.get(need) == 1:
                cycle = [*path[path.index(need) :], need]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif need in graph and need not in state:
                visit(need)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def topological_order(graph: Graph) -> list[str]:
    """Steps so that each comes after everything it needs; file order among equals."""
    return [step for layer in layers(graph) for step in layer]


def layers(graph: Graph) -> list[list[str]]:
    """Steps grouped by depth: layer 0 needs nothing, layer n needs only earlier layers."""
    depth: dict[str, int] = {}

    def level(node: str) -> int:
        if node not in depth:
            depth[node] = 0  # guards a cycle the validator already reported
            depth[node] = 1 + max((level(n) for n in graph.get(node, ()) if n in graph), default=-1)
        return depth[node]

    for node in graph:
        level(node)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in graph:
        out[depth[node]].append(node)
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
