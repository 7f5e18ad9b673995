"""Duplicate groups: exact copies (same bytes) and near-duplicates confirmed by the geometric check.

Reads photos only; may write to the library the keypoints of photos indexed before they were stored."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..core import verify as geometry
from ..core.duplicates import (DEFAULT_THRESHOLD, MIN_INLIERS, UPSCALE_PIXEL_RATIO, DuplicateGroup, confirm_pairs,
                               detail_ratio, exact_groups, group_pairs, make_group, near_pairs, upscaled_members)
from ..core.unionfind import UnionFind
from ..core.index import EF_DUPLICATES
from ..core.types import Photo, TaskContext
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library
from . import UserError

#: Photos whose keypoints stay in memory during one `dupes` check (about 5 KB each).
KEYPOINT_CACHE = 20_000


def find_duplicates(lib: Library, threshold: float = DEFAULT_THRESHOLD, ctx: TaskContext | None = None,
                    neighbours: int = 10, verify: bool = True, only: set[int] | None = None,
                    stats: dict | None = None) -> list[DuplicateGroup]:
    """Exact groups first, then near-duplicate groups, each with its keeper first.

    ``only``: restrict to the groups of these photo ids (their direct duplicates),
    so a check about a few photos does not compare the whole library.

    Near-duplicate candidates (cosine >= threshold among each photo's nearest
    neighbours; a greyscale photo against a colour one, GREY_ALLOWANCE lower) are
    confirmed by the geometric check of core/verify.py on the keypoints stored
    at indexing (a photo indexed without them is read once and they are kept);
    ``verify=False`` trusts the similarity alone. ``stats``, if given, receives
    the counts of candidate pairs, geometric checks and photos read from files.
    """
    if not 0.0 < threshold <= 1.0:
        raise UserError("--threshold must be between 0 and 1")
    model = 0  # duplicates are judged on the pretrained embedding: similarity labels never move them
    with lib.db.session() as s:
        facts = repo.duplicate_facts(s)
        forbidden = repo.not_duplicate_pairs(s)
        ids, vectors = repo.get_vectors(s, model)
    same_bytes = exact_groups({i: digest for i, (digest, _) in facts.items()})
    copies = {i for g in same_bytes for i in g}
    groups: list[DuplicateGroup] = []
    photos = _photos(lib, copies)
    for g in same_bytes:
        if only is not None and not any(i in only for i in g):
            continue
        members = [photos[i] for i in g]
        if not _all_forbidden(members, forbidden):
            groups.append(make_group("exact", members, None))
    keep = np.isin(ids, list(facts))
    ids, vectors = ids[keep], vectors[keep]
    queries = np.flatnonzero(np.isin(ids, list(only))) if only is not None else np.arange(len(ids))
    if len(ids) > 1 and len(queries):
        index = lib.index(model)
        grey = [i for i, (_, is_grey) in facts.items() if is_grey]
        k = min(neighbours + 1, index.count())
        found_ids, found_sims = [], []
        step = 4096
        for start in range(0, len(queries), step):
            if ctx is not None:
                if ctx.cancelled():
                    break
                ctx.progress(start, len(queries), "comparing")
            rows = queries[start:start + step]
            nid, nsim = index.query(vectors[rows], k, ef=EF_DUPLICATES)
            found_ids.append((ids[rows], nid))
            found_sims.append(nsim)
        pairs = near_pairs(np.concatenate([q for q, _ in found_ids]), np.concatenate([n for _, n in found_ids]),
                           np.concatenate(found_sims), threshold, grey) if found_ids else []
        # Pairs of readable photos, less those with the same bytes (already an exact group).
        pairs = [p for p in pairs if p[0] in facts and p[1] in facts
                 and not (p[0] in copies and p[1] in copies and facts[p[0]][0] == facts[p[1]][0])]
        stats = stats if stats is not None else {}
        stats["candidates"] = len(pairs)
        if verify:
            pairs = _confirmed(lib, pairs, forbidden, ctx, stats)
        row = {int(i): n for n, i in enumerate(ids)}
        near = group_pairs(pairs, forbidden)
        photos = _photos(lib, {i for g in near for i in g})
        for g in near:
            members = [photos[i] for i in g]
            upscaled = _upscaled(members) if verify else set()
            groups.append(make_group("near", members, {i: vectors[row[i]] for i in g}, upscaled))
    return groups


def copy_groups(lib: Library, candidates: list[list[int]], threshold: float) -> list[frozenset[int]]:
    """The duplicate groups among ``candidates`` (lists of photo ids that may be copies of each other,
    e.g. one query's nearest results), judged as `dupes` judges: every readable photo with the same
    bytes as a candidate, and pairs within one list that reach ``threshold`` on model version 0 and
    pass the geometric check on stored keypoints. Groups that share a photo are one group.

    Membership only (no keeper, no photo file read for the upscale rule), and no index search: the
    cost follows the candidates, not the library, so `similar` can afford it on every query.
    A near copy outside every list is not found (dupes looks among each photo's 10 nearest).
    """
    wanted = {int(i) for c in candidates for i in c}
    if not wanted:
        return []
    with lib.db.session() as s:
        facts = repo.duplicate_facts_around(s, wanted)  # the candidates and their byte copies
        forbidden = repo.not_duplicate_pairs(s)
        # One photo stands for its bytes in the near-duplicate stage: its byte copies are joined
        # anyway, and checking each of them against the same re-encode would repeat one check.
        same_bytes = exact_groups({i: digest for i, (digest, _) in facts.items()})
        stand_in = {i: min(g) for g in same_bytes for i in g}
        lists = [sorted({stand_in.get(int(i), int(i)) for i in c} & facts.keys()) for c in candidates]
        lists = [c for c in lists if len(c) > 1]
        ids, vectors = repo.get_vectors(s, 0, sorted(set().union(*lists))) if lists else (np.zeros(0, np.int64), None)
    row = {int(i): n for n, i in enumerate(ids)}
    grey = [i for i, (_, is_grey) in facts.items() if is_grey]
    pairs: dict[tuple[int, int], tuple[int, int, float]] = {}
    for c in lists:
        rows = np.array([row[i] for i in c if i in row], np.int64)
        sims = vectors[rows] @ vectors[rows].T  # every pair within the list: a table near_pairs reads
        for a, b, sim in near_pairs(ids[rows], np.broadcast_to(ids[rows], sims.shape), sims, threshold, grey):
            pairs[(a, b)] = (a, b, sim)
    known = [p for p in pairs.values() if _bytes_pair(facts, p) in _confirmed_before]
    unknown = [p for p in pairs.values() if _bytes_pair(facts, p) not in _confirmed_before]
    confirmed = known + (_confirmed(lib, unknown, forbidden, None, {}) if unknown else [])
    with _confirmed_lock:
        for p in confirmed:
            key = _bytes_pair(facts, p)
            if key is not None:
                _confirmed_before[key] = None
                _confirmed_before.move_to_end(key)
        while len(_confirmed_before) > CONFIRMED_CACHE:
            _confirmed_before.popitem(last=False)
    uf = UnionFind()
    for g in same_bytes:
        if not _all_forbidden_ids(g, forbidden):
            for i in g[1:]:
                uf.union(g[0], i)
    for g in group_pairs(confirmed, forbidden):
        for i in g[1:]:
            uf.union(g[0], i)
    return [frozenset(g) for g in uf.groups()]


#: Pairs of contents (hash, hash) the geometric check confirmed, most recent last: the same bytes
#: always give the same keypoints, so a pair of copies that shows up in query after query (the
#: window asks again) is checked once. Only confirmations are kept: `confirm_pairs` skips some
#: pairs without checking them, so "not confirmed" is no verdict.
_confirmed_before: OrderedDict[tuple[str, str], None] = OrderedDict()
_confirmed_lock = threading.Lock()
CONFIRMED_CACHE = 50_000


def _bytes_pair(facts: dict[int, tuple[str | None, bool]], pair: tuple[int, int, float]) -> tuple[str, str] | None:
    a, b = facts[pair[0]][0], facts[pair[1]][0]
    return (min(a, b), max(a, b)) if a and b else None


def _photos(lib: Library, ids: set[int]) -> dict[int, Photo]:
    with lib.db.session() as s:
        return repo.photos_by_id(s, ids)


def _confirmed(lib: Library, pairs: list[tuple[int, int, float]], forbidden: set[tuple[int, int]],
               ctx: TaskContext | None, stats: dict) -> list[tuple[int, int, float]]:
    """Candidate pairs that the geometric check confirms, on stored keypoints where the photo has them."""
    found: OrderedDict[int, geometry.Keypoints | None] = OrderedDict()  # recently used, at most KEYPOINT_CACHE
    read: dict[int, bytes] = {}  # keypoints found now from a file (a photo indexed before they were kept)
    involved = {i for a, b, _ in pairs for i in (a, b)}
    with lib.db.session() as s:
        unstored = repo.photos_by_id(s, involved - repo.ids_with_keypoints(s, involved))
    reader = repo.KeypointReader(lib.db.path)
    stats.update(checks=0, files_read=0)

    def points(i: int) -> geometry.Keypoints | None:
        if i in found:
            found.move_to_end(i)
            return found[i]
        if i in read:  # read from its file earlier in this run, not yet written to the library
            kp = geometry.unpack(read[i])
        elif i in unstored:
            stats["files_read"] += 1
            grey = geometry.load_grey(unstored.pop(i).path)
            kp = geometry.keypoints(grey) if grey is not None else None
            if kp is not None:
                read[i] = geometry.pack(kp)
                if len(read) >= 256:
                    _keep_keypoints(lib, read)
        else:
            blob = reader.get(i)
            kp = geometry.unpack(blob) if blob is not None else None
        found[i] = kp if kp is not None and kp.enough else None
        if len(found) > KEYPOINT_CACHE:
            found.popitem(last=False)
        return found[i]

    def check(a: int, b: int) -> int | None:
        ka, kb = points(a), points(b)
        if ka is None or kb is None:
            return None
        stats["checks"] += 1
        return geometry.inliers(ka, kb, MIN_INLIERS)

    cancelled = ctx.cancelled if ctx is not None else (lambda: False)
    progress = (lambda done, total: ctx.progress(done, total, "checking candidates")) if ctx is not None else None
    try:
        return confirm_pairs(pairs, check, forbidden, cancelled=cancelled, progress=progress)
    finally:
        reader.close()
        if read:
            _keep_keypoints(lib, read)


def _keep_keypoints(lib: Library, read: dict[int, bytes]) -> None:
    """Store keypoints read from files, so the next run need not read those photos again."""
    try:
        with lib.db.session() as s:
            repo.put_keypoints(s, list(read), list(read.values()))
    except WRITE_ERRORS:  # a read-only or busy library: the check still worked, it only costs a re-read
        pass
    read.clear()


def _upscaled(members: list[Photo]) -> set[int]:
    """Members that are upscaled copies of another member (read at their own size; only when sizes differ)."""
    sizes = [(p.width or 0) * (p.height or 0) for p in members]
    if max(sizes) < UPSCALE_PIXEL_RATIO * min(sizes):
        return set()
    detail = {}
    for p in members:
        grey = geometry.load_grey(p.path, long_side=None)
        if grey is not None:
            detail[p.id] = detail_ratio(grey)
    return upscaled_members(members, detail)


def _all_forbidden(group: list[Photo], forbidden: set[tuple[int, int]]) -> bool:
    return _all_forbidden_ids([p.id for p in group], forbidden)


def _all_forbidden_ids(group: list[int], forbidden: set[tuple[int, int]]) -> bool:
    ids = sorted(group)
    return all((a, b) in forbidden for i, a in enumerate(ids) for b in ids[i + 1:])


def group_as_json(g: DuplicateGroup) -> dict:
    return {"kind": g.kind, "keep": g.keep.path, "reason": g.reason,
            "photos": [{"path": p.path, "similarity": s} for p, s in zip(g.photos, g.similarities)]}
