"""Sort look-alikes the duplicate check confirmed into copies, burst frames and RAW + JPEG pairs.

Called by services/duplicates.find_duplicates. Copies become near-duplicate
groups as before; frames of one burst (core/bursts.py: other instants of the
same scene) become one "burst" group with the suggested best shot first, so a
removal of copies never takes a different moment; a RAW file and its camera
JPEG (same folder, same name, same picture) are one capture, and both are
kept by default.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np

from ..core import bursts
from ..core import verify as geometry
from ..core.duplicates import DEFAULT_THRESHOLD, MIN_INLIERS, DuplicateGroup
from ..core.raw import RAW_FORMATS, raw_jpeg_siblings
from ..core.types import Photo
from ..store import repositories as repo
from ..store.library import Library

#: Burst frames are candidates this much below the near-duplicate threshold: a moment later the subject
#: has moved, the camera too, and one frame may be blurred, so frames of one burst are less alike than
#: copies (on the burst set, 17% of frame pairs fall between 0.70 and 0.80; docs/duplicates.md). Pairs
#: in this band only ever become burst pairs, never near-duplicates.
BURST_ALLOWANCE = 0.10
RAW_PAIR_REASON = "RAW + JPEG pair"


@dataclasses.dataclass
class Sorting:
    """The groups of one `dupes` run, beside the exact ones."""

    near: list[list[int]]
    others: list[DuplicateGroup]  # burst and RAW + JPEG groups, finished


def sort_confirmed(lib: Library, near_pairs: list[tuple[int, int, float]], burst_pairs: list[tuple[int, int, float]],
                   forbidden: set[tuple[int, int]], vectors: Callable[[list[int]], dict[int, np.ndarray]],
                   keeper: Callable[[list[Photo]], tuple[list[Photo], str]], only: set[int] | None = None,
                   aligned: bool = True) -> Sorting:
    """Classify each confirmed pair (copy or burst frame), pair RAWs with their JPEGs, and group.

    ``near_pairs`` were confirmed at the near-duplicate threshold: each is a copy or a burst pair.
    ``burst_pairs`` were confirmed in the band below it: a copy there is left out, so the near-duplicate
    groups are what they were without bursts. ``aligned``: the pairs were confirmed geometrically.
    """
    raw_pairs = find_raw_pairs(lib, only)
    involved = {i for a, b, _ in near_pairs + burst_pairs for i in (a, b)} | {i for p in raw_pairs for i in p}
    with lib.db.session() as s:
        photos = repo.photos_by_id(s, involved)
    reader = repo.KeypointReader(lib.db.path) if aligned else None
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
                elif band == "near":
                    copies.append((a, b))
    finally:
        if reader is not None:
            reader.close()
    found = bursts.sort_out(copies, frames, raw_pairs, forbidden)
    raw_set = {frozenset(p) for p in raw_pairs}
    others: list[DuplicateGroup] = []
    measured = _measured(lib, {i for g in found.bursts for unit in g for i in unit}, photos)
    for units in found.bursts:
        others.append(_burst_group(units, measured, raw_set, why, vectors, keeper))
    for ids in found.paired:
        others.append(_paired_group([photos[i] for i in ids], raw_set, vectors, keeper))
    return Sorting(found.near, others)


def _facts(reader: repo.KeypointReader | None, a: Photo, b: Photo) -> bursts.PairFacts | None:
    if reader is None:
        return None
    ba, bb = reader.get(a.id), reader.get(b.id)
    if ba is None or bb is None:
        return None
    return bursts.pair_facts(geometry.unpack(ba), geometry.unpack(bb), bursts.frame_size(a), bursts.frame_size(b))


def find_raw_pairs(lib: Library, only: set[int] | None = None) -> list[tuple[int, int]]:
    """(RAW id, JPEG id) of RAW files whose camera JPEG lies beside them and shows the same picture."""
    with lib.db.session() as s:
        raws = repo.photos_of_formats(s, set(RAW_FORMATS.values()))
        siblings = repo.photos_by_paths(s, [q for p in raws for q in raw_jpeg_siblings(p.path)])
        candidates = []
        for r in raws:
            j = next((siblings[q] for q in raw_jpeg_siblings(r.path) if q in siblings), None)
            if j is not None and (only is None or r.id in only or j.id in only):
                candidates.append((r.id, j.id))
        ids = [i for pair in candidates for i in pair]  # only photos that have a partner: a RAW library is large
        blobs = repo.get_keypoints(s, ids)
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
        from sqlalchemy.exc import OperationalError

        try:
            with lib.db.session() as s:
                repo.put_shot_measures(s, found)
        except OperationalError:  # a read-only or busy library: measured again next time
            pass
    return {**photos, **{i: dataclasses.replace(photos[i], sharpness=m[0], exposure=m[1]) for i, m in found.items()}}


def _unit_order(unit: list[Photo], raw_set: set[frozenset], keeper) -> tuple[list[Photo], str]:
    """A capture's photos, the one that stands for it first: the RAW of a RAW + JPEG pair, else the keeper."""
    ranked, reason = keeper(unit)
    raws = [p for p in ranked if any(p.id in pair for pair in raw_set) and (p.format or "") in RAW_FORMATS.values()]
    if raws:
        ranked = raws[:1] + [p for p in ranked if p.id != raws[0].id]
    return ranked, reason


