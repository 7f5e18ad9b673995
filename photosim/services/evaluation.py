"""`photosim eval ROOT`: index a folder-per-class tree into a temporary library and score retrieval,
on the plain vectors and as `similar` answers after the library adapted itself."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..core.adapt import MIN_PHOTOS
from ..core.spec import EmbeddingSpec
from ..core.evaluate import RetrievalScores, ranking_scores, retrieval_scores
from ..core.types import PhotoState, TaskContext
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .adaptation import adapt
from .pretext import refine
from .indexing import index_folders
from .similar import neighbours


@dataclass(frozen=True)
class Evaluation:
    plain: RetrievalScores
    adapted: RetrievalScores | None  # None: too few photos to adapt (the library stays plain)
    photos: int
    refined: object = None  # services/pretext.Refined: what learning further from the views decided
    learned: RetrievalScores | None = None  # scores of the version it made, when it made one


def evaluate_tree(root: str, ctx: TaskContext, spec: EmbeddingSpec | None = None, engine=None,
                  adapted: bool = True) -> Evaluation:
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise UserError(f"no such folder: {root}")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root} needs one subfolder per class (found {len(classes)})")
    with tempfile.TemporaryDirectory(prefix="photosim-eval-") as tmp:
        lib = Library(tmp, spec)
        try:
            index_folders(lib, [os.path.join(root, c) for c in classes], ctx, engine=engine)
            if ctx.cancelled():
                raise UserError("cancelled")
            with lib.db.session() as s:
                photos = {p.id: p for p in repo.all_photos(s, [PhotoState.OK])}
                ids, vectors = repo.get_vectors(s, 0)
            labels = np.array([os.path.relpath(photos[int(i)].path, root).split(os.sep)[0] for i in ids])
            if len(labels) < 2:
                raise UserError(f"found fewer than two readable photos under {root}")
            plain = retrieval_scores(vectors, labels)
            after = refined = learned = None
            if adapted and len(ids) >= MIN_PHOTOS:
                adapt(lib, ctx)
                after = similar_scores(lib, ids, labels)
                refined = refine(lib, ctx)  # as indexing does next: learn further from the views
                learned = similar_scores(lib, ids, labels) if refined.model is not None else None
        finally:
            lib.close()
    return Evaluation(plain, after, len(labels), refined, learned)


def similar_scores(lib: Library, ids: np.ndarray, labels: np.ndarray, depth: int | None = None) -> RetrievalScores:
    """Every photo of ``ids`` queries the library exactly as `similar` does (its stored vector of
    the active version, query expansion, the HNSW index), ranking every other photo (or the first
    ``depth``: enough for mAP@50 and P@10, not for the full mAP)."""
    row = {int(i): n for n, i in enumerate(ids)}
    with lib.db.session() as s:
        _, vectors = repo.get_vectors(s, lib.active_model, ids.tolist())
    rankings = [np.array([row[n.photo.id] for n in neighbours(lib, v, int(i), k=depth or len(ids) - 1)], np.int64)
                for i, v in zip(ids, vectors)]
    return ranking_scores(rankings, labels)
