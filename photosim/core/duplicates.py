"""Group duplicates and pick the photo to keep, by rules a person can follow.

Exact duplicates share their bytes (content hash). Near-duplicates are photos
whose embeddings are at least ``threshold`` similar (cosine), joined into
groups by connected components; pairs the user marked "not duplicates" are
never joined directly.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .types import Photo

#: Cosine similarity above which two photos count as near-duplicates (measured in docs/duplicates.md).
DEFAULT_THRESHOLD = 0.90


@dataclass
class DuplicateGroup:
    kind: str                     # "exact" | "near"
    photos: list[Photo]           # keeper first
    similarities: list[float]     # of each photo to the keeper
    reason: str                   # why the keeper was chosen

    @property
    def keep(self) -> Photo:
        return self.photos[0]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return [sorted(g) for g in out.values() if len(g) > 1]


def exact_groups(photos: Iterable[Photo]) -> list[list[Photo]]:
    by_hash: dict[str, list[Photo]] = defaultdict(list)
    for p in photos:
        if p.content_hash:
            by_hash[p.content_hash].append(p)
    return [sorted(g, key=lambda p: p.id) for g in by_hash.values() if len(g) > 1]


def near_pairs(ids: np.ndarray, neighbour_ids: np.ndarray, neighbour_sims: np.ndarray,
               threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (a < b) from a k-NN table whose similarity reaches the threshold."""
    out: dict[tuple[int, int], float] = {}
    rows, cols = np.nonzero(neighbour_sims >= threshold)
    for r, c in zip(rows, cols):
        a, b = int(ids[r]), int(neighbour_ids[r, c])
        if a == b or b < 0:
            continue
        key = (a, b) if a < b else (b, a)
        out[key] = max(out.get(key, -1.0), float(neighbour_sims[r, c]))
    return [(a, b, s) for (a, b), s in out.items()]


def group_pairs(pairs: Iterable[tuple[int, int, float]], forbidden: set[tuple[int, int]]) -> list[list[int]]:
    uf = UnionFind()
    for a, b, _ in pairs:
        if (min(a, b), max(a, b)) not in forbidden:
            uf.union(a, b)
    return uf.groups()


def keeper_key(p: Photo) -> tuple:
    """Sort key, best first: no added border, colour, most pixels, best JPEG quality, most EXIF, oldest."""
    pixels = (p.width or 0) * (p.height or 0)
    quality = p.jpeg_quality if p.jpeg_quality is not None else 100  # lossless formats count as best
    return (p.border > 0.04, p.grey, -pixels, -quality, -p.exif_tags, p.taken_at or "9999", p.mtime_ns, p.id)


def choose_keeper(photos: list[Photo]) -> tuple[list[Photo], str]:
    """Photos ordered keeper first, and a sentence saying why the first one is kept."""
    ranked = sorted(photos, key=keeper_key)
    best, rest = ranked[0], ranked[1:]
    if not rest:
        return ranked, "only copy"
    reasons = []
    if any(r.border > 0.04 for r in rest) and best.border <= 0.04:
        reasons.append("has no added border")
    if any(r.grey for r in rest) and not best.grey:
        reasons.append("is in colour")
    bp = (best.width or 0) * (best.height or 0)
    if any((r.width or 0) * (r.height or 0) < bp for r in rest):
        reasons.append(f"has the most pixels ({best.width}×{best.height})")
    if best.jpeg_quality is not None and any(r.jpeg_quality is not None and r.jpeg_quality < best.jpeg_quality for r in rest):
        reasons.append(f"has the least compression (JPEG quality ≈{best.jpeg_quality})")
    elif best.jpeg_quality is None and any(r.jpeg_quality is not None for r in rest):
        reasons.append("is not re-encoded as JPEG")
    if any(r.exif_tags < best.exif_tags for r in rest):
        reasons.append(f"has the fullest EXIF ({best.exif_tags} tags)")
    if not reasons:
        reasons.append("is the oldest copy")
    return ranked, "kept because it " + ", ".join(reasons)


def make_group(kind: str, photos: list[Photo], vectors: dict[int, np.ndarray] | None) -> DuplicateGroup:
    ranked, reason = choose_keeper(photos)
    if kind == "exact" or not vectors:
        sims = [1.0] * len(ranked)
    else:
        kv = vectors[ranked[0].id]
        sims = [float(np.dot(kv, vectors[p.id])) if p.id in vectors else 0.0 for p in ranked]
        sims[0] = 1.0
    return DuplicateGroup(kind, ranked, [round(s, 4) for s in sims], reason)
