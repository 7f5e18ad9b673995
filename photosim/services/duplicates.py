"""Duplicate groups: exact copies (same bytes), near-duplicates confirmed by the geometric check,
bursts and RAW + JPEG pairs.

Reads photos only; may write to the library the keypoints of photos indexed before they were stored."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from ..core import verify as geometry
from ..core.duplicates import (DEFAULT_THRESHOLD, KINDS, MIN_INLIERS, UPSCALE_PIXEL_RATIO, DuplicateGroup,
                               KeeperRules, confirm_pairs, detail_ratio, exact_groups, make_group, near_pairs,
                               upscaled_members)
from ..core.unionfind import UnionFind
from ..core.index import EF_DUPLICATES
from ..core.types import Photo, TaskContext
from ..store import removals
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library
from . import UserError, settings, shots
from .folders import protecting_folder

#: Photos whose keypoints stay in memory during one `dupes` check (about 5 KB each).
KEYPOINT_CACHE = 20_000
#: A check about at most this many photos reads their keypoints in one statement, not one by one.
KEYPOINTS_AT_ONCE = 256


def keeper_rules(lib: Library) -> KeeperRules:
    """The keeper rules this library's person chose (services/settings.py), else the defaults."""
    return KeeperRules(order=tuple(settings.get(lib, "dupes.keep_rules")),
                       newest=settings.get(lib, "dupes.keep_date") == "newest",
                       formats=tuple(settings.get(lib, "dupes.format_order")),
                       folders=tuple(settings.get(lib, "dupes.folder_priority")),
                       name_patterns=tuple(settings.get(lib, "dupes.name_patterns")))


