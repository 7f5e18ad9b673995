"""The pretext task's views, made while indexing from the pixels already decoded (no second read).

A bounded, roughly uniform sample of the library gets them: each photo of a run is taken with
probability SAMPLE / (photos the library will have), by its content hash (the same photo is
taken again by a later run, whatever the order), and after the run the sample is trimmed back
to SAMPLE at random. A library indexed before views existed gets them from its files once, at
the next adaptation (``top_up``).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..core import pretext as pt
from ..core.decode import decode_file
from ..core.types import DecodedPhoto, TaskContext
from ..store import repositories as repo
from ..store import views as store
from ..store.db import WRITE_ERRORS
from ..store.library import Library

#: Photos whose views the head learns from. Learned from a sample and applied to all 799 shared
#: photos, the gain grew up to 400 photos and stayed flat to 799 (docs/eval.md, "how many photos the
#: head needs"); each sampled photo costs three more passes of the network (about 20 ms here), so
#: the sample is where the gain stopped growing, with room: 600 photos, about 12 s once, 7 MB.
SAMPLE = 600
#: Fewer photos than this with views and the library stays on the adaptation: a head learned from
#: the views of 100 photos lowered mAP@50 wherever it was applied, from 200 on it did not
#: (docs/eval.md). A smaller library makes no views at all (they would never be used); when it
#: grows past this, its sample's views are made from the files once (``top_up``).
MIN_SAMPLE = 200


def _chosen(content_hash: str, share: float) -> bool:
    return int(content_hash[:8], 16) / 0x1_0000_0000 < share


def _rng(content_hash: str) -> np.random.Generator:
    return np.random.default_rng(int(content_hash[:16], 16))


class ViewSampler:
    """Given each stored batch of an indexing run, embeds the views of the photos it samples, on a
    thread of its own: the run goes on while the network makes the views (at most ``AHEAD`` batches
    waiting, their pixels a few MB each, so memory stays bounded)."""

    AHEAD = 8

    def __init__(self, lib: Library, engine, share: float) -> None:
        self.lib, self.engine, self.share, self.made = lib, engine, share, 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._count = threading.Lock()

    @classmethod
    def for_run(cls, lib: Library, engine, new_photos: int) -> "ViewSampler":
        """The sampler of an indexing run that brings ``new_photos`` to the library."""
        with lib.db.session() as s:
            before = repo.vector_count(s, 0)
        after = before + new_photos
        return cls(lib, engine, 0.0 if after < MIN_SAMPLE else min(1.0, SAMPLE / after))

    def add(self, ids: list[int], photos: list[DecodedPhoto], cancelled=lambda: False) -> None:
        picked = [(i, p) for i, p in zip(ids, photos) if _chosen(p.content_hash, self.share)]
        others = [i for i, p in zip(ids, photos) if not _chosen(p.content_hash, self.share)]
        if others and self.share < 1.0:  # a changed photo's old views showed what it no longer is
            try:
                with self.lib.db.session() as s:
                    store.drop_views(s, others)
            except WRITE_ERRORS:
                pass
        if not picked or cancelled():
            return
        while len(self._pending) >= self.AHEAD:
            self._wait_first()
        self._pool = self._pool or ThreadPoolExecutor(max_workers=max(1, int(getattr(self.engine, "streams", 1))),
                                                      thread_name_prefix="views")  # every core once indexing is done
        self._pending.append(self._pool.submit(self._embed, picked, cancelled))

    def _embed(self, picked: list[tuple[int, DecodedPhoto]], cancelled) -> None:
        if cancelled():  # a batch still waiting when the run was cancelled
            return
        views = np.stack([pt.make_views(p.pixels, _rng(p.content_hash)) for _, p in picked])
        try:
            vectors = self.engine(views.reshape(-1, *views.shape[2:]))
        except Exception:  # noqa: BLE001 - a cancel aborts runs in flight; views are optional, the photos are stored
            if cancelled():
                return
            raise
        vectors = vectors.reshape(len(picked), views.shape[1], -1)
        try:
            with self.lib.db.session() as s:
                store.put_views(s, [i for i, _ in picked], vectors)
        except WRITE_ERRORS:  # a busy or full library: the sample is a little smaller, nothing is lost
            return
        with self._count:
            self.made += len(picked)

    def _wait_first(self) -> None:
        self._pending.pop(0).result()  # a bug in making views is raised here, not lost

    def close(self) -> None:
        """Wait for the views in flight (a cancelled run's stop quickly) and stop the thread."""
        try:
            while self._pending:
                self._wait_first()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def finish(self, seed: int = 0) -> None:
        self.close()
        trim(self.lib, seed)


def trim(lib: Library, seed: int = 0) -> None:
    """Back to SAMPLE photos with views, dropping a random few (the sample stays uniform as the library grows)."""
    with lib.db.session() as s:
        ids = store.view_ids(s)
        if len(ids) > SAMPLE:
            store.drop_views(s, np.random.default_rng(seed).choice(ids, len(ids) - SAMPLE, replace=False).tolist())


def top_up(lib: Library, ctx: TaskContext, text: str) -> int:
    """Views for a library that has fewer than it should (indexed before views existed): the
    sampled photos are read once more. Returns how many photos got views."""
    from ..core.embed import make_engine

    with lib.db.session() as s:
        ids, have = repo.vector_ids(s, 0), set(store.view_ids(s).tolist())
        want = min(SAMPLE, len(ids))
        if len(have) >= want or len(have) >= 0.9 * want:
            return 0
        missing = [i for i in ids.tolist() if i not in have]
        picks = np.random.default_rng(0).choice(missing, min(len(missing), want - len(have)), replace=False)
        photos = repo.photos_by_id(s, picks.tolist())
    spec = lib.base_spec()
    sampler = ViewSampler(lib, make_engine(spec), 1.0)
    picks = picks.tolist()
    for start in range(0, len(picks), 8):
        if ctx.cancelled():
            break
        ctx.progress(start, len(picks), text)
        got = [(i, decode_file(photos[i].path, spec.size, with_keypoints=False)) for i in picks[start:start + 8]
               if i in photos]
        got = [(i, d) for i, d in got  # offline, unreadable or changed since indexing: done without
               if isinstance(d, DecodedPhoto) and d.content_hash == photos[i].content_hash]
        sampler.add([i for i, _ in got], [d for _, d in got], ctx.cancelled)
    sampler.close()
    ctx.progress(len(picks), len(picks), text)
    return sampler.made
