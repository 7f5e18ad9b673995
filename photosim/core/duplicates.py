"""Group duplicates: each photo in one group, exact copies marked inside it.

Exact duplicates share their bytes (content hash). Near-duplicates are found
in two stages (docs/duplicates.md): the embedding proposes pairs at least
``threshold`` similar (cosine), and a geometric check confirms them (the two
pictures share their keypoints' layout, see core/verify.py). A global vector
alone cannot tell a greyscale or captioned copy from another photo of the same
object; the geometry can. Confirmed pairs are joined into groups by connected
components together with the same-bytes groups, so a photo is in one group
only; pairs the user marked "not duplicates" are never joined directly. Frames
of a burst and a RAW with its camera JPEG are not copies of each other: they
are told apart and grouped by core/bursts.py (kinds "burst" and "raw+jpeg"),
still each photo in one group. Which member to keep is core/keeper.py's.
Nothing here reads a file: the check is a callable handed in by the service.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .keeper import (BORDER_TOLERANCE, EXIF_STEP, QUALITY_STEP, UPSCALE_DETAIL_RATIO,  # noqa: F401 - the
                     UPSCALE_PIXEL_RATIO, KeeperFacts, KeeperRules, added_border, choose_keeper,  # keeper's
                     detail_ratio, keeper_facts, rank, upscaled_members)  # public names
from .types import Pair, Photo
from .unionfind import UnionFind

#: Cosine similarity from which a pair is a near-duplicate *candidate* (measured in docs/duplicates.md).
DEFAULT_THRESHOLD = 0.80
#: A greyscale photo against a colour one is a candidate this much lower: greyscale conversion
#: takes a copy's similarity down to 0.70 (0.45 at worst), further than any other edit. Only these
#: mixed pairs get the lower bar, so the geometric check runs on few pairs in a large library.
GREY_ALLOWANCE = 0.10
#: Keypoint matches consistent with one similarity transform that confirm a candidate pair.
MIN_INLIERS = 20
#: A photo whose geometric check failed this many times is not checked again. Candidates are
#: checked most similar first and a copy is among a photo's most similar look-alikes (on the
#: near-duplicate set, checking only each photo's best two candidates loses no copy), while a
#: library full of bursts would otherwise cost up to ten checks per photo (docs/duplicates.md).
MAX_FAILED_CHECKS = 2
#: When a pair cannot be checked (a file unreadable now, a picture too flat for keypoints),
#: the similarity alone decides, at this much stricter bar.
UNVERIFIED_THRESHOLD = 0.95


#: Kinds of group, in the order they are listed. Exact and near groups hold copies of one picture; a
#: burst holds different moments of one scene (best shot first); a RAW + JPEG pair is one capture
#: written twice by the camera, and keeps both files.
KINDS: dict[str, str] = {"exact": "Exact copies", "near": "Near duplicates", "burst": "Burst (best shot first)",
                         "raw+jpeg": "RAW + JPEG pair"}


@dataclass
class DuplicateGroup:
    """Photos of one picture (or one scene, for a burst). Each photo is in at most one group.

    ``photos`` are ranked best first and the first ``keep_count`` are kept by
    default (more than one where a kind keeps several: a RAW and its camera
    JPEG). Members in ``protected`` folders are kept whatever their rank.
    ``same_bytes`` marks exact copies inside the group: photo id -> the id of
    the member (earlier in ``photos``) whose bytes it repeats. ``copy_of``, in
    a burst or a RAW + JPEG group, marks the members that are only copies of
    another member (a re-encode of one frame): photo id -> that member.
    ``keep_when_asked``: how many are kept when the person asks to remove
    this kind's extras (a RAW + JPEG pair under a format rule: one); 0 means
    ``keep_count``.
    """

    kind: str                     # a key of KINDS: "exact" (all the same bytes) | "near" | "burst" | "raw+jpeg"
    photos: list[Photo]           # best first
    similarities: list[float]     # of each photo to the keeper
    reason: str                   # which rule decided, which guard applied, why each other one is not kept
    keep_count: int = 1
    same_bytes: dict[int, int] = field(default_factory=dict)
    protected: frozenset[int] = frozenset()
    notes: dict[int, str] = field(default_factory=dict)  # photo id -> why it is not kept
    decided_by: str = ""
    guards: list[str] = field(default_factory=list)
    copy_of: dict[int, int] = field(default_factory=dict)
    keep_when_asked: int = 0

    @property
    def keep(self) -> Photo:
        return self.photos[0]

    @property
    def keepers(self) -> list[Photo]:
        return self.photos[:self.keep_count]

    def kept(self, p: Photo) -> bool:
        """Kept by default: one of the keepers, or in a protected folder."""
        return p.id in self.protected or any(k.id == p.id for k in self.keepers)

    @property
    def removable(self) -> list[Photo]:
        """The members a "keep the best" would move: never a keeper, never a protected photo."""
        return [p for p in self.photos if not self.kept(p)]

    @property
    def bytes_to_free(self) -> int:
        return sum(p.size for p in self.removable)


def exact_groups(digests: dict[int, str | None]) -> list[list[int]]:
    """Ids of photos with the same bytes (photo id -> content hash), each group sorted."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, digest in digests.items():
        if digest:  # no hash (never read) is never "the same bytes"
            by_hash[digest].append(i)
    return [sorted(g) for g in by_hash.values() if len(g) > 1]


