"""The HNSW index: recall against exact search, each query at its own width, atomic save and reload."""
from __future__ import annotations

import os

import numpy as np

from photosim.core.index import EF_DUPLICATES, EF_SEARCH, VectorIndex
from support.reference import exact_knn


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_recall_at_10_against_exact_search():
    vectors = _unit(5000, 64)
    ids = np.arange(100, 5100)
    index = VectorIndex.build(ids, vectors)
    queries = _unit(200, 64, seed=1)
    got, sims = index.query(queries, 10)
    truth = ids[exact_knn(vectors, queries, 10)]
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)])
    assert recall >= 0.95
    # similarities are cosines, best first
    assert np.all(np.diff(sims, axis=1) <= 1e-6)
    exact = np.take_along_axis(queries @ vectors.T, got - 100, axis=1)
    np.testing.assert_allclose(sims, exact, atol=1e-4)


def test_save_is_atomic_and_load_restores_search(tmp_path):
    vectors = _unit(300, 16)
    index = VectorIndex.build(np.arange(300), vectors)
    path = tmp_path / "index.hnsw"
    index.save(str(path))
    assert [p for p in os.listdir(tmp_path) if p != "index.hnsw"] == []  # no temp file left behind
    loaded = VectorIndex.load(str(path), 16)
    assert loaded.count() == 300
    np.testing.assert_array_equal(loaded.query(vectors[:5], 1)[0][:, 0], np.arange(5))
    queries = _unit(20, 16, seed=3)
    for ef in (EF_DUPLICATES, EF_SEARCH):
        np.testing.assert_array_equal(loaded.query(queries, 10, ef=ef)[0], index.query(queries, 10, ef=ef)[0])


def test_each_query_searches_at_its_own_width():
    """The width comes with the query (nothing is left set on the index): a narrow search after a
    wide one, or the other way round, is the same search, and the wide one finds more."""
    vectors = _unit(10000, 64)
    index = VectorIndex.build(np.arange(10000), vectors)
    queries = _unit(200, 64, seed=2)
    truth = exact_knn(vectors, queries, 10)

    def recall(got: np.ndarray) -> float:
        return float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))

    narrow = index.query(queries, 10, ef=EF_DUPLICATES)[0]
    wide = index.query(queries, 10)[0]
    np.testing.assert_array_equal(index.query(queries, 10, ef=EF_DUPLICATES)[0], narrow)
    np.testing.assert_array_equal(index.query(queries, 10, ef=EF_SEARCH)[0], wide)
    assert recall(wide) >= 0.97 and recall(wide) > recall(narrow) + 0.02, (recall(wide), recall(narrow))


def test_add_grows_the_index_and_replaces_a_label():
    index = VectorIndex(8, capacity=16)
    v = _unit(40, 8)
    index.add(np.arange(40), v)
    assert index.count() == 40
    index.add(np.array([3]), v[7:8])  # photo 3 re-embedded: its vector is replaced
    ids, sims = index.query(v[7], 2)
    assert set(ids[0]) == {3, 7} and sims[0][0] > 0.999
