"""Similar photos and duplicate groups; both read only, never touch a file."""
from __future__ import annotations

import os
import time

import numpy as np

from ..core.decode import decode_file
from ..core import verify as geometry
from ..core.duplicates import (DEFAULT_THRESHOLD, DuplicateGroup, confirm_pairs, detail_ratio, exact_groups,
                               group_pairs, make_group, near_pairs, upscaled_members)
from ..core.embed import make_engine
from ..core.index import EF_DUPLICATES
from ..core.types import DecodedPhoto, Neighbour, Photo, PhotoState, TaskContext
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .models import apply_model

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
    decoded = decode_file(path, spec.size)
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
    decoded = decode_file(path, lib.base_spec().size)
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
    index = lib.index()
    if index.count() == 0:
        raise UserError("the library has no photos yet; run 'photosim index FOLDER' first")
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


def find_duplicates(lib: Library, threshold: float = DEFAULT_THRESHOLD, ctx: TaskContext | None = None,
                    neighbours: int = 10, verify: bool = True, only: set[int] | None = None) -> list[DuplicateGroup]:
    """Exact groups first, then near-duplicate groups, each with its keeper first.

    ``only``: restrict to the groups of these photo ids (their direct duplicates),
    so a check about a few photos does not compare the whole library.

    Near-duplicate candidates (cosine >= threshold among each photo's nearest
    neighbours) are confirmed by the geometric check of core/verify.py, which
    reads the two files again; ``verify=False`` trusts the similarity alone.
    """
    if not 0.0 < threshold <= 1.0:
        raise UserError("--threshold must be between 0 and 1")
    model = 0  # duplicates are judged on the pretrained embedding: similarity labels never move them
    with lib.db.session() as s:
        photos = {p.id: p for p in repo.all_photos(s, [PhotoState.OK])}
        forbidden = repo.not_duplicate_pairs(s)
        ids, vectors = repo.get_vectors(s, model)
    groups: list[DuplicateGroup] = []
    for g in exact_groups(photos.values()):
        if only is not None and not any(p.id in only for p in g):
            continue
        if not _all_forbidden(g, forbidden):
            groups.append(make_group("exact", g, None))
    keep = np.isin(ids, list(photos))
    ids, vectors = ids[keep], vectors[keep]
    queries = np.flatnonzero(np.isin(ids, list(only))) if only is not None else np.arange(len(ids))
    if len(ids) > 1 and len(queries):
        index = lib.index(model)
        k = min(neighbours + 1, index.count())
        pairs = []
        step = 4096
        for start in range(0, len(queries), step):
            if ctx is not None:
                if ctx.cancelled():
                    break
                ctx.progress(start, len(queries), "comparing")
            rows = queries[start:start + step]
            nid, nsim = index.query(vectors[rows], k, ef=EF_DUPLICATES)
            pairs += near_pairs(ids[rows], nid, nsim, threshold)
        same_bytes = {(a, b) for a, b, _ in pairs if photos.get(a) and photos.get(b)
                      and photos[a].content_hash == photos[b].content_hash}
        pairs = [p for p in pairs if (p[0], p[1]) not in same_bytes and p[0] in photos and p[1] in photos]
        if verify:
            pairs = _confirmed(pairs, photos, forbidden, ctx)
        row = {int(i): n for n, i in enumerate(ids)}
        for g in group_pairs(pairs, forbidden):
            members = [photos[i] for i in g]
            upscaled = _upscaled(members) if verify else set()
            groups.append(make_group("near", members, {i: vectors[row[i]] for i in g}, upscaled))
    return groups


def _confirmed(pairs: list[tuple[int, int, float]], photos: dict[int, Photo], forbidden: set[tuple[int, int]],
               ctx: TaskContext | None) -> list[tuple[int, int, float]]:
    """Candidate pairs that the geometric check confirms (keypoints found once per photo)."""
    found: dict[int, geometry.Keypoints | None] = {}
    checked = [0]

    def points(i: int) -> geometry.Keypoints | None:
        if i not in found:
            grey = geometry.load_grey(photos[i].path)
            kp = geometry.keypoints(grey) if grey is not None else None
            found[i] = kp if kp is not None and kp.enough else None
        return found[i]

    def check(a: int, b: int) -> int | None:
        checked[0] += 1
        if ctx is not None and checked[0] % 64 == 0:
            ctx.progress(checked[0], len(pairs), "checking candidates")
        ka, kb = points(a), points(b)
        return None if ka is None or kb is None else geometry.inliers(ka, kb)

    cancelled = ctx.cancelled if ctx is not None else (lambda: False)
    return confirm_pairs(pairs, check, forbidden, cancelled=cancelled)


def _upscaled(members: list[Photo]) -> set[int]:
    """Members that are upscaled copies of another member (read at their own size; only when sizes differ)."""
    sizes = [(p.width or 0) * (p.height or 0) for p in members]
    if max(sizes) < 1.4 * min(sizes):
        return set()
    detail = {}
    for p in members:
        grey = geometry.load_grey(p.path, long_side=None)
        if grey is not None:
            detail[p.id] = detail_ratio(grey)
    return upscaled_members(members, detail)


def _all_forbidden(group: list[Photo], forbidden: set[tuple[int, int]]) -> bool:
    ids = sorted(p.id for p in group)
    return all((a, b) in forbidden for i, a in enumerate(ids) for b in ids[i + 1:])


def group_as_json(g: DuplicateGroup) -> dict:
    return {"kind": g.kind, "keep": g.keep.path, "reason": g.reason,
            "photos": [{"path": p.path, "similarity": s} for p, s in zip(g.photos, g.similarities)]}