def find_duplicates(lib: Library, threshold: float = DEFAULT_THRESHOLD, ctx: TaskContext | None = None,
                    neighbours: int = 10, verify: bool = True, only: set[int] | None = None,
                    stats: dict | None = None, rules: KeeperRules | None = None,
                    with_removed: bool = False) -> list[DuplicateGroup]:
    """Duplicate groups by kind (exact, near, burst, raw+jpeg; core/duplicates.KINDS), each photo in one
    group, keeper first by the library's keeper rules (``rules`` overrides them); photos in protected
    folders are marked kept.

    ``only``: restrict to the groups of these photo ids (their direct duplicates),
    so a check about a few photos does not compare the whole library.
    ``with_removed``: photos in the quarantine take part too (state MISSING), so
    a check can tell that a group's other copies were removed earlier.

    Near-duplicate candidates (cosine >= threshold among each photo's nearest
    neighbours; a greyscale photo against a colour one, GREY_ALLOWANCE lower) are
    confirmed by the geometric check of core/verify.py on the keypoints stored
    at indexing (a photo indexed without them is read once and they are kept);
    ``verify=False`` trusts the similarity alone. Pairs in a band below the
    threshold are checked too, as possible burst frames only. Confirmed pairs are
    then sorted into copies and burst frames, RAWs are paired with their camera
    JPEGs (services/shots.py), and all are joined with the same-bytes groups, so
    an exact pair with a re-encode of it is one group of three with the pair
    marked as exact copies, and an exact pair inside a burst is marked there.
    ``stats``, if given, receives the counts of candidate pairs, geometric checks
    (near and burst band) and photos read from files.
    """
    if not 0.0 < threshold <= 1.0:
        raise UserError("--threshold must be between 0 and 1")
    rules = rules or keeper_rules(lib)
    model = 0  # duplicates are judged on the pretrained embedding: similarity labels never move them
    with lib.db.session() as s:
        facts = repo.duplicate_facts(s)
        if with_removed:
            facts.update(removals.quarantined_facts(s))
        forbidden = repo.not_duplicate_pairs(s)
        ids, vectors = repo.get_vectors(s, model)
        protected = removals.protected_folders(s)
    same_bytes = exact_groups({i: digest for i, (digest, _) in facts.items()})
    copies = {i for g in same_bytes for i in g}
    pairs: list[tuple[int, int, float]] = []
    frames: list[tuple[int, int, float]] = []  # burst frames are less alike than copies: a band below
    keep = np.isin(ids, list(facts))
    ids, vectors = ids[keep], vectors[keep]
    queries = np.flatnonzero(np.isin(ids, list(only))) if only is not None else np.arange(len(ids))
    stats = stats if stats is not None else {}
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
        table = [np.concatenate([q for q, _ in found_ids]), np.concatenate([n for _, n in found_ids]),
                 np.concatenate(found_sims)] if found_ids else None

        def candidates(bar: float) -> list[tuple[int, int, float]]:
            # Pairs of readable photos, less those with the same bytes (already joined).
            found = near_pairs(*table, bar, grey) if table is not None else []
            return [p for p in found if p[0] in facts and p[1] in facts
                    and not (p[0] in copies and p[1] in copies and facts[p[0]][0] == facts[p[1]][0])]

        pairs = candidates(threshold)
        stats["candidates"] = len(pairs)
        if verify:
            # The burst band holds the near-duplicate candidates again (those not confirmed there), so
            # each check's result is kept for it: a pair is checked once per run, whatever the stage.
            # Pairs checked before on the same bytes (by `dupes` or `similar`) are answered by their kept verdict.
            before = stored_verdicts(lib, facts) if only is None else {}
            stats["verdicts_kept"] = len(before)
            checks: dict[tuple[int, int], int] = dict(before)
            pairs = _confirmed(lib, pairs, forbidden, ctx, stats, same_bytes, checks)
            frames = _burst_candidates(lib, candidates(threshold - shots.BURST_ALLOWANCE), pairs, same_bytes,
                                       forbidden, ctx, stats, checks)
            keep_verdicts(lib, facts, checks, before)
    row = {int(i): n for n, i in enumerate(ids)}

    def vecs(want: list[int]) -> dict[int, np.ndarray]:
        return {i: vectors[row[i]] for i in want if i in row}

    def upscaled(members: list[Photo]) -> set[int]:
        return _upscaled(members) if verify and len({p.content_hash for p in members}) > 1 else set()

    # Copies, burst frames and RAW + JPEG pairs sorted apart, each photo in one group (services/shots.py).
    sorting = shots.sort_confirmed(lib, same_bytes, pairs, frames, forbidden, only, verify,
                                   taking_part=set(facts) if with_removed else None)
    found = sorting.found
    if only is not None:
        def wanted(ids_: list[int]) -> bool:
            return any(i in only for i in ids_)
        found.near = [g for g in found.near if wanted(g)]
        found.paired = [g for g in found.paired if wanted(g)]
        found.bursts = [b for b in found.bursts if wanted([i for unit in b for i in unit])]
    photos = sorting.photos
    groups: list[DuplicateGroup] = []
    for g in found.near:
        members = [photos[i] for i in g if i in photos]
        if len(members) < 2:
            continue
        exact = len({p.content_hash for p in members}) == 1
        groups.append(make_group(None, members, None if exact else vecs(g), upscaled(members), rules))
    groups += [shots.paired_group(g, sorting, rules, vecs, upscaled) for g in found.paired]
    groups += [shots.burst_group(b, sorting, rules, vecs, upscaled) for b in found.bursts]
    for g in groups:
        g.protected = frozenset(p.id for p in g.photos if protecting_folder(p.path, protected) is not None)
    order = {kind: n for n, kind in enumerate(KINDS)}
    groups.sort(key=lambda grp: (order.get(grp.kind, len(order)), min(p.id for p in grp.photos)))
    return groups


