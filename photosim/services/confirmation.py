"""The geometric check of candidate pairs (core/verify.py: ORB + RANSAC), on the keypoints the
indexer stored; a photo indexed before they were kept is read once and its keypoints stored."""
from __future__ import annotations

from collections import OrderedDict

from ..core import verify as geometry
from ..core.duplicates import MIN_INLIERS, confirm_pairs
from ..core.types import Pair, Photo, TaskContext
from ..core.unionfind import UnionFind
from ..store import checks as check_store
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library

#: Photos whose keypoints stay in memory during one `dupes` check (about 5 KB each).
KEYPOINT_CACHE = 20_000
#: A check about at most this many photos reads their keypoints in one statement, not one by one.
KEYPOINTS_AT_ONCE = 256
#: Keypoints read from files are stored in batches of this many.
STORE_EVERY = 256


class Keypoints:
    """Each photo's keypoints, read the cheapest way for the pairs to check: in one statement for a
    few photos (a `similar` answer's), one at a time through a reader for a library's worth, from the
    file for a photo that has none stored. The most recently used stay in memory."""

    def __init__(self, lib: Library, photos: set[int], stats: dict) -> None:
        self.lib, self.stats = lib, stats
        self.cache: OrderedDict[int, geometry.Keypoints | None] = OrderedDict()
        self.read: dict[int, bytes] = {}  # found now from a file, not yet written to the library
        self.blobs: dict[int, bytes] = {}
        self.reader: check_store.KeypointReader | None = None
        with lib.db.session() as s:
            if len(photos) <= KEYPOINTS_AT_ONCE:
                self.blobs.update(check_store.get_keypoints(s, photos))
                have = set(self.blobs)
            else:
                have = check_store.ids_with_keypoints(s, photos)
            self.unstored: dict[int, Photo] = repo.photos_by_id(s, photos - have)

    def of(self, i: int) -> geometry.Keypoints | None:
        """Photo ``i``'s keypoints, or None when it has too few to check (or cannot be read)."""
        if i in self.cache:
            self.cache.move_to_end(i)
            return self.cache[i]
        kp = self._load(i)
        self.cache[i] = kp if kp is not None and kp.enough else None
        if len(self.cache) > KEYPOINT_CACHE:
            self.cache.popitem(last=False)
        return self.cache[i]

    def _load(self, i: int) -> geometry.Keypoints | None:
        if i in self.read:  # read from its file earlier in this run
            return geometry.unpack(self.read[i])
        if i in self.unstored:
            self.stats["files_read"] += 1
            grey = geometry.load_grey(self.unstored.pop(i).path)
            kp = geometry.keypoints(grey) if grey is not None else None
            if kp is not None:
                self.read[i] = geometry.pack(kp)
                if len(self.read) >= STORE_EVERY:
                    self._store()
            return kp
        if i in self.blobs:
            blob = self.blobs.pop(i)
        else:
            if self.reader is None:
                self.reader = check_store.KeypointReader(self.lib.db.path)
            blob = self.reader.get(i)
        return geometry.unpack(blob) if blob is not None else None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self.read:
            self._store()

    def _store(self) -> None:
        """Store keypoints read from files, so the next run need not read those photos again."""
        try:
            with self.lib.db.session() as s:
                check_store.put_keypoints(s, list(self.read), list(self.read.values()))
        except WRITE_ERRORS:  # a read-only or busy library: the check still worked, it only costs a re-read
            pass
        self.read.clear()


def confirmed(lib: Library, pairs: list[Pair], forbidden: set[tuple[int, int]], ctx: TaskContext | None,  # noqa: PLR0913 - the pairs, the marks and the verdict cache are each the caller's
              stats: dict, same_bytes: list[list[int]] = (), checks: dict[tuple[int, int], int] | None = None
              ) -> list[Pair]:
    """Candidate pairs that the geometric check confirms.

    ``checks``: (a, b) with a < b -> inliers of pairs checked before, used instead of checking them
    again, and given the results of the checks made now. ``stats`` gets the counts of checks and of
    photos read from their files."""
    stats.update(checks=0, files_read=0)
    points: Keypoints | None = None  # opened at the first check: every pair may be known

    def check(a: int, b: int) -> int | None:
        nonlocal points
        key = (min(a, b), max(a, b))
        if checks is not None and key in checks:
            return checks[key]
        if points is None:  # only the photos of pairs not checked before need keypoints
            points = Keypoints(lib, {i for x, y, _ in pairs if (min(x, y), max(x, y)) not in (checks or {})
                                     for i in (x, y)}, stats)
        ka, kb = points.of(a), points.of(b)
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
        if points is not None:
            points.close()


def burst_candidates(lib: Library, wide: list[Pair], near: list[Pair], same_bytes: list[list[int]],  # noqa: PLR0913 - the burst band's pairs and the near stage's results it builds on
                     forbidden: set[tuple[int, int]], ctx: TaskContext | None, stats: dict,
                     checks: dict[tuple[int, int], int] | None = None) -> list[Pair]:
    """Pairs in the burst band (below the threshold) that the geometric check confirms.

    Checked apart from the confirmed near-duplicates ``near`` (own failure counts), so near-duplicate
    groups are exactly what they would be without bursts; pairs already joined by a confirmed pair
    (or by the same bytes) are skipped. The band holds the near-duplicate candidates that were not
    confirmed: ``checks`` (the near stage's results) answers those already checked, so each costs
    one check per run."""
    joined = UnionFind()
    for a, b, _ in near:
        joined.union(a, b)
    for g in same_bytes:
        for x in g[1:]:
            joined.union(g[0], x)
    done = {(min(a, b), max(a, b)) for a, b, _ in near}
    band = [p for p in wide if (min(p[0], p[1]), max(p[0], p[1])) not in done and joined.find(p[0]) != joined.find(p[1])]
    sub: dict = {}
    found = confirmed(lib, band, forbidden, ctx, sub, same_bytes, checks) if band else []
    stats.update(burst_candidates=len(band), burst_checks=sub.get("checks", 0))
    return found
