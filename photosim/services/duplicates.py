"""Duplicate groups: exact copies (same bytes), near-duplicates confirmed by the geometric check,
bursts and RAW + JPEG pairs.

The rooms around this one: the check itself and the keypoints it reads (services/confirmation.py),
the verdicts kept so a pair is checked once (services/verdicts.py), copies told from burst frames
and RAWs paired with their JPEGs (services/shots.py), the groups as CSV and JSON (services/export.py).

Reads photos only; may write to the library the keypoints of photos indexed before they were stored."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..core import verify as geometry
from ..core.duplicates import (DEFAULT_THRESHOLD, KINDS, UPSCALE_PIXEL_RATIO, DuplicateGroup, KeeperRules,
                               detail_ratio, exact_groups, make_group, near_pairs, upscaled_members)
from ..core.index import EF_DUPLICATES
from ..core.types import Pair, Photo, TaskContext
from ..store import removals
from ..store import checks as check_store
from ..store import repositories as repo
from ..store.library import Library
from . import UserError, settings, shots
from . import verdicts
from .confirmation import burst_candidates, confirmed
from .folders import protecting_folder
from .verdicts import COPY, FRAMES

#: Queries per index search while comparing: progress and cancel between them.
COMPARE_STEP = 4096


def keeper_rules(lib: Library) -> KeeperRules:
    """The keeper rules this library's person chose (services/settings.py), else the defaults."""
    return KeeperRules(order=tuple(settings.get(lib, "dupes.keep_rules")),
                       newest=settings.get(lib, "dupes.keep_date") == "newest",
                       formats=tuple(settings.get(lib, "dupes.format_order")),
                       folders=tuple(settings.get(lib, "dupes.folder_priority")),
                       name_patterns=tuple(settings.get(lib, "dupes.name_patterns")))


@dataclass
class _Known:
    """What one `dupes` run reads of the library before comparing."""

    facts: verdicts.Facts  # id -> (content hash, greyscale) of every readable photo taking part
    forbidden: set[tuple[int, int]]  # pairs marked "not a duplicate"
    ids: np.ndarray  # model 0's vectors of those photos
    vectors: np.ndarray
    protected: list[str]
    same_bytes: list[list[int]]

    def vecs(self, want: list[int]) -> dict[int, np.ndarray]:
        row = self.row
        return {i: self.vectors[row[i]] for i in want if i in row}

    @cached_property
    def row(self) -> dict[int, int]:
        """Photo id -> its row of ``vectors``, made once: a run asks it for every group."""
        return {int(i): n for n, i in enumerate(self.ids)}


def _read(lib: Library, with_removed: bool) -> _Known:
    # duplicates are judged on the pretrained embedding (model 0): similarity labels never move them
    with lib.db.session() as s:
        facts = repo.duplicate_facts(s)
        if with_removed:
            facts.update(removals.quarantined_facts(s))
        forbidden = repo.not_duplicate_pairs(s)
        ids, vectors = repo.get_vectors(s, 0)
        protected = removals.protected_folders(s)
    keep = np.isin(ids, list(facts))
    return _Known(facts, forbidden, ids[keep], vectors[keep], protected,
                  exact_groups({i: digest for i, (digest, _) in facts.items()}))


def find_duplicates(lib: Library, threshold: float = DEFAULT_THRESHOLD, ctx: TaskContext | None = None,  # noqa: PLR0913 - each is an option of `dupes` or of a check about a few photos (its docstring)
                    neighbours: int = 10, verify: bool = True, only: set[int] | None = None,
                    stats: dict | None = None, rules: KeeperRules | None = None,
                    with_removed: bool = False) -> list[DuplicateGroup]:
    """Duplicate groups by kind (exact, near, burst, raw+jpeg; core/duplicates.KINDS), each photo in one
    group, keeper first by the library's keeper rules (``rules`` overrides them); photos in protected
    folders are marked kept. (Eight parameters: each is an option of `dupes` or of a check about a
    few photos, passed through; grouping them would only rename them.)

    ``only``: restrict to the groups of these photo ids (their direct duplicates),
    so a check about a few photos does not compare the whole library.
    ``with_removed``: photos in the quarantine take part too (state MISSING), so
    a check can tell that a group's other copies were removed earlier.

    Near-duplicate candidates (cosine >= threshold among each photo's nearest
    neighbours; a greyscale photo against a colour one, GREY_ALLOWANCE lower) are
    confirmed by the geometric check (services/confirmation.py); ``verify=False``
    trusts the similarity alone. Pairs in a band below the threshold are checked
    too, as possible burst frames only. Confirmed pairs are then sorted into copies
    and burst frames, RAWs are paired with their camera JPEGs (services/shots.py),
    and all are joined with the same-bytes groups, so an exact pair with a
    re-encode of it is one group of three with the pair marked as exact copies.
    ``stats``, if given, receives the counts of candidate pairs, geometric checks
    (near and burst band) and photos read from files.
    """
    if not 0.0 < threshold <= 1.0:
        raise UserError("--threshold must be between 0 and 1")
    rules = rules or keeper_rules(lib)
    known = _read(lib, with_removed)
    stats = stats if stats is not None else {}
    pairs, frames = _confirmed_pairs(lib, known, threshold, ctx, neighbours, verify, only, stats)
    sorting = shots.sort_confirmed(lib, known.same_bytes, pairs, frames, known.forbidden, only, verify,
                                   taking_part=set(known.facts) if with_removed else None)
    return _groups(known, sorting, only, verify, rules)