def copy_groups(lib: Library, candidates: list[list[int]], threshold: float) -> list[frozenset[int]]:
    """The duplicate groups among ``candidates`` (lists of photo ids that may be copies of each other,
    e.g. one query's nearest results), judged as `dupes` judges: every readable photo with the same
    bytes as a candidate, and pairs within one list that reach ``threshold`` on model version 0 and
    pass the geometric check on stored keypoints and are copies, not two frames of a burst; a RAW
    among them with its camera JPEG. Groups that share a photo are one group. So a result stands for
    the photos one capture left (an exact or near-duplicate group of `dupes`, or one frame of a burst
    with its copies), while the frames of a burst, different moments, stay results of their own.

    Membership only (no keeper, no photo file read for the upscale rule), and no index search: the
    cost follows the candidates, not the library, so `similar` can afford it on every query. A pair
    checked before (by `dupes`, or an earlier answer, in any process) is not checked again: its
    verdict is kept with the bytes it was made on (``pair_checks``), and every pair goes through the
    same confirmation as when checked, so the groups are the same either way.
    A near copy outside every list is not found (dupes looks among each photo's 10 nearest).
    """
    wanted = {int(i) for c in candidates for i in c}
    if not wanted:
        return []
    pairs: dict[tuple[int, int], tuple[int, int, float]] = {}
    stored: list[repo.PairVerdict] = []
    with lib.db.session() as s:
        facts = repo.duplicate_facts_around(s, wanted)  # the candidates and their byte copies
        # Every pair judged here has a photo among these: the marks about others are not read.
        forbidden = repo.not_duplicate_pairs_touching(s, facts.keys() | wanted)
        raws = shots.raw_ids(s, wanted)  # read here, in this session: seldom any
        # One photo stands for its bytes in the near-duplicate stage: its byte copies are joined
        # anyway, and checking each of them against the same re-encode would repeat one check.
        same_bytes = exact_groups({i: digest for i, (digest, _) in facts.items()})
        stand_in = {i: min(g) for g in same_bytes for i in g}
        lists = [sorted({stand_in.get(int(i), int(i)) for i in c} & facts.keys()) for c in candidates]
        lists = [c for c in lists if len(c) > 1]
        if lists:
            ids, vectors = repo.get_vectors(s, 0, sorted(set().union(*lists)))
            row = {int(i): n for n, i in enumerate(ids)}
            grey = [i for i, (_, is_grey) in facts.items() if is_grey]
            for c in lists:
                rows = np.array([row[i] for i in c if i in row], np.int64)
                sims = vectors[rows] @ vectors[rows].T  # every pair within the list: a table near_pairs reads
                for a, b, sim in near_pairs(ids[rows], np.broadcast_to(ids[rows], sims.shape), sims, threshold, grey):
                    pairs[(a, b)] = (a, b, sim)
        if pairs:
            stored = repo.pair_checks_among(s, {i for ab in pairs for i in ab})
    known = _verdicts_known(facts, pairs, stored)
    checks = {ab: n for ab, (n, _) in known.items()}
    found = _confirmed(lib, list(pairs.values()), forbidden, None, {}, same_bytes, checks)
    # Sorted as `dupes` sorts them: a confirmed pair that is two moments of a burst joins nothing here.
    unsorted = [p for p in found if known.get(p[:2], (0, None))[1] is None]
    found_copies = set(shots.copies_among(lib, unsorted))
    kinds = {p[:2]: (COPY if p[:2] in found_copies else FRAMES) for p in unsorted}
    copies = [(a, b) for a, b, _ in found if kinds.get((a, b), known.get((a, b), (0, None))[1]) == COPY]
    new = [(a, b, n, kinds.get((a, b))) for (a, b), n in checks.items() if (a, b) not in known or (a, b) in kinds]
    _remember(lib, facts, new)
    # A RAW with its camera JPEG is one capture too (services/shots.py).
    return [frozenset(g) for g in shots.copy_units(lib, same_bytes, copies, forbidden, raws)]


#: Kinds of a confirmed pair: two copies of one capture, or two frames of a burst.
COPY, FRAMES = "copy", "burst"

#: Verdicts of the geometric check made or read in this process, most recent last: pair of photos,
#: each as (id, content hash) -> (inliers, kind). The hash makes a changed file (other keypoints)
#: another pair. They answer when the library cannot keep them (read-only, busy), and are written
#: with the next verdicts when the library was busy.
_verdicts: OrderedDict[tuple[tuple[int, str], tuple[int, str]], tuple[int, str | None]] = OrderedDict()
_unsaved: dict[str, dict[tuple[int, int, str, str], tuple[int, str | None]]] = {}  # library file -> verdicts
_verdicts_lock = threading.Lock()
VERDICT_CACHE = 50_000


def forget_checks(lib: Library | None = None) -> None:
    """Forget every verdict held in this process (as a fresh process starts); with ``lib``, those the
    library keeps too (as a library where no pair was ever checked)."""
    with _verdicts_lock:
        _verdicts.clear()
        _unsaved.clear()
    if lib is not None:
        with lib.db.session() as s:
            repo.forget_pair_checks(s)


def _verdicts_known(facts: dict[int, tuple[str | None, bool]], pairs, stored: list[repo.PairVerdict]
                    ) -> dict[tuple[int, int], tuple[int, str | None]]:
    """(a, b) -> (inliers, kind) of those of ``pairs`` checked before on the bytes the photos hold now:
    kept by the library (``stored``) or in this process."""
    out = {}
    for a, b, ha, hb, n, kind in stored:
        if (a, b) in pairs and facts[a][0] == ha and facts[b][0] == hb:
            out[(a, b)] = (n, kind)
    with _verdicts_lock:
        for a, b in (pairs if _verdicts else ()):
            key = _photos_pair(facts, a, b)
            if key is not None and key in _verdicts:
                _verdicts.move_to_end(key)
                n, kind = _verdicts[key]
                out[(a, b)] = (n, kind or out.get((a, b), (n, None))[1])
    return out


