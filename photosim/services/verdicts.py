"""The geometric check's verdicts, kept so a pair is checked once: in the library (table
`pair_checks`, through store/checks.py) and in memory, per library (``Library.memo``).

A verdict belongs to a pair of photos *with the bytes they had*: a changed file (other keypoints)
is another pair. Those made while the library could not keep them (read-only, busy) answer from
memory and are written with the next ones."""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..store import checks as check_store
from ..store.db import WRITE_ERRORS
from ..store.library import Library

#: Kinds of a confirmed pair: two copies of one capture, or two frames of a burst.
COPY, FRAMES = "copy", "burst"
#: Verdicts held in memory per library, most recent last.
VERDICT_CACHE = 50_000

#: id -> (content hash or None, greyscale): what the duplicate checks know of each photo.
Facts = dict[int, tuple["str | None", bool]]
#: ((a, hash of a), (b, hash of b)), a < b: the key of one verdict.
PhotosPair = tuple[tuple[int, str], tuple[int, str]]


class _Held:
    """One library's verdicts in memory: pair -> (inliers, kind), and those still to write."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.verdicts: OrderedDict[PhotosPair, tuple[int, str | None]] = OrderedDict()
        self.unsaved: dict[tuple[int, int, str, str], tuple[int, str | None]] = {}


def _held(lib: Library) -> _Held:
    return lib.memo.get(("verdicts",), _Held)


def forget(lib: Library, kept_too: bool = False) -> None:
    """Forget the verdicts held in memory (as a fresh process starts); ``kept_too``: those the
    library keeps as well (as a library where no pair was ever checked)."""
    held = _held(lib)
    with held.lock:
        held.verdicts.clear()
        held.unsaved.clear()
    if kept_too:
        with lib.db.session() as s:
            check_store.forget_pair_checks(s)


def photos_pair(facts: Facts, a: int, b: int) -> PhotosPair | None:
    """((a, hash), (b, hash)), a < b, or None for a photo whose bytes were never read (no verdict kept)."""
    a, b = min(a, b), max(a, b)
    ha, hb = facts[a][0], facts[b][0]
    return ((a, ha), (b, hb)) if ha and hb else None


def known(lib: Library, facts: Facts, pairs, stored: list[check_store.PairVerdict]) -> dict[tuple[int, int], tuple[int, str | None]]:
    """(a, b) -> (inliers, kind) of those of ``pairs`` checked before on the bytes the photos hold now:
    kept by the library (``stored``) or in memory."""
    out = {}
    for v in stored:
        if (v.a, v.b) in pairs and facts[v.a][0] == v.a_hash and facts[v.b][0] == v.b_hash:
            out[(v.a, v.b)] = (v.inliers, v.kind)
    held = _held(lib)
    with held.lock:
        for a, b in (pairs if held.verdicts else ()):
            key = photos_pair(facts, a, b)
            if key is not None and key in held.verdicts:
                held.verdicts.move_to_end(key)
                n, kind = held.verdicts[key]
                out[(a, b)] = (n, kind or out.get((a, b), (n, None))[1])
    return out


def remember(lib: Library, facts: Facts, verdicts: list[tuple[int, int, int, str | None]]) -> None:
    """Keep new verdicts (a, b, inliers, kind) in memory and in the library. The write never waits
    for another writer (indexing, `dupes`): a busy or read-only library gets them with the next ones."""
    held, rows = _held(lib), {}
    with held.lock:
        for a, b, n, kind in verdicts:
            key = photos_pair(facts, a, b)
            if key is None:
                continue
            held.verdicts[key] = (n, kind)
            held.verdicts.move_to_end(key)
            rows[(key[0][0], key[1][0], key[0][1], key[1][1])] = (n, kind)
        while len(held.verdicts) > VERDICT_CACHE:
            held.verdicts.popitem(last=False)
        waiting, held.unsaved = held.unsaved, {}
        waiting.update(rows)
    if not waiting:
        return
    try:
        lib.db.write_now(lambda con: check_store.put_pair_checks(
            con, [check_store.PairVerdict(a, b, ha, hb, n, kind) for (a, b, ha, hb), (n, kind) in waiting.items()]))
    except WRITE_ERRORS:
        with held.lock:
            if len(waiting) < VERDICT_CACHE:  # past that many, they are checked again instead
                held.unsaved.update(waiting)


def stored(lib: Library, facts: Facts) -> dict[tuple[int, int], int]:
    """(a, b) -> inliers of every pair the library kept a verdict on, checked on the bytes the photos
    hold now: what `dupes` need not check again."""
    with lib.db.session() as s:
        rows = check_store.all_pair_checks(s)
    return {(a, b): n for a, b, ha, hb, n in rows
            if a in facts and b in facts and facts[a][0] == ha and facts[b][0] == hb}


def keep(lib: Library, facts: Facts, checks: dict[tuple[int, int], int], before: dict[tuple[int, int], int]) -> None:
    """Keep the verdicts `dupes` made now (not those it read), so `similar` and the next `dupes` reuse them."""
    rows = [check_store.PairVerdict(a, b, facts[a][0], facts[b][0], n, None) for (a, b), n in checks.items()
            if (a, b) not in before and facts[a][0] and facts[b][0]]
    try:
        with lib.db.session() as s:
            check_store.put_pair_checks(s, rows)
    except WRITE_ERRORS:  # a read-only or busy library: the groups stand, the next run checks again
        pass
