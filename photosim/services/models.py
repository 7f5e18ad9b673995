"""Model versions: version 0 is the pretrained backbone; later ones are trained adapters or
adaptations to the library (core/adapt.py) applied to the stored base vectors, so switching never
decodes a photo again.

An adapted version ("kind": "library") maps a base vector through its parent version (0 or a
trained one) and its projection; its stored vectors are also augmented with their neighbours, and
`similar` expands queries with it (``expansion``)."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..core import expansion as ex
from ..core.adapt import Projection
from ..core.index import VectorIndex
from ..core.memo import Memo
from ..store import model_versions as versions
from ..store.model_versions import LIBRARY_KIND, ModelRecord  # noqa: F401 - LIBRARY_KIND: services' name for it
from ..store import repositories as repo
from ..store.db import Session
from ..store.library import Library
from . import UserError
from .library import writes



def apply_model(s: Session, model_id: int, base_vectors: np.ndarray) -> np.ndarray:
    """The vectors of ``model_id`` for photos whose base (version 0) vectors are given
    (for an adapted version: projected, not yet augmented)."""
    if model_id == 0:
        return base_vectors
    row = versions.get_model(s, model_id)
    if row is None or row.weights is None:
        raise UserError(f"model version {model_id} does not exist")
    parent = apply_model(s, row.parent, base_vectors)  # versions build on their parent
    if row.adapted:
        return _projection(row.weights).apply(parent)
    return _adapter(row.weights).apply_numpy(parent)


def library_ancestor(s: Session, model_id: int) -> int | None:
    """The adapted version ``model_id`` is or builds on (a version trained on an adapted one), if any."""
    while model_id:
        row = versions.get_model(s, model_id)
        if row is None:
            return None
        if row.adapted:
            return model_id
        model_id = row.parent
    return None


def model_kind(s: Session, model_id: int) -> str:
    row = versions.get_model(s, model_id)
    return "" if row is None else row.kind


def expansion(lib: Library, model_id: int) -> Projection | None:
    """The adaptation whose query expansion `similar` applies for ``model_id`` (None: plain search)."""
    def make() -> Projection | None:
        with lib.db.session() as s:
            ancestor = library_ancestor(s, model_id)
            row = versions.get_model(s, ancestor) if ancestor else None
            return _projection(row.weights) if row is not None else None

    return lib.memo.get(("expansion", model_id), make)


def map_new_photos(lib: Library, s: Session, model_id: int, base_vectors: np.ndarray) -> np.ndarray:
    """The vectors to store for photos new to an active ``model_id``: for an adapted version,
    projected and augmented at once from their current neighbours (those in the index and those
    in the same batch); older photos are refreshed at the next adaptation."""
    vectors = apply_model(s, model_id, base_vectors)
    projection = expansion(lib, model_id) if model_id != 0 else None
    if projection is None or not len(vectors):
        return vectors
    return augment_new(projection, lib.index(model_id), vectors)


def augment_new(projection: Projection, index: VectorIndex, projected: np.ndarray) -> np.ndarray:
    return ex.augment_new(projected, index, projection.k, projection.alpha)


def expand_queries(lib: Library, model: int, index: VectorIndex, vectors: np.ndarray,
                   own_ids: Sequence[int | None]) -> np.ndarray:
    """`similar`'s queries: expanded with their nearest photos (their own left out) when ``model``
    is adapted to the library; else ``vectors`` as given."""
    projection = expansion(lib, model)
    if projection is None:
        return vectors
    return ex.expand(vectors, own_ids, index, projection.k, projection.alpha)


#: Decoded weights by their bytes: immutable, so one process-wide copy each (the few most recent).
_weights = Memo(limit=16)


def forget_model(lib: Library, model_id: int) -> None:
    """Drop what this library cached of a removed version (its id may be given again later)."""
    lib.memo.forget(lambda key: isinstance(key, tuple) and key[-1] == model_id)


def cached(kind: str, lib: Library, model_id: int, make):
    """What ``make()`` derives from version ``model_id`` of ``lib``, made once (until forget_model,
    or ``refresh``), however many threads ask at once."""
    return lib.memo.get((kind, model_id), make)


def refresh(kind: str, lib: Library, model_id: int) -> None:
    lib.memo.pop((kind, model_id))


def _projection(weights: bytes) -> Projection:
    return _weights.get(("projection", weights), lambda: Projection.from_bytes(weights))


def _adapter(weights: bytes):
    """Applied with numpy (no torch): browsing with a trained model works in a torch-free install or bundle."""
    from ..core.train.apply import NumpyAdapter

    return _weights.get(("adapter", weights), lambda: NumpyAdapter(weights))


def list_models(lib: Library) -> list[ModelRecord]:
    with lib.db.session() as s:
        models = versions.list_models(s)
    active = lib.active_model
    return [replace(m, active=m.id == active) for m in models]


def active_model(lib: Library) -> ModelRecord:
    """The version that answers `similar` now."""
    with lib.db.session() as s:
        return replace(versions.get_model(s, lib.active_model), active=True)


@writes("switching its model")
def use_model(lib: Library, model_id: int) -> ModelRecord:
    """Make ``model_id`` active: fill in any vectors it lacks, rebuild its index, then switch.

    Until the switch (the last step), searches keep answering with the old model.
    """
    with lib.db.session() as s:
        if versions.get_model(s, model_id) is None:
            raise UserError(f"no model version {model_id}; see 'photosim models'")
    computed = materialise(lib, model_id)
    if not lib.index_state(model_id).startswith("current"):
        lib.rebuild_index(model_id, *(computed or ()))
    lib.set_active_model(model_id)
    return next(m for m in list_models(lib) if m.id == model_id)


def materialise(lib: Library, model_id: int, chunk: int = 20000) -> tuple[np.ndarray, np.ndarray] | None:
    """Store ``model_id``'s vectors for every photo that has a base vector (offline ones too).

    Returns (ids, vectors) when it computed every vector the model has (the usual case for a
    freshly trained model), so the index can be built without reading them back; else None.
    """
    if model_id == 0:
        return None
    with lib.db.session() as s:
        base_ids, base = repo.get_vectors(s, 0)
        have = repo.vector_ids(s, model_id)
    need = ~np.isin(base_ids, have)
    if not need.any():
        return None
    ids, new = base_ids[need], None
    with lib.db.session() as s:
        new = apply_model(s, model_id, base[need])
        row = versions.get_model(s, model_id)
        parent = row.parent
        on_adapted = not row.adapted and library_ancestor(s, parent) == parent != 0
        stored_ids, stored = repo.get_vectors(s, parent, ids.tolist()) if on_adapted else (np.zeros(0, np.int64), None)
    if len(stored_ids):  # trained on an adapted version: from its stored (augmented) vectors, as trained
        at = np.searchsorted(ids, stored_ids)
        new[at] = _adapter(row.weights).apply_numpy(stored)
        return _store_new(lib, model_id, ids, new, have)
    if len(have) and expansion(lib, model_id) is not None:  # photos added while another version answered
        new = np.concatenate([augment_new(expansion(lib, model_id), lib.index(model_id), new[i:i + 1024])
                              for i in range(0, len(new), 1024)])
    return _store_new(lib, model_id, ids, new, have, chunk)


def _store_new(lib: Library, model_id: int, ids: np.ndarray, new: np.ndarray, have: np.ndarray,
               chunk: int = 20000) -> tuple[np.ndarray, np.ndarray] | None:
    for start in range(0, len(ids), chunk):  # one transaction per chunk: a crash keeps what is written
        with lib.db.session() as s:
            repo.put_vectors(s, model_id, ids[start:start + chunk].tolist(), new[start:start + chunk], fresh=True)
    return (ids, new) if len(have) == 0 else None