def _photos_pair(facts: dict[int, tuple[str | None, bool]], a: int, b: int):
    """((a, hash), (b, hash)), a < b, or None for a photo whose bytes were never read (no verdict kept)."""
    a, b = min(a, b), max(a, b)
    ha, hb = facts[a][0], facts[b][0]
    return ((a, ha), (b, hb)) if ha and hb else None


def _remember(lib: Library, facts: dict[int, tuple[str | None, bool]],
              verdicts: list[tuple[int, int, int, str | None]]) -> None:
    """Keep new verdicts in this process and in the library. The write never waits for another
    writer (indexing, `dupes`): a busy or read-only library gets them with the next ones."""
    rows = {}
    with _verdicts_lock:
        for a, b, n, kind in verdicts:
            key = _photos_pair(facts, a, b)
            if key is None:
                continue
            _verdicts[key] = (n, kind)
            _verdicts.move_to_end(key)
            rows[(key[0][0], key[1][0], key[0][1], key[1][1])] = (n, kind)
        while len(_verdicts) > VERDICT_CACHE:
            _verdicts.popitem(last=False)
        waiting = _unsaved.pop(lib.db.path, {})
        waiting.update(rows)
    if not waiting:
        return
    try:
        lib.db.write_now(lambda con: repo.put_pair_checks(
            con, [(a, b, ha, hb, n, kind) for (a, b, ha, hb), (n, kind) in waiting.items()]))
    except WRITE_ERRORS:
        with _verdicts_lock:
            if len(waiting) < VERDICT_CACHE:  # past that many, they are checked again instead
                _unsaved.setdefault(lib.db.path, {}).update(waiting)


def stored_verdicts(lib: Library, facts: dict[int, tuple[str | None, bool]]) -> dict[tuple[int, int], int]:
    """(a, b) -> inliers of every pair the library kept a verdict on, checked on the bytes the photos
    hold now: what `dupes` need not check again."""
    with lib.db.session() as s:
        rows = repo.all_pair_checks(s)
    return {(a, b): n for a, b, ha, hb, n in rows
            if a in facts and b in facts and facts[a][0] == ha and facts[b][0] == hb}


def keep_verdicts(lib: Library, facts: dict[int, tuple[str | None, bool]], checks: dict[tuple[int, int], int],
                  before: dict[tuple[int, int], int]) -> None:
    """Keep the verdicts `dupes` made now (not those it read), so `similar` and the next `dupes` reuse them."""
    rows = [(a, b, facts[a][0], facts[b][0], n, None) for (a, b), n in checks.items()
            if (a, b) not in before and facts[a][0] and facts[b][0]]
    try:
        with lib.db.session() as s:
            repo.put_pair_checks(s, rows)
    except WRITE_ERRORS:  # a read-only or busy library: the groups stand, the next run checks again
        pass


def _burst_candidates(lib: Library, wide: list[tuple[int, int, float]], confirmed: list[tuple[int, int, float]],
                      same_bytes: list[list[int]], forbidden: set[tuple[int, int]], ctx: TaskContext | None,
                      stats: dict, checks: dict[tuple[int, int], int] | None = None) -> list[tuple[int, int, float]]:
    """Pairs in the burst band (below the threshold) that the geometric check confirms.

    Checked apart from the near-duplicate candidates (own failure counts), so near-duplicate groups are
    exactly what they would be without bursts; pairs already joined by a confirmed pair (or by the same
    bytes) are skipped. The band holds the near-duplicate candidates that were not confirmed: ``checks``
    (the near stage's results) answers those already checked, so each costs one check per run.
    """
    joined = UnionFind()
    for a, b, _ in confirmed:
        joined.union(a, b)
    for g in same_bytes:
        for x in g[1:]:
            joined.union(g[0], x)
    done = {(min(a, b), max(a, b)) for a, b, _ in confirmed}
    band = [p for p in wide
            if (min(p[0], p[1]), max(p[0], p[1])) not in done and joined.find(p[0]) != joined.find(p[1])]
    sub: dict = {}
    found = _confirmed(lib, band, forbidden, ctx, sub, same_bytes, checks) if band else []
    stats.update(burst_candidates=len(band), burst_checks=sub.get("checks", 0))
    return found


def _photos(lib: Library, ids: set[int]) -> dict[int, Photo]:
    with lib.db.session() as s:
        return repo.photos_by_id(s, ids)


