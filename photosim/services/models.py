"""Model versions: version 0 is the pretrained backbone; later ones are trained adapters
applied to the stored base vectors (so switching never decodes a photo again)."""
from __future__ import annotations

import numpy as np

from ..store import repositories as repo
from ..store.db import Session
from ..store.library import Library
from . import UserError


def apply_model(s: Session, model_id: int, base_vectors: np.ndarray) -> np.ndarray:
    """The vectors of ``model_id`` for photos whose base (version 0) vectors are given."""
    if model_id == 0:
        return base_vectors
    row = repo.get_model(s, model_id)
    if row is None or row.weights is None:
        raise UserError(f"model version {model_id} does not exist")
    return _adapter(model_id, row.weights).apply_numpy(base_vectors)


_adapters: dict = {}


def _adapter(model_id: int, weights: bytes):
    """Adapters are immutable once stored, so one loaded copy per version is kept. Applied with
    numpy (no torch): browsing with a trained model works in a torch-free install or bundle."""
    from ..core.train.apply import NumpyAdapter

    key = (model_id, hash(weights))
    if key not in _adapters:
        _adapters[key] = NumpyAdapter(weights)
    return _adapters[key]


def list_models(lib: Library) -> list[dict]:
    with lib.db.session() as s:
        models = repo.list_models(s)
    active = lib.active_model
    for m in models:
        m["active"] = m["id"] == active
    return models


def use_model(lib: Library, model_id: int) -> dict:
    """Make ``model_id`` active: fill in any vectors it lacks, rebuild its index, then switch.

    Until the switch (the last step), searches keep answering with the old model.
    """
    with lib.db.session() as s:
        if repo.get_model(s, model_id) is None:
            raise UserError(f"no model version {model_id}; see 'photosim models'")
    computed = materialise(lib, model_id)
    if not lib.index_state(model_id).startswith("current"):
        lib.rebuild_index(model_id, *(computed or ()))
    lib.set_active_model(model_id)
    return next(m for m in list_models(lib) if m["id"] == model_id)


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
    for start in range(0, len(ids), chunk):  # one transaction per chunk: a crash keeps what is written
        with lib.db.session() as s:
            repo.put_vectors(s, model_id, ids[start:start + chunk].tolist(), new[start:start + chunk], fresh=True)
    return (ids, new) if len(have) == 0 else None
