"""An HNSW index over unit vectors (hnswlib, inner-product space), labels = photo ids.

Search width without shared state: hnswlib searches with a beam of max(ef, k), where ef
is a property of the index object. Setting it per query (set_ef) races when two threads
search one index (a `similar` could run at the duplicates' narrow beam), so ef stays at
its floor and a query asks for ``width`` results and keeps the first k: the very same
search, with nothing shared changed (benchmarks/similar_copies.py measures the
alternatives: a lock, one index object per purpose).

The index is a cache of what SQLite holds: it can always be rebuilt, so saving
is atomic (write a temp file, then rename) and a file that fails to load is
simply rebuilt by the store.
"""
from __future__ import annotations

import os
import tempfile

import hnswlib
import numpy as np

M = 16
# Build beam: far faster than a wide one at nearly its recall (docs/decisions.md). Switching a
# 100k library to a new model version rebuilds the whole index, so this matters.
EF_CONSTRUCTION = 40
# Search beam for `similar`: a narrower one left queries in a wrong region of a 100k library-like
# index (docs/decisions.md; docs/benchmarks.md, search_scale section, measures it now).
EF_SEARCH = 256
#: Beam width for the all-pairs duplicate search: a near-duplicate is among a photo's very nearest
#: neighbours, which a narrow beam mostly finds, faster than EF_SEARCH; what it finds and misses at
#: 100k: docs/decisions.md.
EF_DUPLICATES = 40
#: The index's own ef, never changed after build or load: every query sets its width through k.
_EF_FLOOR = 1


class VectorIndex:
    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION, M=M,
                               allow_replace_deleted=True)
        self._index.set_ef(_EF_FLOOR)

    def add(self, ids: np.ndarray, vectors: np.ndarray, threads: int = -1) -> None:
        if len(ids) == 0:
            return
        needed = self._index.get_current_count() + len(ids)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(np.ascontiguousarray(vectors, dtype=np.float32),
                              np.asarray(ids, dtype=np.int64), num_threads=threads, replace_deleted=True)

    def vectors(self, ids) -> np.ndarray:
        """The stored vectors of ``ids`` (query expansion reads its neighbours' vectors here, not from SQLite)."""
        ids = np.asarray(ids, np.int64).ravel()
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._index.get_items(ids.tolist()), np.float32).reshape(len(ids), self.dim)

    def ids(self) -> np.ndarray:
        return np.asarray(self._index.get_ids_list(), dtype=np.int64)

    def count(self) -> int:
        return self._index.get_current_count()

    def query(self, vectors: np.ndarray, k: int, threads: int = -1,
              ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """k nearest per row: (ids, similarities), similarity = cosine (vectors are unit length).

        ``ef`` is the search beam (default EF_SEARCH); wider is more exact and slower. Safe to
        call from several threads at once with different ``ef``: nothing shared is changed."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        live = self._index.get_current_count()
        k = min(k, live)
        if k <= 0:
            return np.zeros((len(vectors), 0), np.int64), np.zeros((len(vectors), 0), np.float32)
        width = min(max(ef or EF_SEARCH, 2 * k), live)  # the beam: hnswlib searches max(ef, k) wide
        labels, distances = self._index.knn_query(vectors, k=width, num_threads=threads)
        return labels[:, :k].astype(np.int64), (1.0 - distances[:, :k]).astype(np.float32)

    def save(self, path: str) -> None:
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            self._index.save_index(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: str, dim: int) -> "VectorIndex":
        self = cls.__new__(cls)
        self.dim = dim
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.load_index(path, allow_replace_deleted=True)
        self._index.set_ef(_EF_FLOOR)  # ef is not saved in the file
        return self

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, progress=None, chunk: int = 50_000) -> "VectorIndex":
        """``progress(done, total)``, if given, is called between chunks of ``chunk`` vectors (it may
        raise to stop the build)."""
        index = cls(vectors.shape[1] if len(vectors) else 1, capacity=len(ids))
        if progress is None:
            index.add(ids, vectors)
            return index
        for start in range(0, len(ids), chunk):
            progress(start, len(ids))
            index.add(ids[start:start + chunk], vectors[start:start + chunk])
        progress(len(ids), len(ids))
        return index