def _confirmed(lib: Library, pairs: list[tuple[int, int, float]], forbidden: set[tuple[int, int]],
               ctx: TaskContext | None, stats: dict, same_bytes: list[list[int]] = (),
               checks: dict[tuple[int, int], int] | None = None) -> list[tuple[int, int, float]]:
    """Candidate pairs that the geometric check confirms, on stored keypoints where the photo has them.

    ``checks``: (a, b) with a < b -> inliers of pairs checked before, used instead of checking them
    again, and given the results of the checks made now."""
    found: OrderedDict[int, geometry.Keypoints | None] = OrderedDict()  # recently used, at most KEYPOINT_CACHE
    read: dict[int, bytes] = {}  # keypoints found now from a file (a photo indexed before they were kept)
    involved: set[int] = set()  # the photos of pairs that may be checked now (known at the first check)
    unstored: dict[int, Photo] | None = None  # read at the first check: every check may be known
    blobs: dict[int, bytes] = {}  # a few photos' keypoints (a `similar` answer's), read in one statement
    reader: repo.KeypointReader | None = None  # a library's, read one photo at a time
    stats.update(checks=0, files_read=0)

    def blob_of(i: int) -> bytes | None:
        nonlocal reader
        if i in blobs:
            return blobs.pop(i)
        if reader is None:
            reader = repo.KeypointReader(lib.db.path)
        return reader.get(i)

    def points(i: int) -> geometry.Keypoints | None:
        nonlocal unstored
        if unstored is None:
            # A pair checked before needs no keypoints: only the others' are read.
            if checks:
                involved.update(i for a, b, _ in pairs if (min(a, b), max(a, b)) not in checks for i in (a, b))
            else:
                involved.update(i for a, b, _ in pairs for i in (a, b))
            with lib.db.session() as s:
                if len(involved) <= KEYPOINTS_AT_ONCE:
                    blobs.update(repo.get_keypoints(s, involved))
                    stored = set(blobs)
                else:
                    stored = repo.ids_with_keypoints(s, involved)
                unstored = repo.photos_by_id(s, involved - stored)
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
            blob = blob_of(i)
            kp = geometry.unpack(blob) if blob is not None else None
        found[i] = kp if kp is not None and kp.enough else None
        if len(found) > KEYPOINT_CACHE:
            found.popitem(last=False)
        return found[i]

    def check(a: int, b: int) -> int | None:
        key = (min(a, b), max(a, b))
        if checks is not None and key in checks:
            return checks[key]
        ka, kb = points(a), points(b)
        if ka is None or kb is None:
            return None
        stats["checks"] += 1
        n = geometry.inliers(ka, kb, MIN_INLIERS)
        if checks is not None:
            checks[key] = n
        return n

    cancelled = ctx.cancelled if ctx is not None else (lambda: False)
    progress = (lambda done, total: ctx.progress(done, total, "checking candidates")) if ctx is not None else None
    try:
        return confirm_pairs(pairs, check, forbidden, cancelled=cancelled, progress=progress, joined=same_bytes)
    finally:
        if reader is not None:
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


def member_note(g: DuplicateGroup, p: Photo) -> str:
    """One member's part of the story: kept and why, or why not, and whether it repeats another's bytes."""
    parts = []
    if p.id in g.same_bytes:
        twin = next(q for q in g.photos if q.id == g.same_bytes[p.id])
        parts.append(f"same bytes as {os.path.basename(twin.path)}")
    if any(k.id == p.id for k in g.keepers):
        parts.append(f"kept (decided by {g.decided_by})" if g.decided_by else "kept")
    elif p.id in g.protected:
        parts.append("kept: in a protected folder")
    elif p.id in g.notes:
        parts.append(g.notes[p.id])
    return "; ".join(parts)


def group_as_json(g: DuplicateGroup) -> dict:
    return {"kind": g.kind, "keep": g.keep.path, "keepers": [p.path for p in g.keepers], "reason": g.reason,
            "decided_by": g.decided_by, "guards": g.guards, "bytes_to_free": g.bytes_to_free,
            "photos": [{"path": p.path, "similarity": s, "keep": g.kept(p), "protected": p.id in g.protected,
                        "exact_copy_of": path_of(g, g.same_bytes.get(p.id)),
                        "copy_of": path_of(g, g.copy_of.get(p.id)), "size": p.size,
                        "note": member_note(g, p)}
                       for p, s in zip(g.photos, g.similarities)]}


def path_of(g: DuplicateGroup, photo_id: int | None) -> str | None:
    """The path of the member with this id; None for no id."""
    return next((p.path for p in g.photos if p.id == photo_id), None) if photo_id is not None else None
