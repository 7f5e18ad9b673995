"""The library adapts itself: a model version learned from its own photos, without labels.

After indexing (``adapt_if_due``, called by `photosim index` and so by the window's indexing child)
and on `photosim adapt` (``adapt``): a projection is fit on the library's base vectors (through
the trained version the user chose, if any), every photo's vector is projected and augmented with
its neighbours, the version's index is built, and only then does the library switch to it; the
version it replaces is removed. core/adapt.py has the maths, docs/eval.md the measurements.

A person who went back with `photosim models use 0` (or to a trained version) keeps that choice:
only a library that answers with an adapted version, or that was never adapted, adapts by itself.
A version trained on an adapted one (services/training.py) is not re-adapted by itself (a new
projection would change the space it was trained in); its new photos are still projected and
augmented at once, and `photosim adapt` adapts on top of it when asked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core import expansion as ex
from ..core.adapt import MIN_PHOTOS, K, fit_projection
from ..core.index import VectorIndex
from ..core.types import TaskContext
from ..store import model_versions as versions
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .models import LIBRARY_KIND, apply_model, forget_model, model_kind
from .shown_similarity import remember as remember_scale
from .library import writes

#: Re-adapt by itself once the library grew by this share since the last adaptation. Photos added
#: in between are projected and augmented at once: adding as many photos as the library had (a share
#: of 1.0) cost mAP@50 0.005 against a fresh adaptation, a quarter nothing measurable (docs/eval.md,
#: drift). A quarter keeps the drift unmeasurable while a large library re-adapts rarely (at 1M
#: photos an adaptation takes minutes).
REFRESH_SHARE = 0.25
#: Up to this many photos the neighbours are found exactly; beyond, through an HNSW index.
EXACT_LIMIT = 20_000
CHUNK = 20_000
#: Queries per exact-neighbour chunk in a small library: progress and cancel between chunks.
EXACT_CHUNK = 2048
#: The steps adaptation reports (each in photos, with its own count): fit, project, augment, store, index.
STEPS = 5
#: Search beam when finding every photo's neighbours for the augmentation: the weights make a missed
#: far neighbour cost little, and a narrow beam is several times faster than `similar`'s.
AUGMENT_EF = 64


@dataclass(frozen=True)
class AdaptResult:
    model: int
    parent: int
    photos: int
    dim: int
    seconds: float
    stages: dict = field(default_factory=dict)  # seconds per step: fit, project, augment, store, index

    def as_dict(self) -> dict:
        return {"model": self.model, "parent": self.parent, "photos": self.photos, "dim": self.dim,
                "seconds": round(self.seconds, 2), "stages": self.stages}


def parent_of_active(lib: Library) -> int:
    """What an adaptation builds on: the active version, or the parent of an adapted one."""
    active = lib.active_model
    with lib.db.session() as s:
        if model_kind(s, active) == LIBRARY_KIND:
            return versions.get_model(s, active).parent
    return active


def due(lib: Library) -> str | None:
    """Why the library should adapt now, or None."""
    active = lib.active_model
    with lib.db.session() as s:
        photos = repo.vector_count(s, 0)
        if photos < MIN_PHOTOS:
            return None
        if model_kind(s, active) == LIBRARY_KIND:
            fitted = int(versions.get_model(s, active).summary.get("photos", 0))
            grown = photos - fitted
            return f"the library grew by {grown} photos" if grown > REFRESH_SHARE * max(fitted, 1) else None
        ever = any(m.adapted for m in versions.list_models(s))
    return "the library was never adapted" if active == 0 and not ever and lib.db.get_meta("adapted_once") is None \
        else None


@writes("adapting it to its photos")
def adapt_if_due(lib: Library, ctx: TaskContext) -> AdaptResult | None:
    """Adapt when ``due`` says so (after indexing); None when not needed or cancelled."""
    if due(lib) is None or ctx.cancelled():
        return None
    try:
        return adapt(lib, ctx)
    except UserError:
        if ctx.cancelled():
            return None
        raise


@writes("adapting it to its photos")
def adapt(lib: Library, ctx: TaskContext, parent: int | None = None, seed: int = 0) -> AdaptResult:
    """Fit, project, augment, index, switch. A cancel or a crash leaves the library on the version
    it had (a half-written version is not active, and is removed by the next adaptation)."""
    started = time.perf_counter()
    parent = parent_of_active(lib) if parent is None else parent
    with lib.db.session() as s:
        n = repo.vector_count(s, 0)
    if n < MIN_PHOTOS:
        raise UserError(f"the library has {n} photos; adapting needs at least {MIN_PHOTOS}, "
                        "below that it keeps the plain vectors")
    steps = Steps(ctx, "adapting", STEPS)
    steps.say(1, "learning the projection")  # seconds, sampled: no count to show
    projection = _fit(lib, parent, n, seed)
    steps.stage("fit")
    name = "adapted to this library" + ("" if parent == 0 else f" (on version {parent})")
    spec = {"kind": LIBRARY_KIND, "dim": projection.dim, "k": projection.k, "alpha": projection.alpha}
    model_id = build_version(lib, steps, parent, projection, name, spec, {"photos": int(n)})
    lib.db.set_meta("adapted_once", "1")
    seconds = time.perf_counter() - started
    with lib.db.session() as s:
        versions.update_summary(s, model_id, seconds=round(seconds, 1))
    return AdaptResult(model_id, parent, int(n), projection.dim, seconds, steps.stages)


class Steps:
    """Progress of a version being made: "<what> i/total: <step>", and the seconds each step took."""

    def __init__(self, ctx: TaskContext, what: str, total: int) -> None:
        self.ctx, self.what, self.total = ctx, what, total
        self.stages: dict[str, float] = {}
        self._clock = time.perf_counter()

    def text(self, number: int, step: str) -> str:
        return f"{self.what} {number}/{self.total}: {step}"

    def say(self, number: int, step: str, done: int = 0, total: int = 0) -> None:
        self.ctx.progress(done, total, self.text(number, step))

    def stage(self, name: str) -> None:
        self.stages[name] = round(time.perf_counter() - self._clock, 2)
        self._clock = time.perf_counter()


def build_version(lib: Library, steps: Steps, parent: int, projection, name: str, spec: dict,  # noqa: PLR0913 - a version's identity (parent, projection, name, spec, summary) and its progress
                  summary: dict, keep: tuple[int, ...] = ()) -> int:
    """Project every photo (through ``parent``), augment, store, index; then switch to the new
    version and remove the adapted ones no longer used (but ``keep``). Four steps of ``steps``,
    numbered from ``steps.total - 3``. A cancel or a crash removes the half-made version."""
    ctx, first = steps.ctx, steps.total - 3
    with lib.db.session() as s:
        n = repo.vector_count(s, 0)
    ids, projected = _project_all(lib, parent, projection, ctx, n, steps.text(first, "projecting"))
    steps.stage("project")
    check_cancel(ctx)
    augmented = _augment(projected, projection.k, projection.alpha, ctx, steps.text(first + 1, "augmenting with "
                                                                                   "neighbours"))
    del projected
    steps.stage("augment")
    check_cancel(ctx)
    summary = {**summary, "dim": projection.dim, "k": projection.k, "alpha": projection.alpha,
               "adapted_at": time.strftime("%Y-%m-%d %H:%M")}
    with lib.db.session() as s:
        model_id = versions.add_model(s, name, spec, projection.to_bytes(), summary, parent=parent)
    try:
        _store(lib, model_id, ids, augmented, ctx, steps.text(first + 2, "storing"))
        steps.stage("store")
        lib.rebuild_index(model_id, ids, augmented, progress=_reporter(ctx, steps.text(first + 3, "indexing")))
        steps.stage("index")
        remember_scale(lib, model_id)  # the similarity `similar` shows for it (services/shown_similarity.py)
        check_cancel(ctx)
    except BaseException:
        _remove(lib, model_id)
        raise
    lib.set_active_model(model_id)
    # Removed only now, after the new row exists: SQLite gives a removed highest id out again, and
    # a process that cached the old version under that id must never meet a different one.
    _remove_inactive(lib, keep)
    return model_id


def _store(lib: Library, model_id: int, ids: np.ndarray, augmented: np.ndarray, ctx: TaskContext, text: str) -> None:
    for start in range(0, len(ids), CHUNK):  # one transaction per chunk: memory stays bounded
        check_cancel(ctx)
        ctx.progress(start, len(ids), text)
        with lib.db.session() as s:
            repo.put_vectors(s, model_id, ids[start:start + CHUNK].tolist(), augmented[start:start + CHUNK],
                             fresh=True)
    ctx.progress(len(ids), len(ids), text)


def _reporter(ctx: TaskContext, text: str):
    """A callback ``(done, total)`` for work done in chunks: reports progress, raises on a cancel."""
    def report(done: int, total: int) -> None:
        check_cancel(ctx)
        ctx.progress(done, total, text)
    return report


def check_cancel(ctx: TaskContext) -> None:
    if ctx.cancelled():
        raise UserError("adapting cancelled; the library still uses its previous version")


def _fit(lib: Library, parent: int, n: int, seed: int):
    from ..core.adapt import FIT_SAMPLE

    with lib.db.session() as s:
        all_ids = repo.vector_ids(s, 0)
        if len(all_ids) > FIT_SAMPLE:
            all_ids = np.sort(np.random.default_rng(seed).choice(all_ids, FIT_SAMPLE, replace=False))
        _, sample = repo.get_vectors(s, 0, all_ids.tolist())
        sample = apply_model(s, parent, sample)
    return fit_projection(sample, n_photos=n, seed=seed)


def _project_all(lib: Library, parent: int, projection, ctx: TaskContext, n: int, text: str):
    ids_parts, parts, done = [], [], 0
    ctx.progress(0, n, text)
    with lib.db.session() as s:
        for ids, base in repo.iter_vectors(s, 0, CHUNK):
            check_cancel(ctx)
            ids_parts.append(ids)
            parts.append(projection.apply(apply_model(s, parent, base)))
            done += len(ids)
            ctx.progress(min(done, n), n, text)
    return np.concatenate(ids_parts), np.concatenate(parts)


def _augment(projected: np.ndarray, k: int, alpha: float, ctx: TaskContext, text: str) -> np.ndarray:
    n = len(projected)
    out = np.empty_like(projected)
    if n <= EXACT_LIMIT:
        for start in range(0, n, EXACT_CHUNK):  # exact, a chunk of queries at a time
            check_cancel(ctx)
            ctx.progress(start, n, text)
            out[start:start + EXACT_CHUNK] = ex.augment(projected, k, alpha, start, start + EXACT_CHUNK)
        ctx.progress(n, n, text)
        return out
    # rows as labels; finding the neighbours needs this index first (it is half of this step's work)
    linking = _reporter(ctx, text.split(":")[0] + ": linking photos to their neighbours")
    index = VectorIndex.build(np.arange(n), projected, progress=linking)
    for start in range(0, n, CHUNK):
        check_cancel(ctx)
        ctx.progress(start, n, text)
        out[start:start + CHUNK] = ex.augment_with_index(projected, index, k, alpha, start, start + CHUNK, AUGMENT_EF)
    ctx.progress(n, n, text)
    return out


def _remove(lib: Library, model_id: int) -> None:
    with lib.db.session() as s:
        versions.delete_model(s, model_id)
    lib.remove_index(model_id)
    forget_model(lib, model_id)


def _remove_inactive(lib: Library, keep: tuple[int, ...] = ()) -> None:
    """Adapted versions are derived data: the ones not in use are removed (their vectors are as
    large as the library), and `photosim adapt` makes a fresh one at any time. ``keep``: the
    adaptation a version that learned further refines (`photosim models use` goes back to it)."""
    active = lib.active_model
    with lib.db.session() as s:
        models = versions.list_models(s)
    parents = {m.parent for m in models}  # a version trained on an adapted one needs it
    refined = {m.spec.get("refines") for m in models if m.id == active or m.id in parents}
    stale = [m.id for m in models if m.adapted and m.id != active and m.id not in parents
             and m.id not in keep and m.id not in refined]
    for model_id in stale:
        _remove(lib, model_id)


__all__ = ["AdaptResult", "MIN_PHOTOS", "K", "adapt", "adapt_if_due", "build_version", "check_cancel", "due", "parent_of_active"]
