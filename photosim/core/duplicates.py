"""Group duplicates and pick the photo to keep, by rules a person can follow.

Exact duplicates share their bytes (content hash). Near-duplicates are found
in two stages (docs/duplicates.md): the embedding proposes pairs at least
``threshold`` similar (cosine), and a geometric check confirms them (the two
pictures share their keypoints' layout, see core/verify.py). A global vector
alone cannot tell a greyscale or captioned copy from another photo of the same
object; the geometry can. Confirmed pairs are joined into groups by connected
components; pairs the user marked "not duplicates" are never joined directly.
Nothing here reads a file: the check is a callable handed in by the service.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .types import Photo
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
#: Share of the height or of the group's detail that counts as a real difference in the keeper rule.
BORDER_TOLERANCE = 0.03
UPSCALE_DETAIL_RATIO = 0.7
#: A copy can be an upscaled one only with at least this many times another copy's pixels: smaller
#: differences are resampling noise, and the check reads every member of a group at full size.
UPSCALE_PIXEL_RATIO = 1.4
#: A later copy whose JPEG quality is this much lower than an older copy's was re-encoded (a messenger,
#: a web upload). A later copy at *higher* quality is an export, which cannot add detail: not a sign.
QUALITY_STEP = 15
#: "Fuller EXIF" means this many more tags: an editor that writes only Orientation or a resolution
#: has not made a richer file.
EXIF_STEP = 3


@dataclass
class DuplicateGroup:
    kind: str                     # "exact" | "near"
    photos: list[Photo]           # keeper first
    similarities: list[float]     # of each photo to the keeper
    reason: str                   # why the keeper was chosen

    @property
    def keep(self) -> Photo:
        return self.photos[0]


def exact_groups(digests: dict[int, str | None]) -> list[list[int]]:
    """Ids of photos with the same bytes (photo id -> content hash), each group sorted."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, digest in digests.items():
        if digest:  # no hash (never read) is never "the same bytes"
            by_hash[digest].append(i)
    return [sorted(g) for g in by_hash.values() if len(g) > 1]


def near_pairs(ids: np.ndarray, neighbour_ids: np.ndarray, neighbour_sims: np.ndarray,
               threshold: float, grey: Iterable[int] = ()) -> list[tuple[int, int, float]]:
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
    return [(int(x), int(y), float(z)) for x, y, z in zip(lo[best], hi[best], sim[best])]


def group_pairs(pairs: Iterable[tuple[int, int, float]], forbidden: set[tuple[int, int]]) -> list[list[int]]:
    uf = UnionFind()
    for a, b, _ in pairs:
        if (min(a, b), max(a, b)) not in forbidden:
            uf.union(a, b)
    return uf.groups()


def confirm_pairs(pairs: Iterable[tuple[int, int, float]], check: Callable[[int, int], int | None],
                  forbidden: set[tuple[int, int]] = frozenset(), min_inliers: int = MIN_INLIERS,
                  unverified_threshold: float = UNVERIFIED_THRESHOLD,
                  cancelled: Callable[[], bool] = lambda: False,
                  max_failed: int = MAX_FAILED_CHECKS,
                  progress: Callable[[int, int], None] | None = None) -> list[tuple[int, int, float]]:
    """The candidate pairs that ``check`` confirms, enough to give the same groups as checking all.

    ``check(a, b)`` returns the number of geometric inliers, or None when the
    pair cannot be checked (then ``unverified_threshold`` decides). Pairs are
    taken most similar first, and a pair whose photos are already joined
    through confirmed pairs is not checked again: the groups are the same and
    a group of n copies costs about n checks instead of n². A photo that failed
    ``max_failed`` checks is not checked again, so the work stays linear in
    the number of photos however many look-alikes each has.
    """
    uf = UnionFind()
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


# ---- which photo to keep ------------------------------------------------------------------------

def _pixels(p: Photo) -> int:
    return (p.width or 0) * (p.height or 0)


def added_border(p: Photo, other: Photo) -> bool:
    """True if ``p`` is ``other`` with flat bands added at top and bottom (a letterbox or frame).

    Judged against another copy, never alone: plenty of originals (a product
    on white) have flat rows at their edges. At the same width, ``p`` must be
    taller than ``other`` by at least BORDER_TOLERANCE of its height, and that
    extra height must be flat rows (``border`` is the flat-row fraction the
    decoder measured).
    """
    if not (p.width and p.height and other.width and other.height):
        return False
    scale = p.width / other.width
    extra = p.height - other.height * scale
    extra_flat = p.border * p.height - other.border * other.height * scale
    tolerance = BORDER_TOLERANCE * p.height
    return extra >= tolerance and abs(extra_flat - extra) <= tolerance


@dataclass(frozen=True)
class KeeperFacts:
    """What the keeper rule knows about one member, measured against the rest of its group."""

    bordered: bool      # has bands another copy has not
    upscaled: bool      # more pixels than another copy, but not more detail
    grey_copy: bool     # greyscale while another copy is in colour
    recompressed: bool  # a later copy with clearly lower JPEG quality than an older one
    less_exif: bool     # clearly fewer EXIF tags than the fullest copy

    @property
    def derived(self) -> bool:
        return self.bordered or self.upscaled or self.grey_copy or self.recompressed


