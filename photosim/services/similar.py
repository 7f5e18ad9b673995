"""Similar photos: the active model's nearest neighbours of a photo in the library or any image file.

Only reads; never touches a photo."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..core.decode import decode_file
from ..core.embed import make_engine
from ..core.types import DecodedPhoto, Neighbour, Photo, PhotoState
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from ..core.adapt import weighted_mean
from .models import apply_model, expansion

_engines: dict = {}


def query_vector(lib: Library, path: str) -> tuple[np.ndarray, int | None]:
    """The active model's vector for ``path``: stored if the photo is in the library, else computed."""
    path = os.path.abspath(path)
    model = lib.active_model
    with lib.db.session() as s:
        photo = repo.photo_by_path(s, path)
        if photo is not None and photo.state == PhotoState.OK:
            ids, vecs = repo.get_vectors(s, model, [photo.id])
            if len(ids):
                return vecs[0], photo.id
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    spec = lib.base_spec()
    decoded = decode_file(path, spec.size, with_keypoints=False)
    if not isinstance(decoded, DecodedPhoto):
        raise UserError(f"cannot read {path}: {decoded.reason}")
    engine = _engines.get(spec) or _engines.setdefault(spec, make_engine(spec))
    base = engine(decoded.pixels[None])
    with lib.db.session() as s:
        return apply_model(s, model, base)[0], (photo.id if photo else None)


def photo_facts(lib: Library, path: str) -> Photo:
    """The library's record of ``path``, or for a file outside it (a dropped query) the same facts
    read from the file, with id 0: what a side-by-side compare shows for either."""
    path = os.path.abspath(path)
    with lib.db.session() as s:
        photo = repo.photo_by_path(s, path)
    if photo is not None:
        return photo
    decoded = decode_file(path, lib.base_spec().size, with_keypoints=False)
    if not isinstance(decoded, DecodedPhoto):
        raise UserError(f"cannot read {path}: {decoded.reason}")
    return Photo(id=0, path=path, size=decoded.size, mtime_ns=decoded.mtime_ns, content_hash=decoded.content_hash,
                 width=decoded.width, height=decoded.height, state=PhotoState.OK, format=decoded.format,
                 taken_at=decoded.taken_at, exif_tags=decoded.exif_tags, jpeg_quality=decoded.jpeg_quality,
                 grey=decoded.grey, border=decoded.border)


def similar(lib: Library, path: str, k: int = 10, min_similarity: float = -1.0) -> list[Neighbour]:
    if k < 1:
        raise UserError("-k must be at least 1")
    vector, own_id = query_vector(lib, path)
    return neighbours(lib, vector, own_id, k, min_similarity)


def neighbours(lib: Library, vector: np.ndarray, own_id: int | None = None, k: int = 10,
               min_similarity: float = -1.0) -> list[Neighbour]:
    """The ``k`` photos nearest to ``vector`` (the active model's vector of the query), best
    first, the query photo itself (``own_id``) and offline photos left out. With an adapted
    version the query is first expanded with its nearest photos (core/adapt.py): the ranking
    `photosim eval` scores, and the one every front end shows."""
    model = lib.active_model
    index = lib.index(model)
    if index.count() == 0:
        raise UserError("the library has no photos yet; run 'photosim index FOLDER' first")
    vector = expand_query(lib, model, index, vector, own_id)
    want = k + 1
    while True:
        ids, sims = index.query(vector, min(want + 16, index.count()))
        with lib.db.session() as s:
            photos = repo.photos_by_id(s, ids[0].tolist())
        out = [Neighbour(photos[i], float(sim)) for i, sim in zip(ids[0], sims[0])
               if i != own_id and i in photos and photos[i].state == PhotoState.OK and sim >= min_similarity]
        if len(out) >= k or want + 16 >= index.count():
            return out[:k]
        want *= 4  # many offline photos among the nearest: look further


def expand_query(lib: Library, model: int, index, vector: np.ndarray, own_id: int | None = None) -> np.ndarray:
    """alpha-query expansion when ``model`` is adapted to the library; else ``vector``."""
    return expand_queries(lib, model, index, vector[None], [own_id])[0]


def expand_queries(lib: Library, model: int, index, vectors: np.ndarray,
                   own_ids: Sequence[int | None]) -> np.ndarray:
    """Each query replaced by the weighted mean of itself and its k nearest photos (its own photo
    left out) when ``model`` is adapted to the library (core/adapt.py); else ``vectors`` as given.
    One index search for the whole batch."""
    projection = expansion(lib, model)
    if projection is None or index.dim != vectors.shape[1] or index.count() == 0:
        return vectors
    k = projection.k
    ids, sims = index.query(vectors, k + 1)
    own = np.array([-1 if o is None else o for o in own_ids], np.int64)[:, None]
    mine = ids == own
    # keep the first k that are not the query's own photo (it is at most one of the k + 1)
    order = np.argsort(mine, axis=1, kind="stable")[:, :k]
    ids, sims = np.take_along_axis(ids, order, axis=1), np.take_along_axis(sims, order, axis=1)
    neighbours_ = index.vectors(ids).reshape(len(vectors), ids.shape[1], -1)
    return weighted_mean(vectors, neighbours_, sims, projection.alpha)
