"""`photosim train`: fine-tune an adapter on the user's similarity labels, then switch to it.

Training reads the stored base vectors (version 0), never the photos, so the
new version covers every photo, offline ones included. The switch is the
last step (see models.use_model): until then searches answer with the old
model, and a cancel leaves the library exactly as it was. In a library that adapted itself
(services/adaptation.py) the adapter is trained on the adapted vectors and builds on that version,
so it keeps its projection, augmentation and query expansion.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.train.trainer import TrainOptions, adapted_options
from ..core.train.trainer import train as train_adapter
from ..core.types import TaskContext
from ..store import model_versions as versions
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .models import expansion, library_ancestor, use_model
from .shown_similarity import remember as remember_scale
from .library import writes


def label_rows(lib: Library, model_id: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(photo ids, vectors of ``model_id``, triplets as row indexes, pairs as (a, b, same) row indexes)."""
    with lib.db.session() as s:
        ids, base = repo.get_vectors(s, model_id)
        pairs = repo.list_pairs(s)
        triplets = repo.list_triplets(s)
    row = {int(i): n for n, i in enumerate(ids)}
    t = np.array([[row[a], row[p], row[n]] for _, a, p, n in triplets
                  if a in row and p in row and n in row], np.int64).reshape(-1, 3)
    pr = np.array([[row[a], row[b], int(same)] for _, a, b, same in pairs
                   if a in row and b in row], np.int64).reshape(-1, 3)
    return ids, base, t, pr


@dataclass(frozen=True)
class Trained:
    """A finished training: the new version (now in use) and what it learned from."""
    model: int
    on: int  # the library-adapted version it builds on, 0 for the plain vectors
    pairs: int
    triplets: int
    seconds: float
    final_loss: float | None
    loss_history: list[float] = field(repr=False)
    summary: dict = field(repr=False)  # as stored with the version (`photosim models --json`)


@writes("training a model")
def train(lib: Library, ctx: TaskContext, on_loss: Callable[[int, float], None] | None = None,
          seed: int = 0, name: str | None = None, **options) -> Trained:
    """Train on every label in the library and switch to the new version."""
    try:
        opts = TrainOptions(**options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad training option: {exc}") from exc
    # In a library adapted to itself, the adapter learns on the adapted (projected, augmented) vectors
    # and answers with the same query expansion: trained on the plain vectors and adapted afterwards,
    # classes nobody labelled lost 0.02 mAP (docs/finetune.md); on the adapted ones, under 0.01. There
    # the training options follow the adapted space (core/train/trainer.py, adapted_options).
    with lib.db.session() as s:
        on = library_ancestor(s, lib.active_model) or 0
    ids, base, triplets, pairs = label_rows(lib, on)
    if on and len(ids):  # adapted vectors: margin on their distance scale, neighbour-keeping library term,
        projection = expansion(lib, on)  # anchors expanded as `similar` expands queries there
        opts = adapted_options(base, expand=projection.k if projection else 0,
                               expand_alpha=projection.alpha if projection else 2.0, **options)
    if not len(ids):
        raise UserError("the library has no photos yet; run 'photosim index FOLDER' first")
    if not len(triplets) and not (len(pairs) and (pairs[:, 2] == 0).any()):
        raise UserError("no usable labels yet: mark triplets, or pairs including at least one 'different'")

    def progress(step: int, total: int, loss: float) -> None:
        ctx.progress(step, total, f"training (loss {loss:.4f})")
        if on_loss is not None:
            on_loss(step, loss)

    result = train_adapter(base, triplets, None, opts, progress, ctx.cancelled, seed, pairs=pairs)
    if result.summary.get("stopped"):
        raise UserError("training cancelled; the library still uses its previous model")
    summary = {k: v for k, v in result.summary.items() if k != "loss_history"}
    summary.update({"pairs": int(len(pairs)), "triplets": int(len(triplets)), "trained_at": time.strftime("%Y-%m-%d %H:%M")})
    with lib.db.session() as s:
        model_id = versions.add_model(s, name or f"trained {summary['trained_at']}" + (f" on version {on}" if on else ""),
                                  {"kind": "adapter", **summary["options"]}, result.adapter.to_bytes(), summary, parent=on)
    ctx.progress(0, 0, "applying the new model to the library")
    use_model(lib, model_id)
    remember_scale(lib, model_id)  # on an adapted version, the similarity `similar` shows is placed anew
    return Trained(model_id, on, summary["pairs"], summary["triplets"], summary["seconds"], summary["final_loss"],
                   result.summary.get("loss_history", []), summary)