def near_pairs(ids: np.ndarray, neighbour_ids: np.ndarray, neighbour_sims: np.ndarray,
               threshold: float, grey: Iterable[int] = ()) -> list[Pair]:
    """Pairs (a < b) from a k-NN table whose similarity reaches the threshold, most similar first.

    A pair of one greyscale photo (``grey``: their ids) and one colour photo needs
    only ``threshold - GREY_ALLOWANCE``. Vectorised: a 100,000-photo library gives
    about a million neighbour entries.
    """
    sims = np.asarray(neighbour_sims, np.float32)
    b = np.asarray(neighbour_ids, np.int64)
    a = np.broadcast_to(np.asarray(ids, np.int64)[:, None], b.shape)
    grey = np.fromiter(grey, np.int64)
    bar = np.full(sims.shape, threshold, np.float32)
    if len(grey):
        bar[np.isin(a, grey) != np.isin(b, grey)] -= GREY_ALLOWANCE  # one greyscale, one colour
    keep = (sims >= bar) & (b >= 0) & (a != b)
    lo, hi, sim = np.minimum(a, b)[keep], np.maximum(a, b)[keep], sims[keep]
    order = np.lexsort((-sim, hi, lo))  # each pair's larger similarity first
    lo, hi, sim = lo[order], hi[order], sim[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, sim = lo[first], hi[first], sim[first]
    best = np.argsort(-sim, kind="stable")
    # tolist() makes the Python numbers in one C pass; Pair._make skips the keyword handling of Pair(...)
    return list(map(Pair._make, zip(lo[best].tolist(), hi[best].tolist(), sim[best].tolist())))


def confirm_pairs(pairs: Iterable[Pair], check: Callable[[int, int], int | None],  # noqa: PLR0913 - the check, the marks and the progress/cancel hooks are independent choices of each caller
                  forbidden: set[tuple[int, int]] = frozenset(), min_inliers: int = MIN_INLIERS,
                  unverified_threshold: float = UNVERIFIED_THRESHOLD,
                  cancelled: Callable[[], bool] = lambda: False,
                  max_failed: int = MAX_FAILED_CHECKS,
                  progress: Callable[[int, int], None] | None = None,
                  joined: Iterable[list[int]] = ()) -> list[Pair]:
    """The candidate pairs that ``check`` confirms, enough to give the same groups as checking all.

    ``check(a, b)`` returns the number of geometric inliers, or None when the
    pair cannot be checked (then ``unverified_threshold`` decides). Pairs are
    taken most similar first, and a pair whose photos are already joined
    through confirmed pairs is not checked again: the groups are the same and
    a group of n copies costs about n checks instead of n². A photo that failed
    ``max_failed`` checks is not checked again, so the work stays linear in
    the number of photos however many look-alikes each has. ``joined``: groups
    already known to be one (same bytes), so a re-encode of a photo with three
    byte copies is checked against one of them, not all four.
    """
    uf = UnionFind()
    for g in joined:
        for x in g[1:]:
            uf.union(g[0], x)
    failed: dict[int, int] = defaultdict(int)
    out = []
    pairs = sorted(pairs, key=lambda p: -p[2])
    for n, (a, b, sim) in enumerate(pairs):
        if cancelled():
            break
        if progress is not None and n % 1024 == 0:
            progress(n, len(pairs))
        if (min(a, b), max(a, b)) in forbidden or uf.find(a) == uf.find(b):
            continue
        if failed[a] >= max_failed or failed[b] >= max_failed:
            continue
        inliers = check(a, b)
        if (sim >= unverified_threshold) if inliers is None else (inliers >= min_inliers):
            uf.union(a, b)
            out.append((a, b, sim))
        elif inliers is not None:
            failed[a] += 1
            failed[b] += 1
    return out


def make_group(kind: str | None, photos: list[Photo], vectors: dict[int, np.ndarray] | None = None,  # noqa: PLR0913 - a group's members, vectors and rules come from different stages of `dupes`
               upscaled: set[int] = frozenset(), rules: KeeperRules = KeeperRules(),
               protected: Iterable[int] = (), keep_count: int = 1) -> DuplicateGroup:
    """A group ranked by ``rules``, with the exact copies inside it marked. ``kind`` None: "exact"
    when every member has the same bytes, else "near"."""
    ranking = rank(photos, rules, upscaled, keep_count)
    ranked = ranking.photos
    hashes = {p.content_hash for p in ranked}
    if kind is None:
        kind = "exact" if len(hashes) == 1 and None not in hashes else "near"
    sims = [1.0] * len(ranked) if kind == "exact" else similarities(ranked, vectors)
    return DuplicateGroup(kind, ranked, sims, ranking.reason, keep_count=keep_count,
                          same_bytes=same_bytes_marks(ranked), protected=frozenset(protected) & {p.id for p in ranked},
                          notes=ranking.notes, decided_by=ranking.decided_by, guards=ranking.guards)


def same_bytes_marks(ranked: list[Photo]) -> dict[int, int]:
    """photo id -> the first member (in ``ranked`` order) with the same bytes, for each later one."""
    first_of: dict[str, int] = {}
    same: dict[int, int] = {}
    for p in ranked:
        if p.content_hash:
            if p.content_hash in first_of:
                same[p.id] = first_of[p.content_hash]
            else:
                first_of[p.content_hash] = p.id
    return same


def similarities(ranked: list[Photo], vectors: dict[int, np.ndarray] | None) -> list[float]:
    """Each member's cosine similarity to the first (1.0 for the first; 1.0 for all without vectors)."""
    if not vectors or ranked[0].id not in vectors:
        return [1.0] * len(ranked)
    kv = vectors[ranked[0].id]
    sims = [float(np.dot(kv, vectors[p.id])) if p.id in vectors else 0.0 for p in ranked]
    sims[0] = 1.0
    return [round(s, 4) for s in sims]
