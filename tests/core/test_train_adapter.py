"""Adapter: identity at init, serialisation, chunked apply, seeded training that works."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from photosim.core.train import Adapter, AdapterConfig, TrainOptions, train


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def toy_classes(seed: int = 0, per: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Four classes told apart by 4 weak dimensions, drowned in 12 noisy ones.

    Nearest neighbours in the raw space are mostly wrong; an adapter that has
    learnt to weigh the class dimensions up gets them mostly right.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), per)
    x = np.concatenate([np.eye(4)[labels] * 0.5, rng.normal(scale=0.5, size=(len(labels), 12))], axis=1)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def class_triplets(labels: np.ndarray, idx: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        a, p = rng.choice(idx[labels[idx] == labels[idx][rng.integers(len(idx))]], 2, replace=False)
        neg = rng.choice(idx[labels[idx] != labels[a]])
        rows.append((a, p, neg))
    return np.array(rows)


def nn_accuracy(x: np.ndarray, labels: np.ndarray) -> float:
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    return float((labels[s.argmax(1)] == labels).mean())


@pytest.mark.parametrize("kind", ["residual", "lowrank"])
def test_identity_at_init(kind: str) -> None:
    x = unit(np.random.default_rng(1), 50, 16)
    out = Adapter(AdapterConfig(dim=16, kind=kind, hidden=8)).apply_numpy(x)
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_projection_outputs_unit_vectors_of_out_dim() -> None:
    x = unit(np.random.default_rng(1), 10, 16)
    out = Adapter(AdapterConfig(dim=16, kind="projection", out_dim=4)).apply_numpy(x)
    assert out.shape == (10, 4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_bytes_roundtrip_and_chunking() -> None:
    torch.manual_seed(0)
    model = Adapter(AdapterConfig(dim=16, hidden=8))
    with torch.no_grad():
        model.outer.weight.normal_()  # leave the identity so the round trip is not trivial
    x = unit(np.random.default_rng(2), 37, 16)
    expected = model.apply_numpy(x)
    assert np.abs(expected - x).max() > 0.05
    again = Adapter.from_bytes(model.to_bytes())
    assert again.config == model.config
    np.testing.assert_allclose(again.apply_numpy(x, chunk=5), expected, atol=1e-6)


def test_apply_rejects_wrong_dim() -> None:
    with pytest.raises(ValueError):
        Adapter(AdapterConfig(dim=16)).apply_numpy(np.zeros((3, 8), np.float32))


@pytest.mark.slow
def test_training_separates_toy_classes_and_is_seeded() -> None:
    x, labels = toy_classes()
    lab = np.concatenate([np.flatnonzero(labels == c)[:10] for c in range(4)])
    test = np.setdiff1d(np.arange(len(x)), lab)
    trip = class_triplets(labels, lab, 80, seed=3)
    opts = TrainOptions(epochs=60, lr=3e-3, hidden=32, preserve_weight=0.1)
    steps: list[tuple[int, int, float]] = []
    res = train(x, trip, None, opts, progress=lambda s, t, loss: steps.append((s, t, loss)), seed=7)
    before = nn_accuracy(x[test], labels[test])
    after = nn_accuracy(res.adapter.apply_numpy(x)[test], labels[test])
    assert after > before + 0.1, (before, after)
    assert len(steps) == res.summary["steps"] == res.summary["total_steps"] == 60
    assert steps[-1][2] < steps[0][2]  # the loss went down
    again = train(x, trip, None, opts, seed=7)
    np.testing.assert_array_equal(again.adapter.apply_numpy(x), res.adapter.apply_numpy(x))
    other = train(x, trip, None, opts, seed=8)
    assert not np.array_equal(other.adapter.apply_numpy(x), res.adapter.apply_numpy(x))


def test_stop_returns_partial_adapter() -> None:
    x, labels = toy_classes()
    trip = class_triplets(labels, np.arange(len(x)), 30, seed=1)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    res = train(x, trip, None, TrainOptions(epochs=50), should_stop=stop, seed=0)
    assert res.summary["stopped"] is True
    assert res.summary["steps"] == 5
    assert res.adapter.apply_numpy(x).shape == x.shape


@pytest.mark.slow
def test_preservation_keeps_unlabelled_geometry() -> None:
    """With the library term, photos of an unlabelled class keep their ranking."""
    x, labels = toy_classes(seed=4)
    lab = np.flatnonzero(labels < 2)
    trip = class_triplets(labels, lab, 100, seed=2)
    far = np.flatnonzero(labels >= 2)

    def drift(opts: TrainOptions) -> float:
        out = train(x, trip, None, opts, seed=0).adapter.apply_numpy(x)
        return float(np.abs(out[far] @ out[far].T - x[far] @ x[far].T).mean())

    kept = drift(TrainOptions(epochs=60, lr=3e-3, hidden=32, preserve_weight=3.0))
    free = drift(TrainOptions(epochs=60, lr=3e-3, hidden=32, preserve="none"))
    assert kept < 0.5 * free, (kept, free)


def test_a_library_term_weighed_per_photo_lets_few_labels_move_the_library_less() -> None:
    """``per_photo`` scales the library term by (library photos / labelled photos) in a step: with
    a handful of labelled photos the rest of the library drifts less than at the plain weight."""
    x, labels = toy_classes(seed=4)
    few = np.concatenate([np.flatnonzero(labels == c)[:3] for c in range(2)])  # 6 labelled photos
    trip = class_triplets(labels, few, 20, seed=2)
    far = np.flatnonzero(labels >= 2)

    def drift(per_photo: bool) -> float:
        opts = TrainOptions(epochs=60, lr=3e-3, hidden=32, preserve="kl", preserve_weight=0.3, temperature=0.3,
                            per_photo=per_photo)
        out = train(x, trip, None, opts, seed=0).adapter.apply_numpy(x)
        return float(np.abs(out[far] @ out[far].T - x[far] @ x[far].T).mean())

    assert drift(True) < 0.7 * drift(False), (drift(True), drift(False))


def test_adapted_options_follow_the_distance_scale() -> None:
    """In an adapted library the margin is a share of the vectors' median squared distance; what
    the caller gives explicitly wins."""
    from photosim.core.train.trainer import ADAPTED_MARGIN_SHARE, adapted_options, median_squared_distance

    rng = np.random.default_rng(0)
    spread = unit(rng, 500, 32)  # unrelated directions: squared distances about 2
    x = unit(rng, 500, 32) * 0.4 + 1.0  # photos around one shared direction: much closer together
    tight = x / np.linalg.norm(x, axis=1, keepdims=True)
    wide, near = median_squared_distance(spread), median_squared_distance(tight)
    assert 1.8 < wide < 2.2 and near < 0.5
    assert adapted_options(spread).margin == pytest.approx(ADAPTED_MARGIN_SHARE * wide, abs=1e-3)
    assert adapted_options(tight).margin == pytest.approx(ADAPTED_MARGIN_SHARE * near, abs=1e-3)
    assert adapted_options(spread).preserve == "kl" and adapted_options(spread).mining == "semi-hard"
    assert adapted_options(spread, margin=0.3, epochs=7).margin == 0.3
    assert adapted_options(spread, margin=0.3, epochs=7).epochs == 7
    # The adapter as wide as the space; the anchors expanded as the library's `similar` expands.
    assert adapted_options(spread).hidden == 32 and adapted_options(spread).expand == 0
    assert adapted_options(spread, expand=10, expand_alpha=3.0).expand == 10
    assert adapted_options(spread, expand=10, expand_alpha=3.0).expand_alpha == 3.0


def expanded_queries(x: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Every row asked as `similar` asks in an adapted library: itself plus its k nearest, weighted."""
    from photosim.core.expansion import exact_neighbours, weighted_mean

    idx, sims = exact_neighbours(x, k)
    return weighted_mean(x, x[idx], sims, alpha)


