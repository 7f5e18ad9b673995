"""`similar` and `dupes` searching one library at the same time (the window runs four workers):
each search keeps its own width, so similar's recall does not drop while duplicates are searched.

The library is real (SQLite file, hnswlib index built by the store) but its vectors are random
unit vectors: on a few hundred real photos a narrow beam finds the exact neighbours anyway, so a
search run at the duplicates' width would go unnoticed; on 10,000 random 64-d vectors it finds
about 92% of them against 99.7% at similar's width (checked below, so the test keeps its power).
"""
from __future__ import annotations

import threading

import numpy as np

from photosim.core.index import EF_DUPLICATES
from support.reference import exact_knn
from photosim.core.types import DecodedPhoto
from photosim.services.duplicates import find_duplicates
from photosim.services.similar import similar
from photosim.store import repositories as repo

N, DIM, QUERIES = 10_000, 64, 200


def _fill(lib, vectors: np.ndarray) -> list[str]:
    """Rows and vectors of N photos, through the store's batch writes (the photos have no files:
    similar reads a library photo's stored vector, and dupes runs without the geometric check)."""
    paths = [f"/synthetic/{i:05d}.jpg" for i in range(len(vectors))]
    rows = [DecodedPhoto(path=p, size=1000 + i, mtime_ns=i, content_hash=f"{i:032x}", pixels=np.zeros((1, 1, 3), np.uint8),
                         width=640, height=480, format="JPEG") for i, p in enumerate(paths)]
    with lib.db.session() as s:
        ids = repo.upsert_decoded_many(s, rows)
        repo.put_vectors(s, 0, ids, vectors)
    assert ids == sorted(ids)
    return paths


def test_similar_keeps_its_recall_while_duplicates_are_searched(library):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    paths = _fill(library, vectors)
    index = library.index()
    queries = rng.choice(N, QUERIES, replace=False)
    truth = exact_knn(vectors, vectors[queries], 11)
    row_of = {p: n for n, p in enumerate(paths)}

    def recall(results: list[list[str]]) -> float:
        return float(np.mean([len({row_of[p] for p in got} & (set(t) - {q})) / 10
                              for got, t, q in zip(results, truth, queries)]))

    def ask() -> list[list[str]]:
        return [[n.photo.path for n in similar(library, paths[q], k=10)] for q in queries]

    alone = ask()
    narrow, _ = index.query(vectors[queries], 11, ef=EF_DUPLICATES)
    narrow_recall = recall([[paths[i - 1] for i in row if i - 1 != q][:10] for row, q in zip(narrow, queries)])
    assert recall(alone) >= 0.97 and narrow_recall < recall(alone) - 0.03, (recall(alone), narrow_recall)

    stop, dupes_runs, errors = threading.Event(), [], []

    def duplicates() -> None:  # `dupes` over the whole library, again and again
        try:
            while not stop.is_set():
                find_duplicates(library, 0.9, verify=False)
                dupes_runs.append(1)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def copy_checks() -> None:  # the duplicate-width searches for a few photos that trash and similar make
        try:
            while not stop.is_set():
                index.query(vectors[rng.choice(N, 4)], 11, ef=EF_DUPLICATES)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=duplicates), threading.Thread(target=copy_checks)]
    for w in workers:
        w.start()
    try:
        together = ask()
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert not errors, errors
    assert dupes_runs, "the duplicate search never completed while similar ran"
    assert recall(together) >= recall(alone) - 1e-9
    assert together == alone  # the same search, to the last place: never run at another width