def keeper_facts(p: Photo, group: list[Photo], upscaled: set[int] = frozenset()) -> KeeperFacts:
    others = [q for q in group if q.id != p.id]
    return KeeperFacts(
        bordered=any(added_border(p, q) for q in others),
        upscaled=p.id in upscaled,
        grey_copy=p.grey and any(not q.grey for q in others),
        recompressed=p.jpeg_quality is not None and any(
            q.jpeg_quality is not None and q.jpeg_quality >= p.jpeg_quality + QUALITY_STEP and q.mtime_ns <= p.mtime_ns
            for q in others),
        less_exif=p.exif_tags + EXIF_STEP <= max(q.exif_tags for q in group),
    )


def keeper_key(p: Photo, facts: KeeperFacts) -> tuple:
    """Sort key, best first: the original (no added border, not upscaled, not a grey copy, most
    pixels, not recompressed), then the fullest EXIF, then the oldest."""
    return (facts.bordered, facts.upscaled, facts.grey_copy, -_pixels(p), facts.recompressed, facts.less_exif,
            p.taken_at or "9999", p.mtime_ns, p.id)


def _why_not(p: Photo, f: KeeperFacts, keep: Photo, kf: KeeperFacts) -> str:
    """The first rule that puts ``p`` after the keeper, in words."""
    if f.bordered and not kf.bordered:
        return "has an added border"
    if f.upscaled and not kf.upscaled:
        return f"is an upscaled copy ({p.width}×{p.height}, no more detail)"
    if f.grey_copy and not kf.grey_copy:
        return "is a greyscale copy"
    if _pixels(p) < _pixels(keep):
        return f"is smaller ({p.width}×{p.height})"
    if f.recompressed and not kf.recompressed:
        return f"is a later, more compressed copy (JPEG quality ≈{p.jpeg_quality})"
    if f.less_exif and not kf.less_exif:
        return f"has less EXIF ({p.exif_tags} tags against {keep.exif_tags})"
    if (p.taken_at or "9999") > (keep.taken_at or "9999") or p.mtime_ns > keep.mtime_ns:
        return "is newer"
    return "is the same in every respect (kept the first found)"


def choose_keeper(photos: list[Photo], upscaled: set[int] = frozenset()) -> tuple[list[Photo], str]:
    """Photos ordered keeper first, and a sentence saying why the first one is kept.

    The rule, in order: the original over an added-border, upscaled, greyscale,
    smaller or later-and-more-compressed copy; then the fullest EXIF; then the oldest.
    ``upscaled`` holds the ids the caller measured as upscaled (see
    ``is_upscaled``): that needs the pixels, which this module never reads.
    """
    facts = {p.id: keeper_facts(p, photos, upscaled) for p in photos}
    ranked = sorted(photos, key=lambda p: keeper_key(p, facts[p.id]))
    keep, rest = ranked[0], ranked[1:]
    if not rest:
        return ranked, "only copy"
    kf = facts[keep.id]
    why = [f"{os.path.basename(p.path)} {_why_not(p, facts[p.id], keep, kf)}" for p in rest]
    return ranked, f"keep {os.path.basename(keep.path)}: " + "; ".join(why)


def detail_ratio(grey: np.ndarray) -> float:
    """Detail in the finest octave relative to the next one (about 0.6–1.3 for a photo at its own size).

    Upscaling adds pixels but no detail, so an upscaled copy's finest octave
    is nearly empty: a 2× bicubic enlargement measures about half of its
    source (benchmarked on the shared photos in docs/duplicates.md).
    """
    g = np.asarray(grey, np.float32)

    def octave(a: np.ndarray) -> tuple[float, np.ndarray]:
        h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
        a = a[:h, :w]
        half = a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return float(np.abs(a - np.repeat(np.repeat(half, 2, 0), 2, 1)).mean()), half

    if min(g.shape[:2]) < 8:
        return 1.0
    fine, half = octave(g)
    coarse, _ = octave(half)
    return fine / max(coarse, 1e-6)


def upscaled_members(group: list[Photo], detail: dict[int, float]) -> set[int]:
    """Ids of members with clearly more pixels than another member but clearly less fine detail."""
    out = set()
    for p in group:
        for q in group:
            if (p.id in detail and q.id in detail and _pixels(p) >= UPSCALE_PIXEL_RATIO * _pixels(q)
                    and detail[p.id] < UPSCALE_DETAIL_RATIO * detail[q.id]):
                out.add(p.id)
    return out


def make_group(kind: str, photos: list[Photo], vectors: dict[int, np.ndarray] | None,
               upscaled: set[int] = frozenset()) -> DuplicateGroup:
    ranked, reason = choose_keeper(photos, upscaled)
    if kind == "exact" or not vectors:
        sims = [1.0] * len(ranked)
    else:
        kv = vectors[ranked[0].id]
        sims = [float(np.dot(kv, vectors[p.id])) if p.id in vectors else 0.0 for p in ranked]
        sims[0] = 1.0
    return DuplicateGroup(kind, ranked, [round(s, 4) for s in sims], reason)
