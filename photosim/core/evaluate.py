"""Retrieval quality over labelled vectors: each photo queries all the others.

Exact (brute-force) similarities, so the figures measure the embedding, not
the approximate index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RetrievalScores:
    map: float
    precision_at_10: float
    r_precision: float
    queries: int

    def as_dict(self) -> dict:
        return {"mAP": self.map, "precision@10": self.precision_at_10, "R-precision": self.r_precision,
                "queries": self.queries}


def retrieval_scores(vectors: np.ndarray, labels: np.ndarray) -> RetrievalScores:
    vectors = np.asarray(vectors, np.float32)
    labels = np.asarray(labels)
    n = len(labels)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : n - 1]
    relevant = labels[order] == labels[:, None]
    n_rel = relevant.sum(axis=1)
    keep = n_rel > 0  # a class of one photo has nothing to find
    relevant, n_rel = relevant[keep], n_rel[keep]
    hits = np.cumsum(relevant, axis=1)
    ranks = np.arange(1, relevant.shape[1] + 1)
    ap = (relevant * hits / ranks).sum(axis=1) / n_rel
    p10 = relevant[:, :10].mean(axis=1)
    rprec = np.array([relevant[i, : n_rel[i]].mean() for i in range(len(n_rel))])
    return RetrievalScores(float(ap.mean()), float(p10.mean()), float(rprec.mean()), int(keep.sum()))