def expanded_accuracy(x: np.ndarray, labels: np.ndarray, rows: np.ndarray, k: int, alpha: float) -> float:
    """Share of ``rows`` whose expanded query finds a photo of their class first (itself left out)."""
    s = expanded_queries(x, k, alpha)[rows] @ x.T
    s[np.arange(len(rows)), rows] = -np.inf
    return float((labels[s.argmax(1)] == labels[rows]).mean())


@pytest.mark.slow
def test_training_with_expanded_anchors_improves_expanded_queries() -> None:
    """With ``expand``, the loss sees each anchor as an expanded query, and what training wins
    shows in the expanded queries of photos it never saw."""
    x, labels = toy_classes()
    lab = np.concatenate([np.flatnonzero(labels == c)[:10] for c in range(4)])
    test = np.setdiff1d(np.arange(len(x)), lab)
    trip = class_triplets(labels, lab, 80, seed=3)
    opts = TrainOptions(epochs=60, lr=3e-3, hidden=16, preserve_weight=0.1, expand=5, expand_alpha=2.0)
    res = train(x, trip, None, opts, seed=7)
    assert res.summary["options"]["expand"] == 5
    before = expanded_accuracy(x, labels, test, 5, 2.0)
    after = expanded_accuracy(res.adapter.apply_numpy(x), labels, test, 5, 2.0)
    assert after > before + 0.1, (before, after)
    # The expansion is in the loss: without it the same seed trains another adapter.
    plain = train(x, trip, None, TrainOptions(epochs=60, lr=3e-3, hidden=16, preserve_weight=0.1), seed=7)
    assert not np.allclose(plain.adapter.apply_numpy(x), res.adapter.apply_numpy(x), atol=1e-4)
