"""The weighted mean of a vector and its nearest photos: database-side augmentation and query
expansion are one operation (core/adapt.py explains the method; docs/eval.md measures it).

    normalise(v + sum_j max(s_j, 0)^alpha * n_j)

Every caller finds the neighbours its own way and calls one function here:

- ``augment``: a whole library, exact neighbours (adaptation of a small library, benchmarks);
- ``augment_with_index``: a whole large library through an HNSW index over its rows;
- ``augment_new``: photos new to an adapted version, from the batch and the version's index;
- ``expand``: `similar`'s queries, from the version's index with each query's own photo left out;
- ``neighbour_rows``: the neighbours training expands its anchors with (core/train/trainer.py
  takes the same mean in torch, so the loss sees what `similar` will search with).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .index import VectorIndex


def normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def weighted_mean(vectors: np.ndarray, neighbours: np.ndarray, sims: np.ndarray, alpha: float) -> np.ndarray:
    """normalise(v_i + sum_j max(s_ij, 0)^alpha * n_ij).

    ``neighbours`` is (N, k, d) (rows left empty are zero vectors), ``sims`` (N, k)."""
    w = np.maximum(np.asarray(sims, np.float32), 0.0) ** alpha
    return normalise(vectors + np.einsum("nk,nkd->nd", w, neighbours))


def exact_neighbours(vectors: np.ndarray, k: int, queries: np.ndarray | None = None,
                     exclude_self: bool = True, chunk: int = 2048,
                     own_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar rows of ``vectors`` for each query row (default: every row, itself
    left out): (row indexes, similarities), best first. Exact, in chunks to bound memory.
    ``own_rows``: for given ``queries`` that are rows of ``vectors``, their rows (left out)."""
    q_all = vectors if queries is None else queries
    if queries is None and exclude_self:
        own_rows = np.arange(len(vectors))
    k = min(k, len(vectors) - (0 if own_rows is None else 1))
    idx = np.zeros((len(q_all), max(k, 0)), np.int64)
    sims = np.zeros((len(q_all), max(k, 0)), np.float32)
    if k <= 0:
        return idx, sims
    for start in range(0, len(q_all), chunk):
        s = q_all[start:start + chunk] @ vectors.T
        if own_rows is not None:
            s[np.arange(len(s)), own_rows[start:start + len(s)]] = -np.inf
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        idx[start:start + len(s)] = np.take_along_axis(part, order, axis=1)
        sims[start:start + len(s)] = np.take_along_axis(ps, order, axis=1)
    return idx, sims


def augment(projected: np.ndarray, k: int, alpha: float, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``start:stop`` of a whole library augmented with their exact neighbours among all rows."""
    part = projected[start:stop]
    idx, sims = exact_neighbours(projected, k, part, exclude_self=False,
                                 own_rows=np.arange(start, start + len(part)))
    return weighted_mean(part, projected[idx], sims, alpha)


def augment_with_index(projected: np.ndarray, index: VectorIndex, k: int, alpha: float, start: int,  # noqa: PLR0913 - the rows to augment are a slice, given as start and stop
                       stop: int, ef: int) -> np.ndarray:
    """Rows ``start:stop`` augmented with their neighbours from ``index`` (labelled by row); a row
    found as its own neighbour counts once, as the vector being augmented."""
    part = projected[start:stop]
    rows, sims = index.query(part, k + 1, ef=ef)
    sims = np.where(rows == np.arange(start, start + len(rows))[:, None], 0.0, sims)
    return weighted_mean(part, projected[rows], sims, alpha)


def augment_new(projected: np.ndarray, index: VectorIndex, k: int, alpha: float) -> np.ndarray:
    """Photos new to an adapted version, augmented at once from their nearest among themselves and
    the photos already in ``index`` (older photos are refreshed at the next adaptation)."""
    n, d = projected.shape
    idx, sims = exact_neighbours(projected, k)
    vecs, scores = projected[idx], sims
    if index.count() and index.dim == d:
        ids, isims = index.query(projected, k)
        vecs = np.concatenate([vecs, index.vectors(ids).reshape(n, ids.shape[1], d)], axis=1)
        scores = np.concatenate([scores, isims], axis=1)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return weighted_mean(projected, np.take_along_axis(vecs, best[:, :, None], axis=1),
                         np.take_along_axis(scores, best, axis=1), alpha)


def expand(vectors: np.ndarray, own_ids: Sequence[int | None], index: VectorIndex, k: int,
           alpha: float) -> np.ndarray:
    """Each query replaced by the weighted mean of itself and its ``k`` nearest photos in ``index``
    (its own photo left out); one index search for the whole batch. Queries of another width than
    the index, or an empty index, are returned as given."""
    if index.dim != vectors.shape[1] or index.count() == 0:
        return vectors
    ids, sims = index.query(vectors, k + 1)
    own = np.array([-1 if o is None else o for o in own_ids], np.int64)[:, None]
    # keep the first k that are not the query's own photo (it is at most one of the k + 1)
    order = np.argsort(ids == own, axis=1, kind="stable")[:, :k]
    ids, sims = np.take_along_axis(ids, order, axis=1), np.take_along_axis(sims, order, axis=1)
    neighbours = index.vectors(ids).reshape(len(vectors), ids.shape[1], -1)
    return weighted_mean(vectors, neighbours, sims, alpha)


def neighbour_rows(vectors: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest rows of ``vectors`` to each of ``rows`` (itself left out), best first."""
    found, _ = exact_neighbours(vectors, k, queries=vectors[rows], own_rows=np.asarray(rows))
    return found
