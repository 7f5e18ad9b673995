"""Sort look-alikes the duplicate check confirmed into copies, burst frames and RAW + JPEG pairs.

Called by services/duplicates.find_duplicates. Copies (and files with the
same bytes) become exact or near-duplicate groups; frames of one burst
(core/bursts.py: other instants of the same scene) become one "burst" group
with the suggested best shot first, so a removal of copies never takes a
different moment; a RAW file and its camera JPEG (same folder, same name,
same picture) are one capture, a "raw+jpeg" group that keeps both files.
Every photo is in one group whatever its kind: an exact pair inside a burst
is marked as the same bytes there, never listed again.

The person's keeper rules (core/keeper.py) choose within each capture (which
of a frame's copies stands for it) and between the frames of a burst, where
the "sharpness" rule comes first unless the person placed it: by default the
best shot is the sharpest of the well-exposed frames.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np

from ..core import bursts
from ..core import verify as geometry
from ..core.duplicates import (DEFAULT_THRESHOLD, MIN_INLIERS, DuplicateGroup, KeeperRules, same_bytes_marks,
                               similarities)
from ..core.keeper import Ranking, rank
from ..core.raw import RAW_FORMATS, raw_jpeg_siblings
from ..core.types import Pair, Photo, PhotoState
from ..store import checks as check_store
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library

#: Burst frames are candidates this much below the near-duplicate threshold: a moment later the subject
#: has moved, the camera too, and one frame may be blurred, so frames of one burst are less alike than
#: copies (on the burst set, 17% of frame pairs fall between 0.70 and 0.80; docs/duplicates.md). Pairs
#: in this band only ever become burst pairs, never near-duplicates.
BURST_ALLOWANCE = 0.10
RAW_PAIR_REASON = "RAW + JPEG pair"

Vectors = Callable[[list[int]], dict[int, np.ndarray]]
Upscaled = Callable[[list[Photo]], set[int]]


@dataclasses.dataclass
class Sorting:
    """The captures of one `dupes` run, sorted (core/bursts.Sorted), with what the groups need."""

    found: bursts.Sorted
    photos: dict[int, Photo]                 # every photo in ``found``, frames with their measures
    raw_pairs: set[frozenset]                # {RAW id, JPEG id} of each RAW + JPEG pair
    why: dict[tuple[int, int], str]          # (a, b), a < b -> why this pair is two moments


def sort_confirmed(lib: Library, same_bytes: list[list[int]], near_pairs: list[Pair],  # noqa: PLR0913 - the stages of `dupes` whose results it sorts
                   burst_pairs: list[Pair], forbidden: set[tuple[int, int]],
                   only: set[int] | None = None, aligned: bool = True, taking_part: set[int] | None = None) -> Sorting:
    """Classify each confirmed pair (copy or burst frame), pair RAWs with their JPEGs, and sort into units.

    ``near_pairs`` were confirmed at the near-duplicate threshold: each is a copy or a burst pair.
    ``burst_pairs`` were confirmed in the band below it: a copy there is left out, so the near-duplicate
    groups are what they were without bursts. ``aligned``: the pairs were confirmed geometrically.
    ``taking_part``: ids of the photos this check may group (in place, and perhaps in the quarantine).
    """
    raw_pairs = find_raw_pairs(lib, only, taking_part)
    involved = {i for a, b, _ in near_pairs + burst_pairs for i in (a, b)} | {i for p in raw_pairs for i in p}
    if only is not None:  # a check about a few photos: only the same-bytes groups it can reach
        same_bytes = [g for g in same_bytes if any(i in only or i in involved for i in g)]
    with lib.db.session() as s:
        photos = repo.photos_by_id(s, involved | {i for g in same_bytes for i in g})
    reader = check_store.KeypointReader(lib.db.path) if aligned else None
    copies: list[tuple[int, int]] = []
    frames: list[tuple[int, int]] = []
    why: dict[tuple[int, int], str] = {}
    try:
        for band, pairs in (("near", near_pairs), ("burst", burst_pairs)):
            for a, b, _ in pairs:
                if a not in photos or b not in photos:
                    continue
                kind, reason = bursts.classify(photos[a], photos[b], _facts(reader, photos[a], photos[b]))
                if kind == "burst":
                    frames.append((a, b))
                    why[(min(a, b), max(a, b))] = reason
                elif kind == "copy" and band == "near":  # "apart": other moments without the instants to say so
                    copies.append((a, b))
    finally:
        if reader is not None:
            reader.close()
    same_bytes = [g for g in same_bytes if all(i in photos for i in g)]
    found = bursts.sort_out(copies, frames, raw_pairs, forbidden, same_bytes)
    in_bursts = {i for g in found.bursts for unit in g for i in unit}
    photos = _measured(lib, in_bursts, photos)
    return Sorting(found, photos, {frozenset(p) for p in raw_pairs}, why)


def copies_among(lib: Library, confirmed: list[Pair]) -> list[tuple[int, int]]:
    """Those of ``confirmed`` (pairs the geometric check confirmed) that are copies, as `dupes` sorts
    them: not two frames of a burst, nor two moments the instants cannot tell apart."""
    involved = {i for a, b, _ in confirmed for i in (a, b)}
    if not involved:
        return []
    with lib.db.session() as s:
        photos = repo.photos_by_id(s, involved)
    reader = check_store.KeypointReader(lib.db.path)
    try:
        return [(a, b) for a, b, _ in confirmed if a in photos and b in photos
                and bursts.classify(photos[a], photos[b], _facts(reader, photos[a], photos[b]))[0] == "copy"]
    finally:
        reader.close()


def copy_units(lib: Library, same_bytes: list[list[int]], copies: list[tuple[int, int]],
               forbidden: set[tuple[int, int]], among: set[int]) -> list[list[int]]:
    """The files of one capture each, as `dupes` forms them: copy pairs and same bytes joined, and a
    RAW among ``among`` with its camera JPEG; frames of a burst stay apart. What `similar` shows as
    one result. (``among`` may hold only the RAW files among the candidates: the others pair with none.)"""
    found = bursts.sort_out(copies, [], find_raw_pairs(lib, among=among), forbidden, same_bytes)
    return found.near + found.paired


def _facts(reader: check_store.KeypointReader | None, a: Photo, b: Photo) -> bursts.PairFacts | None:
    if reader is None:
        return None
    ba, bb = reader.get(a.id), reader.get(b.id)
    if ba is None or bb is None:
        return None
    return bursts.pair_facts(geometry.unpack(ba), geometry.unpack(bb), bursts.frame_size(a), bursts.frame_size(b))


def find_raw_pairs(lib: Library, only: set[int] | None = None, taking_part: set[int] | None = None,
                   among: set[int] | None = None) -> list[tuple[int, int]]:
    """(RAW id, JPEG id) of RAW files whose camera JPEG lies beside them and shows the same picture.

    ``taking_part``: the photos that may pair (None: those in place); photos in the quarantine are
    named there when a removal asks whether a pair would lose both files. ``among``: only the RAWs
    of these ids (a `similar` answer's candidates: the cost follows them, not the library)."""
    states = (PhotoState.OK,) if taking_part is None else None
    if among is not None and not among:
        return []
    with lib.db.session() as s:
        if among is None:
            raws = repo.photos_of_formats(s, set(RAW_FORMATS.values()), states)
        else:
            # Only the RAWs' rows are read: a `similar` answer's candidates are seldom RAW files.
            found = repo.photos_by_id(s, repo.ids_of_formats(s, set(RAW_FORMATS.values()), among))
            raws = sorted((p for p in found.values() if states is None or p.state in states), key=lambda p: p.id)
        if not raws:
            return []
        if taking_part is not None:
            raws = [p for p in raws if p.id in taking_part]
        siblings = repo.photos_by_paths(s, [q for p in raws for q in raw_jpeg_siblings(p.path)], states)
        if taking_part is not None:
            siblings = {q: p for q, p in siblings.items() if p.id in taking_part}
        candidates = []
        for r in raws:
            j = next((siblings[q] for q in raw_jpeg_siblings(r.path) if q in siblings), None)
            if j is not None and (only is None or r.id in only or j.id in only):
                candidates.append((r.id, j.id))
        ids = [i for pair in candidates for i in pair]  # only photos that have a partner: a RAW library is large
        blobs = check_store.get_keypoints(s, ids)
        vec_ids, vecs = repo.get_vectors(s, 0, ids) if ids else (np.zeros(0, np.int64), None)
    row = {int(i): n for n, i in enumerate(vec_ids)}
    return [(r, j) for r, j in candidates if _same_picture(r, j, blobs, row, vecs)]


def _same_picture(a: int, b: int, blobs: dict[int, bytes], row: dict[int, int], vecs) -> bool:
    """The geometric check when both have keypoints enough, else the embedding at the near threshold."""
    if a in blobs and b in blobs:
        ka, kb = geometry.unpack(blobs[a]), geometry.unpack(blobs[b])
        if ka.enough and kb.enough:
            return geometry.inliers(ka, kb, MIN_INLIERS) >= MIN_INLIERS
    if a in row and b in row:
        return float(np.dot(vecs[row[a]], vecs[row[b]])) >= DEFAULT_THRESHOLD
    return False


def _measured(lib: Library, ids: set[int], photos: dict[int, Photo]) -> dict[int, Photo]:
    """``photos``, with sharpness and exposure measured now (and kept) for frames indexed before they were."""
    todo = [i for i in ids if photos[i].sharpness is None or photos[i].exposure is None]
    found = {}
    for i in todo:
        grey = geometry.load_grey(photos[i].path)
        if grey is not None:
            found[i] = bursts.measure(grey)
    if found:
        try:
            with lib.db.session() as s:
                repo.put_shot_measures(s, found)
        except WRITE_ERRORS:  # a read-only or busy library: measured again next time
            pass
    return {**photos, **{i: dataclasses.replace(photos[i], sharpness=m[0], exposure=m[1]) for i, m in found.items()}}


def raw_ids(s: repo.Session, ids: set[int]) -> set[int]:
    """Those of ``ids`` that are RAW files (one column read, no rows built)."""
    return set(repo.ids_of_formats(s, set(RAW_FORMATS.values()), ids))


def _is_raw(p: Photo) -> bool:
    return (p.format or "") in RAW_FORMATS.values()


@dataclasses.dataclass
class Capture:
    """One capture's photos, the one that stands for it first; ``partner``: the second of its RAW + JPEG
    pair (kept with the first), if it has one."""

    ranked: list[Photo]
    partner: Photo | None
    ranking: Ranking


def capture(members: list[Photo], raw_set: set[frozenset], rules: KeeperRules, upscaled: Upscaled) -> Capture:
    """Rank a unit's photos by the keeper rules (with their guards). A RAW + JPEG pair inside comes first,
    both files: the RAW before its JPEG, unless the person's rules choose by format."""
    r = rank(members, rules, upscaled(members) if len(members) > 1 else set())
    ranked = r.photos
    pair = next(((p, q) for p in ranked if _is_raw(p) for q in ranked if frozenset((p.id, q.id)) in raw_set), None)
    if pair is None:
        return Capture(ranked, None, r)
    if "format" in rules.order:
        pair = tuple(p for p in ranked if p.id in {pair[0].id, pair[1].id})
    ranked = list(pair) + [p for p in ranked if p.id not in {pair[0].id, pair[1].id}]
    return Capture(ranked, pair[1], r)


def burst_rules(rules: KeeperRules) -> KeeperRules:
    """The rules between frames of a burst: the person's, with "sharpness" first unless they placed it."""
    if "sharpness" in rules.order:
        return rules
    return dataclasses.replace(rules, order=("sharpness",) + rules.order)


def burst_group(units: list[list[int]], sorting: Sorting, rules: KeeperRules, vectors: Vectors,
                upscaled: Upscaled) -> DuplicateGroup:
    """Frames best shot first (with its camera JPEG, if it has one, kept beside it), then the other frames,
    then each frame's copies and camera JPEGs."""
    photos = sorting.photos
    captures = [capture([photos[i] for i in unit], sorting.raw_pairs, rules, upscaled) for unit in units]
    of = {c.ranked[0].id: c for c in captures}
    r = rank([c.ranked[0] for c in captures], burst_rules(rules), guarded=False)
    frames = r.photos
    best = of[frames[0].id]
    extra = [(p, f) for f in frames for p in of[f.id].ranked[1:] if p is not best.partner]
    members = frames[:1] + ([best.partner] if best.partner else []) + frames[1:] + [p for p, _ in extra]
    ids = {p.id for p in members}
    moments = sorted({w for (a, b), w in sorting.why.items() if a in ids and b in ids})
    reason = bursts.best_shot_reason(frames) if r.decided_by in ("sharpness", "") else r.reason
    if best.partner:
        reason += f"; {os.path.basename(best.partner.path)}, the camera JPEG of the best shot, is kept with it"
    if moments:
        reason += ". Different moments, not copies: " + "; ".join(moments)
    notes = dict(r.notes)
    copy_of = {}
    for p, frame in extra:
        paired = of[frame.id].partner is p
        what = "the camera JPEG" if paired else "a copy"
        reason += f"; {os.path.basename(p.path)} is {what} of {os.path.basename(frame.path)}"
        notes[p.id] = f"is {what} of {os.path.basename(frame.path)}"
        if not paired:
            copy_of[p.id] = frame.id
    return DuplicateGroup("burst", members, similarities(members, vectors([p.id for p in members])), reason,
                          keep_count=2 if best.partner else 1, same_bytes=same_bytes_marks(members), notes=notes,
                          decided_by=r.decided_by or "sharpness", copy_of=copy_of)


def paired_group(ids: list[int], sorting: Sorting, rules: KeeperRules, vectors: Vectors,
                 upscaled: Upscaled) -> DuplicateGroup:
    """A RAW and its camera JPEG, both kept; copies of them after (removable as copies).

    The person says otherwise with a "format" rule in the keeper rules (which of the two they prefer):
    then removing this kind (``--kind raw+jpeg``) keeps only the preferred file."""
    c = capture([sorting.photos[i] for i in ids], sorting.raw_pairs, rules, upscaled)
    first, second = c.ranked[0], c.partner
    name = os.path.basename
    reason = (f"{RAW_PAIR_REASON}: keep both {name(first.path)} and {name(second.path)} "
              "(one capture, the camera's RAW and its JPEG)")
    copies = c.ranked[2:]
    if copies:
        reason += f"; copies of it: {', '.join(name(p.path) for p in copies)} ({c.ranking.reason})"
    keep_when_asked = 0
    if "format" in rules.order:
        decided = rank([first, second], rules).decided_by
        keep_when_asked = 1
        reason += f"; removing RAW + JPEG pairs keeps only {name(first.path)} (decided by {decided})"
    return DuplicateGroup("raw+jpeg", c.ranked, similarities(c.ranked, vectors([p.id for p in c.ranked])), reason,
                          keep_count=2, same_bytes=same_bytes_marks(c.ranked),
                          notes={p.id: f"is a copy of {name(first.path)}" for p in copies},
                          decided_by=RAW_PAIR_REASON, copy_of={p.id: first.id for p in copies},
                          keep_when_asked=keep_when_asked)
