"""The near-duplicate threshold: which one applies, and calibrating it from the user's own decisions.

One policy for every front end (``duplicate_threshold``): the value the person
set (``photosim config dupes.threshold``, or the Duplicates view), else the one
calibrated from their decisions, else the shipped default. `photosim dupes`,
the window's Duplicates view and the trash's last-copy protection all ask it,
so the window can never list a group that the trash would let go entirely.

Calibration. Positives: each photo the user moved to the trash, paired with its most similar
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
from . import UserError, settings

META_KEY = "dupes_threshold"  # where calibration keeps its result
SETTING = "dupes.threshold"   # the person's own choice (services/settings.py)
MIN_DECISIONS = 4

SET_BY_YOU, CALIBRATED, DEFAULT = "set by you", "calibrated", "default"


@dataclass(frozen=True)
class DupesThreshold:
    value: float
    source: str  # SET_BY_YOU, CALIBRATED or DEFAULT

    def describe(self) -> str:
        """How both front ends show it, e.g. "0.85 (set by you)"."""
        return f"{self.value:.4g} ({self.source})"


def duplicate_threshold(lib: Library) -> DupesThreshold:
    """The threshold this library's duplicate search uses, and where it comes from."""
    own = settings.get(lib, SETTING)
    if own is not None:
        return DupesThreshold(float(own), SET_BY_YOU)
    calibrated = lib.db.get_meta(META_KEY)
    if calibrated:
        return DupesThreshold(float(calibrated), CALIBRATED)
    return DupesThreshold(DEFAULT_THRESHOLD, DEFAULT)


def set_duplicate_threshold(lib: Library, value: float | None) -> DupesThreshold:
    """Keep the person's own threshold; None forgets it (back to the calibrated one, else the default)."""
    if value is None:
        settings.reset(lib, SETTING)
    else:
        settings.set_value(lib, SETTING, repr(float(value)))
    return duplicate_threshold(lib)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    f1: float
    precision: float
    recall: float
    positives: int
    negatives: int


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
