"""Reference implementations the tests compare photosim against (not used by the package): plain
groupings of pairs, brute-force neighbours, a burst's frames ranked one by one."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from photosim.core.bursts import exposure_offsets, shot_key
from photosim.core.types import Pair, Photo
from photosim.core.unionfind import UnionFind


def group_pairs(pairs: Iterable[Pair], forbidden: set[tuple[int, int]]) -> list[list[int]]:
    uf = UnionFind()
    for a, b, _ in pairs:
        if (min(a, b), max(a, b)) not in forbidden:
            uf.union(a, b)
    return uf.groups()


def join_groups(same_bytes: list[list[int]], pairs: Iterable[Pair],
                forbidden: set[tuple[int, int]] = frozenset()) -> list[list[int]]:
    """Groups over same-bytes groups and confirmed near pairs together: each photo in one group.

    An exact pair that is also near a third photo (a re-encode) is one group of
    three, never an exact group plus a near group that share photos. A pair the
    user marked "not duplicates" is never joined directly, same bytes or not.
    """
    uf = UnionFind()
    for g in same_bytes:
        for n, x in enumerate(g[1:], 1):
            y = next((y for y in g[:n] if (min(x, y), max(x, y)) not in forbidden), None)
            if y is not None:
                uf.union(x, y)
    for a, b, _ in pairs:
        if (min(a, b), max(a, b)) not in forbidden:
            uf.union(a, b)
    return sorted(uf.groups(), key=lambda g: g[0])


def best_shot_order(frames: list[Photo]) -> list[Photo]:
    """Frames best first: well exposed (near the burst's median exposure) before badly exposed, then
    the sharpest; frames without measures last."""
    offsets = exposure_offsets(frames)
    return sorted(frames, key=lambda p: (shot_key(p, offsets[p.id]), p.id))


def exact_knn(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Brute-force neighbours (row indexes), the ground truth for recall measurements."""
    sims = queries @ vectors.T
    k = min(k, vectors.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)