def _burst_group(units: list[list[int]], photos: dict[int, Photo], raw_set: set[frozenset],
                 why: dict[tuple[int, int], str], vectors, keeper) -> DuplicateGroup:
    ordered = {}
    for unit in units:
        ranked, _ = _unit_order([photos[i] for i in unit], raw_set, keeper)
        ordered[ranked[0].id] = ranked
    frames = bursts.best_shot_order([ranked[0] for ranked in ordered.values()])
    extra = [(p, ranked[0]) for f in frames for ranked in [ordered[f.id]] for p in ranked[1:]]
    members = frames + [p for p, _ in extra]
    ids = {p.id for p in members}
    moments = sorted({w for (a, b), w in why.items() if a in ids and b in ids})
    reason = bursts.best_shot_reason(frames)
    if moments:
        reason += ". Different moments, not copies: " + "; ".join(moments)
    for p, frame in extra:
        paired = frozenset((p.id, frame.id)) in raw_set
        reason += f"; {os.path.basename(p.path)} is {'the camera JPEG' if paired else 'a copy'} of {os.path.basename(frame.path)}"
    return DuplicateGroup("burst", members, _similarities(members, vectors), reason)


def _paired_group(members: list[Photo], raw_set: set[frozenset], vectors, keeper) -> DuplicateGroup:
    ranked, reason = _unit_order(members, raw_set, keeper)
    raw = ranked[0]
    jpeg = next((p for p in ranked[1:] if frozenset((raw.id, p.id)) in raw_set), ranked[1])
    ranked = [raw, jpeg] + [p for p in ranked[1:] if p.id != jpeg.id]
    head = (f"{RAW_PAIR_REASON}: keep both {os.path.basename(raw.path)} and {os.path.basename(jpeg.path)} "
            "(one capture, the camera's RAW and its JPEG)")
    if len(ranked) == 2:
        return DuplicateGroup("raw+jpeg", ranked, _similarities(ranked, vectors), head)
    copies = ", ".join(os.path.basename(p.path) for p in ranked[2:])
    return DuplicateGroup("near", ranked, _similarities(ranked, vectors), f"{head}; copies of it: {copies} ({reason})")


def _similarities(members: list[Photo], vectors) -> list[float]:
    found = vectors([p.id for p in members])
    first = found.get(members[0].id)
    sims = [1.0] + [round(float(np.dot(first, found[p.id])), 4) if first is not None and p.id in found else 0.0
                    for p in members[1:]]
    return sims
