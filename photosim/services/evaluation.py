"""`photosim eval ROOT`: index a folder-per-class tree into a temporary library and score retrieval."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ..core.spec import EmbeddingSpec
from ..core.evaluate import RetrievalScores, retrieval_scores
from ..core.types import PhotoState, TaskContext
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .indexing import index_folders


def evaluate_tree(root: str, ctx: TaskContext, spec: EmbeddingSpec | None = None, engine=None) -> RetrievalScores:
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
        finally:
            lib.close()
    labels = np.array([os.path.relpath(photos[int(i)].path, root).split(os.sep)[0] for i in ids])
    if len(labels) < 2:
        raise UserError(f"found fewer than two readable photos under {root}")
    return retrieval_scores(vectors, labels)
