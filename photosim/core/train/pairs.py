"""From user labels to the relations the trainer uses.

Labels come as pairs ``(a, b, same)`` and triplets ``(anchor, positive,
negative)``, all indexes into the array of base vectors. A triplet says
``same(a, p)`` and ``different(a, n)``. "Same" is transitive, so the photos
linked by "same" form connected components; "different" then holds between
whole components: same(a, b) and different(a, c) make the triplet (a, b, c).
Turning a few hundred labels into component relations multiplies the
triplets the miner can find (300 random triplets over 200 photos of 10
classes recover nearly the full class structure).

A "different" label inside one component contradicts the "same" links; it is
dropped and counted rather than raised, since users mislabel and one slip
should not block training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..unionfind import UnionFind


@dataclass(frozen=True)
class LabelGraph:
    """Components of "same" links and which components are declared different.

    ``nodes`` are the labelled photo indexes (sorted), ``component[i]`` the
    component id of ``nodes[i]``, ``different`` a symmetric (C, C) bool matrix.
    """

    nodes: np.ndarray
    component: np.ndarray
    different: np.ndarray
    conflicts: int

    @property
    def n_components(self) -> int:
        return int(self.different.shape[0])

    def component_of(self, indexes: np.ndarray) -> np.ndarray:
        """Component id per index into the base vectors, -1 for unlabelled photos."""
        indexes = np.asarray(indexes, dtype=np.int64)
        out = np.full(indexes.shape, -1, dtype=np.int64)
        if len(self.nodes) == 0:
            return out
        pos = np.clip(np.searchsorted(self.nodes, indexes), 0, len(self.nodes) - 1)
        found = self.nodes[pos] == indexes
        out[found] = self.component[pos[found]]
        return out

    def n_implied_triplets(self) -> int:
        """How many (a, p, n) triplets the components imply (a != p)."""
        sizes = np.bincount(self.component, minlength=self.n_components).astype(np.int64)
        pairs = sizes * (sizes - 1)
        return int((pairs[:, None] * self.different * sizes[None, :]).sum())


def _as_rows(arr: np.ndarray | None, width: int, name: str) -> np.ndarray:
    if arr is None:
        return np.zeros((0, width), dtype=np.int64)
    out = np.asarray(arr, dtype=np.int64).reshape(-1, width) if np.size(arr) else np.zeros((0, width), np.int64)
    if out.ndim != 2 or out.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width})")
    return out


def build_graph(triplets: np.ndarray | None = None, pairs: np.ndarray | None = None) -> LabelGraph:
    """Union "same" links into components and lift "different" to components.

    ``triplets``: (T, 3) ints (anchor, positive, negative).
    ``pairs``: (P, 3) ints (a, b, same) with same in {0, 1}.
    """
    t = _as_rows(triplets, 3, "triplets")
    p = _as_rows(pairs, 3, "pairs")
    same = np.concatenate([t[:, [0, 1]], p[p[:, 2] != 0][:, :2]])
    diff = np.concatenate([t[:, [0, 2]], p[p[:, 2] == 0][:, :2]])
    nodes = np.unique(np.concatenate([same.ravel(), diff.ravel()]))
    if len(nodes) and nodes[0] < 0:
        raise ValueError("label indexes must be non-negative")
    local = {int(v): i for i, v in enumerate(nodes)}
    sets = UnionFind()
    for a, b in same:
        sets.union(local[int(a)], local[int(b)])
    roots = np.array([sets.find(i) for i in range(len(nodes))], dtype=np.int64)
    _, component = np.unique(roots, return_inverse=True)
    n_comp = int(component.max()) + 1 if len(component) else 0
    different = np.zeros((n_comp, n_comp), dtype=bool)
    conflicts = 0
    for a, b in diff:
        ca, cb = component[local[int(a)]], component[local[int(b)]]
        if ca == cb:
            conflicts += 1
            continue
        different[ca, cb] = different[cb, ca] = True
    return LabelGraph(nodes=nodes, component=component.astype(np.int64), different=different, conflicts=conflicts)


def explicit_triplets(graph: LabelGraph, triplets: np.ndarray | None = None, pairs: np.ndarray | None = None) -> np.ndarray:
    """The marked triplets plus those pairs give directly by transitivity.

    For every "different" pair (a, c) and every b in a's component (b != a),
    (a, b, c) is a triplet, and symmetrically from c's side. Returned rows
    index the base vectors; contradicted triplets are dropped.
    """
    t = _as_rows(triplets, 3, "triplets")
    rows = [t] if len(t) else []
    p = _as_rows(pairs, 3, "pairs")
    members: dict[int, np.ndarray] = {}
    for c in range(graph.n_components):
        members[c] = graph.nodes[graph.component == c]
    for a, c, s in p:
        if s:
            continue
        for x, y in ((a, c), (c, a)):
            comp = int(graph.component_of(np.array([x]))[0])
            others = members[comp][members[comp] != x]
            if len(others):
                rows.append(np.stack([np.full(len(others), x), others, np.full(len(others), y)], axis=1))
    if not rows:
        return np.zeros((0, 3), dtype=np.int64)
    out = np.concatenate(rows).astype(np.int64)
    comp = graph.component_of(out.ravel()).reshape(-1, 3)
    ok = (comp[:, 0] == comp[:, 1]) & (comp[:, 0] != comp[:, 2])
    return out[ok]
