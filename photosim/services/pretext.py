"""The library learns past the adaptation: the pretext head of core/pretext.py, decided on by the library itself.

``learn`` trains the head on the sampled photos; the ensemble is used only if it keeps most of
the neighbourhoods the adaptation found (agreement of the two spaces, no label needed): a head
that reshuffles them has learned too few photos. docs/eval.md measures how often that is right.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..core import expansion as ex
from ..core import pretext as pt
from ..core.adapt import Projection
from ..core.types import TaskContext
from ..store import model_versions as versions
from ..store import repositories as repo
from ..store import views as view_store
from ..store.library import Library
from . import UserError
from .adaptation import Steps, build_version, check_cancel
from .library import writes
from .models import apply_model, expansion
from .views import MIN_SAMPLE, top_up

#: The ensemble is used when at least this share of each sampled photo's 10 nearest (augmented, as
#: stored) stay the same as in the adaptation. A head that reshuffles the neighbourhoods learned the
#: views of too few photos, not the library: on sub-libraries of caltech101-20 agreement under 0.83
#: went with losses of 0.02-0.11 mAP@50 and agreement over 0.86 with gains (docs/eval.md).
MIN_AGREEMENT = 0.85
AGREEMENT_K = 10


@dataclass(frozen=True)
class Learned:
    projection: Projection  # the ensemble (the adaptation's projection with the head)
    use: bool               # whether the library's own signal says it helps
    agreement: float        # share of nearest neighbours the ensemble keeps from the adaptation
    photos: int             # photos whose views trained the head


def learn(projection: Projection, base: np.ndarray, views: np.ndarray, seed: int = 0,
          options: pt.PretextOptions = pt.PretextOptions(),
          on_step: Callable[[int, int, float], bool] | None = None) -> Learned | None:
    """Train the head on ``views`` (N sampled photos x V views x D, in the space the projection
    reads; ``base`` their plain vectors) and judge it by how much of the neighbourhoods it keeps.
    ``on_step`` as for core/pretext.train_head; None when it said stop."""
    adapted = ex.augment(projection.apply(base), projection.k, projection.alpha)
    neighbours = pt.mutual_neighbours(adapted, options.mutual_k)
    head = pt.train_head(views, projection, neighbours, options, seed, on_step)
    if head is None:
        return None
    both = pt.ensemble(projection, head)
    joined = ex.augment(both.apply(base), projection.k, projection.alpha)
    k = min(AGREEMENT_K, len(base) - 1)
    before, _ = ex.exact_neighbours(adapted, k)
    after, _ = ex.exact_neighbours(joined, k)
    agreement = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(before.tolist(), after.tolist())]))
    return Learned(both, agreement >= MIN_AGREEMENT, agreement, len(base))


# --- the library learns further (after an adaptation) ------------------------------------------
#: The steps of learning further: views, training, then build_version's four.
STEPS = 6
WHAT = "adapting further"


@dataclass(frozen=True)
class Refined:
    """The outcome of learning further on an adaptation: ``model`` is the new version in use, or
    None when the library's own signal said to stay on the adaptation (``refines``)."""
    model: int | None
    refines: int
    photos: int
    agreement: float
    seconds: float
    dim: int = 0  # of the new version

    def as_dict(self) -> dict:
        return {"model": self.model, "refines": self.refines, "photos": self.photos,
                "agreement": round(self.agreement, 3), "seconds": round(self.seconds, 2), "dim": self.dim}


def due(lib: Library) -> bool:
    """True when the active version is an adaptation nobody has tried to learn further on yet
    (a version that refines one, or a person's return to the adaptation, is left as it is)."""
    with lib.db.session() as s:
        row = versions.get_model(s, lib.active_model)
    return row is not None and row.adapted and "refines" not in row.spec and "pretext" not in row.summary


@writes("learning from its photos")
def refine(lib: Library, ctx: TaskContext, seed: int = 0) -> Refined:
    """Learn the pretext head on the sampled photos' views and, if the library's signal says it
    helps, switch to the ensemble as a new version. A cancel leaves the adaptation answering."""
    started = time.perf_counter()
    adapted = lib.active_model
    with lib.db.session() as s:
        row = versions.get_model(s, adapted)
        photos = repo.vector_count(s, 0)
    if row is None or not row.adapted or "refines" in row.spec:
        raise UserError("learning further starts from an adaptation: run 'photosim adapt' first")
    steps = Steps(ctx, WHAT, STEPS)
    if photos >= MIN_SAMPLE:  # a smaller library cannot have enough: no photo is read again for it
        top_up(lib, ctx, steps.text(1, "views of sampled photos"))
    check_cancel(ctx)
    stacked = _views(lib, row)
    steps.stage("views")
    if len(stacked) < MIN_SAMPLE:  # a small library (or most of the sample offline): too little to learn from
        _record(lib, adapted, {"photos": len(stacked), "agreement": 0.0, "used": False})
        return Refined(None, adapted, len(stacked), 0.0, time.perf_counter() - started)
    text = steps.text(2, "training")

    def on_step(step: int, total: int, loss: float) -> bool:
        ctx.progress(step, total, text)  # one text for the whole step: the window's rate and time left hold
        return not ctx.cancelled()

    learned = learn(replace(expansion(lib, adapted), head=None), stacked[:, 0], stacked, seed, on_step=on_step)
    check_cancel(ctx)
    steps.stage("train")
    record = {"photos": learned.photos, "agreement": round(learned.agreement, 3), "used": learned.use}
    if not learned.use:
        _record(lib, adapted, record)  # tried once per adaptation
        return Refined(None, adapted, learned.photos, learned.agreement, time.perf_counter() - started)
    spec = {**row.spec, "dim": learned.projection.dim, "refines": adapted}
    model_id = build_version(lib, steps, row.parent, learned.projection, row.name + ", learned further from its photos",
                             spec, {"photos": photos, "pretext": record}, keep=(adapted,))
    _record(lib, adapted, record)  # only now: a cancel or a crash while building lets the next indexing try again
    seconds = time.perf_counter() - started
    with lib.db.session() as s:
        versions.update_summary(s, model_id, seconds=round(seconds, 1))
    return Refined(model_id, adapted, learned.photos, learned.agreement, seconds, learned.projection.dim)


def _views(lib: Library, row) -> np.ndarray:
    """The sampled photos' plain vector and views (N x 1+V x D), through the version ``row`` builds on."""
    with lib.db.session() as s:
        ids, views = view_store.get_views(s)
        if not len(ids):
            return np.zeros((0, 1, 0), np.float32)
        found, base = repo.get_vectors(s, 0, ids.tolist())  # by photo id, as the views are
        if len(found) != len(ids):  # a photo being re-embedded by another process: left out this time
            views = views[np.isin(ids, found)]
        stacked = np.concatenate([base[:, None], views], axis=1)
        n, v, d = stacked.shape
        return apply_model(s, row.parent, stacked.reshape(n * v, d)).reshape(n, v, -1)


def _record(lib: Library, adapted: int, record: dict) -> None:
    with lib.db.session() as s:
        versions.update_summary(s, adapted, pretext=record)


def refine_if_due(lib: Library, ctx: TaskContext) -> Refined | None:
    """After an adaptation: learn further when ``due``; None when not due, too few views, or cancelled."""
    if ctx.cancelled() or not due(lib):
        return None
    try:
        return refine(lib, ctx)
    except UserError:
        if ctx.cancelled():
            return None
        raise