def _confirmed_pairs(lib: Library, known: _Known, threshold: float, ctx: TaskContext | None, neighbours: int,  # noqa: PLR0913 - find_duplicates' options, passed through
                     verify: bool, only: set[int] | None, stats: dict) -> tuple[list[Pair], list[Pair]]:
    """(near-duplicate pairs, burst-frame pairs) among the photos' nearest neighbours."""
    ids = known.ids
    queries = np.flatnonzero(np.isin(ids, list(only))) if only is not None else np.arange(len(ids))
    if len(ids) < 2 or not len(queries):
        return [], []
    table = _neighbour_table(lib, known, queries, neighbours, ctx)
    pairs = _candidates(known, table, threshold)
    stats["candidates"] = len(pairs)
    if not verify:
        return pairs, []
    # The burst band holds the near-duplicate candidates again (those not confirmed there), so
    # each check's result is kept for it: a pair is checked once per run, whatever the stage.
    # Pairs checked before on the same bytes (by `dupes` or `similar`) are answered by their kept verdict.
    before = verdicts.stored(lib, known.facts) if only is None else {}
    stats["verdicts_kept"] = len(before)
    checks: dict[tuple[int, int], int] = dict(before)
    pairs = confirmed(lib, pairs, known.forbidden, ctx, stats, known.same_bytes, checks)
    frames = burst_candidates(lib, _candidates(known, table, threshold - shots.BURST_ALLOWANCE), pairs,
                              known.same_bytes, known.forbidden, ctx, stats, checks)
    verdicts.keep(lib, known.facts, checks, before)
    return pairs, frames


def _neighbour_table(lib: Library, known: _Known, queries: np.ndarray, neighbours: int,
                     ctx: TaskContext | None) -> list[np.ndarray] | None:
    """(query ids, their neighbours' ids, similarities) from model 0's index, None if cancelled at once."""
    index = lib.index(0)
    k = min(neighbours + 1, index.count())
    found_ids, found_sims = [], []
    for start in range(0, len(queries), COMPARE_STEP):
        if ctx is not None:
            if ctx.cancelled():
                break
            ctx.progress(start, len(queries), "comparing")
        rows = queries[start:start + COMPARE_STEP]
        nid, nsim = index.query(known.vectors[rows], k, ef=EF_DUPLICATES)
        found_ids.append((known.ids[rows], nid))
        found_sims.append(nsim)
    if not found_ids:
        return None
    return [np.concatenate([q for q, _ in found_ids]), np.concatenate([n for _, n in found_ids]),
            np.concatenate(found_sims)]


def _candidates(known: _Known, table: list[np.ndarray] | None, bar: float) -> list[Pair]:
    """Pairs of readable photos reaching ``bar``, less those with the same bytes (already joined)."""
    facts = known.facts
    grey = [i for i, (_, is_grey) in facts.items() if is_grey]
    copies = {i for g in known.same_bytes for i in g}
    found = near_pairs(*table, bar, grey) if table is not None else []
    return [p for p in found if p[0] in facts and p[1] in facts
            and not (p[0] in copies and p[1] in copies and facts[p[0]][0] == facts[p[1]][0])]


def _groups(known: _Known, sorting: shots.Sorting, only: set[int] | None, verify: bool,
            rules: KeeperRules) -> list[DuplicateGroup]:
    """The sorted pairs as groups, keeper first, protected members marked, in the order of KINDS."""
    found = sorting.found
    if only is not None:
        def wanted(ids_: list[int]) -> bool:
            return any(i in only for i in ids_)
        found.near = [g for g in found.near if wanted(g)]
        found.paired = [g for g in found.paired if wanted(g)]
        found.bursts = [b for b in found.bursts if wanted([i for unit in b for i in unit])]

    def upscaled(members: list[Photo]) -> set[int]:
        return _upscaled(members) if verify and len({p.content_hash for p in members}) > 1 else set()

    photos, groups = sorting.photos, []
    for g in found.near:
        members = [photos[i] for i in g if i in photos]
        if len(members) < 2:
            continue
        exact = len({p.content_hash for p in members}) == 1
        groups.append(make_group(None, members, None if exact else known.vecs(g), upscaled(members), rules))
    groups += [shots.paired_group(g, sorting, rules, known.vecs, upscaled) for g in found.paired]
    groups += [shots.burst_group(b, sorting, rules, known.vecs, upscaled) for b in found.bursts]
    for g in groups:
        g.protected = frozenset(p.id for p in g.photos if protecting_folder(p.path, known.protected) is not None)
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
    pairs: dict[tuple[int, int], Pair] = {}
    stored: list[check_store.PairVerdict] = []
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
                    pairs[(a, b)] = Pair(a, b, sim)
        if pairs:
            stored = check_store.pair_checks_among(s, {i for ab in pairs for i in ab})
    known = verdicts.known(lib, facts, pairs, stored)
    checks = {ab: n for ab, (n, _) in known.items()}
    found = confirmed(lib, list(pairs.values()), forbidden, None, {}, same_bytes, checks)
    # Sorted as `dupes` sorts them: a confirmed pair that is two moments of a burst joins nothing here.
    unsorted = [p for p in found if known.get(p[:2], (0, None))[1] is None]
    found_copies = set(shots.copies_among(lib, unsorted))
    kinds = {p[:2]: (COPY if p[:2] in found_copies else FRAMES) for p in unsorted}
    copies = [(a, b) for a, b, _ in found if kinds.get((a, b), known.get((a, b), (0, None))[1]) == COPY]
    new = [(a, b, n, kinds.get((a, b))) for (a, b), n in checks.items() if (a, b) not in known or (a, b) in kinds]
    verdicts.remember(lib, facts, new)
    # A RAW with its camera JPEG is one capture too (services/shots.py).
    return [frozenset(g) for g in shots.copy_units(lib, same_bytes, copies, forbidden, raws)]


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


