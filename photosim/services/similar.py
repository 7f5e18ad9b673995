"""Similar photos: the active model's nearest neighbours of photos in the library or of any image files.

Three layers, each free to change on its own:

- the queries (``query_vectors``): a library photo's stored vector; a file outside the library
  decoded and embedded, a batch at a time;
- the ranking (``_ranked``): the nearest readable photos in the active model's index, less the
  query itself, one index search per batch of queries;
- copies shown once (``collapse_copies``): the photos of one duplicate group, as `dupes` would
  form it, become one result that carries the others as its copies, so k counts distinct photos
  and a photo's re-encodes cannot fill the first places.

Only reads; never touches a photo."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from ..core.decode import decode_file
from ..core.embed import cpu_count, make_engine
from ..core.memo import Memo
from ..core.paths import real_path
from ..core.types import DecodedPhoto, Neighbour, Photo, PhotoState
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .calibration import duplicate_threshold
from .duplicates import copy_groups
from .models import apply_model, expand_queries
from .shown_similarity import Scale, scale

#: Photos from outside the library decoded (on all cores) and embedded together.
EMBED_BATCH = 32

#: One ONNX session per embedding spec in a process, made once however many threads ask.
_engines = Memo()


@dataclass(frozen=True)
class QueryVector:
    """One query in the active model: its vector and its library id, or why it has none."""

    vector: np.ndarray | None
    own_id: int | None  # the query's own photo in the library (left out of its results)
    error: str | None = None


@dataclass
class SimilarAnswer:
    query: str                          # as the caller gave it
    results: list[Neighbour] = field(default_factory=list)  # best first; a group of copies is one result
    query_copies: list[Neighbour] = field(default_factory=list)  # the query's own copies, left out of results
    error: str | None = None            # why there is no answer (a missing or unreadable file)


# --- the queries -------------------------------------------------------------------------
def query_vectors(lib: Library, paths: Sequence[str], model: int) -> list[QueryVector]:
    """Model ``model``'s vector of each path: stored for a photo of the library, else computed from
    the file. A missing or unreadable file gets an error, and the others are still answered."""
    full = [real_path(p) for p in paths]  # a link to a photo of the library is that photo
    with lib.db.session() as s:
        known = {p: repo.photo_by_path(s, p) for p in set(full)}
        readable = [ph.id for ph in known.values() if ph is not None and ph.state == PhotoState.OK]
        ids, vectors = repo.get_vectors(s, model, readable)
    stored = {int(i): v for i, v in zip(ids, vectors)}
    out: list[QueryVector | None] = [None] * len(paths)
    outside: dict[str, list[int]] = {}
    for n, p in enumerate(full):
        photo = known[p]
        if photo is not None and photo.id in stored:
            out[n] = QueryVector(stored[photo.id], photo.id)
        elif not os.path.exists(p):
            out[n] = QueryVector(None, None, f"no such file: {p}")
        else:  # outside the library, or a photo of it whose vector is not stored (offline, unreadable)
            outside.setdefault(p, []).append(n)
    for p, got in _embed(lib, list(outside), model).items():
        photo = known[p]
        for n in outside[p]:
            out[n] = replace(got, own_id=photo.id if photo is not None else None)
    return out


def _embed(lib: Library, paths: list[str], model: int) -> dict[str, QueryVector]:
    if not paths:
        return {}
    spec = lib.base_spec()
    engine = _engines.get(spec, lambda: make_engine(spec))
    out: dict[str, QueryVector] = {}
    with ThreadPoolExecutor(max(1, min(cpu_count(), len(paths)))) as pool:
        for start in range(0, len(paths), EMBED_BATCH):
            part = paths[start:start + EMBED_BATCH]
            decoded = list(pool.map(lambda p: decode_file(p, spec.size, with_keypoints=False), part))
            good = [d for d in decoded if isinstance(d, DecodedPhoto)]
            for d in decoded:
                if not isinstance(d, DecodedPhoto):
                    out[d.path] = QueryVector(None, None, f"cannot read {d.path}: {d.reason}")
            if good:
                base = engine(np.stack([d.pixels for d in good]))
                with lib.db.session() as s:
                    vectors = apply_model(s, model, base)
                out.update({d.path: QueryVector(v, None) for d, v in zip(good, vectors)})
    return out


# --- the ranking ---------------------------------------------------------------------------
def _ranked(lib: Library, model: int, vectors: np.ndarray, own_ids: Sequence[int | None], k: int,
            min_cosine: float) -> list[list[Neighbour]]:
    """Each query's k nearest readable photos, best first, less the query's own photo: one index
    search for the whole batch, then one more for the queries whose nearest were mostly offline."""
    index = lib.index(model)
    if index.count() == 0:
        raise UserError("the library has no photos yet; run 'photosim index FOLDER' first")
    vectors = expand_queries(lib, model, index, vectors, own_ids)  # an adapted version expands each query
    out: list[list[Neighbour]] = [[] for _ in own_ids]
    pending, want = list(range(len(own_ids))), k + 1
    while pending:
        n = min(want + 16, index.count())
        ids, sims = index.query(vectors[pending], n)
        with lib.db.session() as s:
            photos = repo.photos_by_id(s, np.unique(ids).tolist())
        still = []
        for row, q in enumerate(pending):
            found = [Neighbour(photos[i], float(sim)) for i, sim in zip(ids[row].tolist(), sims[row])
                     if i != own_ids[q] and i in photos and photos[i].state == PhotoState.OK and sim >= min_cosine]
            if len(found) >= k or n >= index.count():
                out[q] = found[:k]
            else:
                still.append(q)  # many offline photos among the nearest: look further
        pending, want = still, want * 4
    return out


def neighbours(lib: Library, vector: np.ndarray, own_id: int | None = None, k: int = 10,
               min_cosine: float = -1.0) -> list[Neighbour]:
    """The ranking of one query vector (the active model's), before copies are collapsed: what
    `photosim eval` scores for the adapted figures."""
    model = lib.active_model
    return _ranked(lib, model, np.asarray(vector, np.float32)[None], [own_id], k, min_cosine)[0]


# --- copies shown once ---------------------------------------------------------------------
def collapse_copies(ranked: list[Neighbour], group_of: dict[int, frozenset[int]], others: dict[int, Neighbour],
                    own_id: int | None = None) -> tuple[list[Neighbour], list[Neighbour]]:
    """(results, the query's copies): one result per duplicate group, at the place of its best-ranked
    photo, carrying the group's other photos (best first) as its copies; photos in no group as they are.

    ``group_of``: photo id -> its group; ``others``: the group members that are not in ``ranked``
    (a byte copy ranked further down), as neighbours of the query. The query's own group is left
    out of the results like the query itself, and returned apart.
    """
    known = {n.photo.id: n for n in ranked}
    known.update({i: n for i, n in others.items() if i not in known})

    def members(group: frozenset[int], but: int | None) -> list[Neighbour]:
        return sorted((known[i] for i in group if i != but and i in known), key=lambda n: -n.cosine)

    own_group = group_of.get(own_id, frozenset()) if own_id is not None else frozenset()
    results, shown = [], set()
    for n in ranked:
        group = group_of.get(n.photo.id)
        if n.photo.id in own_group or group in shown:
            continue
        if group is None:
            results.append(n)
        else:
            shown.add(group)
            results.append(replace(n, copies=tuple(members(group, n.photo.id))))
    return results, members(own_group, own_id)


def _members_not_ranked(lib: Library, model: int, vectors: np.ndarray,
                        wanted: list[set[int]]) -> list[dict[int, Neighbour]]:
    """For each query, its neighbour entry (photo, similarity) for each photo id in ``wanted``: one read of
    the photos and their vectors for the whole batch."""
    union = set().union(*wanted)
    if not union:
        return [{} for _ in wanted]
    with lib.db.session() as s:
        photos = repo.photos_by_id(s, union)
        ids, stored = repo.get_vectors(s, model, sorted(union))
    row = {int(i): n for n, i in enumerate(ids)}
    out = []
    for vector, ids_wanted in zip(vectors, wanted):
        out.append({i: Neighbour(photos[i], float(stored[row[i]] @ vector))
                    for i in ids_wanted if i in photos and i in row})
    return out


# --- the use case ------------------------------------------------------------------------------
def similar_many(lib: Library, queries: Sequence[str], k: int = 10, min_score: float = -1.0,
                 all_copies: bool = False) -> list[SimilarAnswer]:
    """The k photos most like each query, best first, one answer per query in order.

    Copies of one photo (its duplicate group: same bytes, or near-duplicates confirmed by the
    geometric check at the library's duplicate threshold) are one result, and k counts distinct
    photos; the query's own copies are left out like the query itself and listed apart.
    ``all_copies`` lists every photo as its own result, the query's copies among them.
    ``min_score`` is on the scale shown (services/shown_similarity.py), as each result's ``score``.
    """
    if k < 1:
        raise UserError("-k must be at least 1")
    model = lib.active_model  # read once: each read is a database round trip
    shown = scale(lib, model)
    if shown is None:
        return _similar_many(lib, model, queries, k, min_score, all_copies)
    # The floor is on the rounded score a person reads, so a result shown exactly at the floor is kept:
    # search from half a rounding step lower, then keep what reads >= the floor.
    floor = shown.raw_floor(min_score - 0.5 * 10 ** -SHOWN_DIGITS)
    answers = _similar_many(lib, model, queries, k, floor, all_copies)
    return [_with_scores(a, shown, min_score) for a in answers]


#: Decimals of the shown score (CLI text shows 3, --json and the window's slider 2-4).
SHOWN_DIGITS = 4


def _with_scores(answer: SimilarAnswer, shown: Scale, min_shown: float) -> SimilarAnswer:
    def scored(n: Neighbour) -> Neighbour:
        return replace(n, shown=round(shown.shown(n.cosine), SHOWN_DIGITS),
                       copies=tuple(scored(c) for c in n.copies))

    answer.results = [r for r in (scored(n) for n in answer.results) if r.shown >= min_shown]
    answer.query_copies = [scored(n) for n in answer.query_copies]
    return answer


def _similar_many(lib: Library, model: int, queries: Sequence[str], k: int, min_cosine: float,
                  all_copies: bool) -> list[SimilarAnswer]:
    got = query_vectors(lib, queries, model)
    answers = [SimilarAnswer(q, error=g.error) for q, g in zip(queries, got)]
    todo = [n for n, g in enumerate(got) if g.error is None]
    if not todo:
        return answers
    size = lib.index(model).count()
    if size == 0:
        raise UserError("the library has no photos yet; run 'photosim index FOLDER' first")
    vectors = np.stack([got[n].vector for n in todo])
    own = [got[n].own_id for n in todo]
    if all_copies:
        for n, found in zip(todo, _ranked(lib, model, vectors, own, k, min_cosine)):
            answers[n].results = found
        return answers
    threshold = duplicate_threshold(lib).value  # the duplicate threshold `dupes` uses for this library
    pending, want = list(range(len(todo))), k + k // 2 + 1  # room for a few copies in one search
    while pending:
        ranked = _ranked(lib, model, vectors[pending], [own[q] for q in pending], want, min_cosine)
        windows = [[n.photo.id for n in r] + ([own[q]] if own[q] is not None else []) for q, r in zip(pending, ranked)]
        groups = copy_groups(lib, windows, threshold)
        group_of = {i: g for g in groups for i in g}
        missing = [set().union(*(group_of.get(i, ()) for i in w)) - set(w) for w in windows]
        others = _members_not_ranked(lib, model, vectors[pending], missing)
        still = []
        for q, r, extra in zip(pending, ranked, others):
            results, query_copies = collapse_copies(r, group_of, extra, own[q])
            answer = answers[todo[q]]
            answer.results, answer.query_copies = results[:k], query_copies
            if len(results) < k and len(r) == want and want + 16 < size:
                still.append(q)  # copies took places the k distinct photos need: look further
        pending, want = still, want * 4
    return answers


def similar_answer(lib: Library, path: str, k: int = 10, min_score: float = -1.0,
                   all_copies: bool = False) -> SimilarAnswer:
    """One query's answer; a missing or unreadable query is a UserError."""
    answer = similar_many(lib, [path], k, min_score, all_copies)[0]
    if answer.error:
        raise UserError(answer.error)
    return answer


def similar(lib: Library, path: str, k: int = 10, min_score: float = -1.0,
            all_copies: bool = False) -> list[Neighbour]:
    return similar_answer(lib, path, k, min_score, all_copies).results


def photo_facts(lib: Library, path: str) -> Photo:
    """The library's record of ``path``, or for a file outside it (a dropped query) the same facts
    read from the file, with id 0: what a side-by-side compare shows for either."""
    path = real_path(path)
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
