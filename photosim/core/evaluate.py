"""Retrieval quality over labelled photos: each photo queries all the others.

Two ways in: exact similarities of plain vectors (``retrieval_scores``: measures the embedding,
not the approximate index), or the rankings a search returned (``ranking_scores``: measures what
`similar` answers, query expansion and index included). mAP@50 counts the first 50 results and
divides by min(R, 50), R = the number of other photos of the class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP = 50


@dataclass(frozen=True)
class RetrievalScores:
    map: float
    precision_at_10: float
    r_precision: float
    queries: int
    map_at_50: float = float("nan")

    def as_dict(self) -> dict:
        return {"mAP": self.map, "mAP@50": self.map_at_50, "precision@10": self.precision_at_10,
                "R-precision": self.r_precision, "queries": self.queries}


def retrieval_scores(vectors: np.ndarray, labels: np.ndarray) -> RetrievalScores:
    vectors = np.asarray(vectors, np.float32)
    labels = np.asarray(labels)
    n = len(labels)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : n - 1]
    return _scores(labels[order] == labels[:, None], (labels[:, None] == labels[None, :]).sum(axis=1) - 1)


def ranking_scores(rankings: list[np.ndarray], labels: np.ndarray) -> RetrievalScores:
    """``rankings[i]``: row indexes of the photos returned for photo i, best first (itself left out;
    photos missing from the end of a ranking count as not found)."""
    labels = np.asarray(labels)
    width = max((len(r) for r in rankings), default=0)
    relevant = np.zeros((len(labels), width), bool)
    for i, r in enumerate(rankings):
        relevant[i, :len(r)] = labels[np.asarray(r, np.int64)] == labels[i]
    return _scores(relevant, (labels[:, None] == labels[None, :]).sum(axis=1) - 1)


def _scores(relevant: np.ndarray, n_rel: np.ndarray) -> RetrievalScores:
    keep = n_rel > 0  # a class of one photo has nothing to find
    relevant, n_rel = relevant[keep], n_rel[keep]
    hits = np.cumsum(relevant, axis=1)
    ranks = np.arange(1, relevant.shape[1] + 1)
    precision = relevant * hits / ranks
    ap = precision.sum(axis=1) / n_rel
    ap50 = precision[:, :TOP].sum(axis=1) / np.minimum(n_rel, TOP)
    p10 = np.pad(relevant, ((0, 0), (0, max(0, 10 - relevant.shape[1]))))[:, :10].mean(axis=1)
    rprec = np.array([relevant[i, : n_rel[i]].sum() / n_rel[i] for i in range(len(n_rel))])
    return RetrievalScores(float(ap.mean()), float(p10.mean()), float(rprec.mean()), int(keep.sum()),
                           float(ap50.mean()))
