"""Calibrate the near-duplicate threshold from the user's own duplicate decisions.

Positives: each photo the user moved to the trash, paired with its most similar
photo still in the library (the copy it duplicated). Negatives: every pair
marked "not duplicates". The threshold with the best F1 on these becomes the
library's default for `dupes`; the precision at that threshold is reported as
an estimate. Similarity labels (same/different/triplets) are never used here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.duplicates import DEFAULT_THRESHOLD
from ..store import repositories as repo
from ..store.library import Library
from . import UserError

META_KEY = "dupes_threshold"
MIN_DECISIONS = 4


@dataclass(frozen=True)
class Calibration:
    threshold: float
    f1: float
    precision: float
    recall: float
    positives: int
    negatives: int


def library_threshold(lib: Library) -> float:
    """The calibrated threshold if the user calibrated one, else the shipped default."""
    value = lib.db.get_meta(META_KEY)
    return float(value) if value else DEFAULT_THRESHOLD


def decision_similarities(lib: Library) -> tuple[np.ndarray, np.ndarray]:
    with lib.db.session() as s:
        ids, vectors = repo.get_vectors(s, 0)
        trashed = repo.trashed_photo_ids(s)
        negatives = repo.not_duplicate_pairs(s)
    row = {int(i): n for n, i in enumerate(ids)}
    remaining = np.array([n for i, n in row.items() if i not in trashed], dtype=np.int64)
    pos = []
    for pid in trashed:
        if pid in row and len(remaining):
            pos.append(float(np.max(vectors[remaining] @ vectors[row[pid]])))
    neg = [float(vectors[row[a]] @ vectors[row[b]]) for a, b in negatives if a in row and b in row]
    return np.array(pos, np.float32), np.array(neg, np.float32)


def best_threshold(pos: np.ndarray, neg: np.ndarray) -> Calibration:
    """Scan every observed similarity as a candidate threshold and keep the best F1 (ties: higher threshold)."""
    best = None
    for t in np.unique(np.concatenate([pos, neg])):
        tp = int((pos >= t).sum())
        fp = int((neg >= t).sum())
        fn = len(pos) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / len(pos) if len(pos) else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        cand = Calibration(float(t), f1, precision, recall, len(pos), len(neg))
        if best is None or (f1, t) >= (best.f1, best.threshold):
            best = cand
    return best


def calibrate(lib: Library, apply: bool = True) -> Calibration:
    pos, neg = decision_similarities(lib)
    if len(pos) < 2 or len(neg) < 2 or len(pos) + len(neg) < MIN_DECISIONS:
        raise UserError(
            f"not enough duplicate decisions to calibrate (have {len(pos)} removed duplicates and {len(neg)} "
            f"'not duplicate' pairs; need at least 2 of each)"
        )
    result = best_threshold(pos, neg)
    if apply:
        lib.db.set_meta(META_KEY, f"{result.threshold:.4f}")
    return result
