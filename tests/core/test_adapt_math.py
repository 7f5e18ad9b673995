"""core/adapt.py on generated vectors: the projection is the library's principal subspace, it
survives storage, and augmentation / expansion pull a vector towards its own group."""
from __future__ import annotations

import numpy as np

from photosim.core import adapt as A
from photosim.core import expansion as E
from photosim.core.index import VectorIndex
from photosim.services.models import augment_new


def clustered(n_groups: int = 12, per_group: int = 30, dim: int = 200, seed: int = 0):
    """Unit vectors around a shared mean direction plus one centre per group (like CNN features:
    all similar to each other, groups told apart by small differences)."""
    rng = np.random.default_rng(seed)
    shared = np.abs(rng.normal(size=dim)) * 3
    centres = rng.normal(size=(n_groups, dim))
    labels = np.repeat(np.arange(n_groups), per_group)
    x = shared + centres[labels] + 2.5 * rng.normal(size=(len(labels), dim))
    return E.normalise(x.astype(np.float32)), labels


def precision_at(vectors, labels, queries=None, k=5):
    q = vectors if queries is None else queries
    s = q @ vectors.T
    np.fill_diagonal(s, -np.inf)
    top = np.argsort(-s, axis=1)[:, :k]
    return float((labels[top] == labels[:, None]).mean())


def test_projection_is_the_principal_subspace_and_round_trips():
    x, _ = clustered()
    p = A.fit_projection(x)
    assert p.dim == A.choose_dim(len(x), x.shape[1]) and A.MIN_DIM <= p.dim <= A.MAX_DIM
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(p.dim), atol=1e-4)
    # the same subspace as an exact SVD of the centred data (principal angles ~ 0)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    sv = np.linalg.svd(p.components[:20] @ vt[:p.dim].T, compute_uv=False)
    assert sv.min() > 0.99
    y = p.apply(x)
    assert y.shape == (len(x), p.dim) and np.allclose(np.linalg.norm(y, axis=1), 1, atol=1e-5)
    again = A.Projection.from_bytes(p.to_bytes())
    np.testing.assert_array_equal(again.apply(x), y)
    assert (again.k, again.alpha) == (p.k, p.alpha)


def test_each_step_pulls_photos_towards_their_group():
    x, labels = clustered()
    plain = precision_at(x, labels)
    p = A.fit_projection(x)
    projected = p.apply(x)
    augmented = E.augment(projected, A.K, A.ALPHA)
    idx, sims = E.exact_neighbours(augmented, A.K)
    expanded = E.weighted_mean(augmented, augmented[idx], sims, A.ALPHA)
    steps = [plain, precision_at(projected, labels), precision_at(augmented, labels),
             precision_at(augmented, labels, expanded)]
    assert steps[0] < 0.85 and all(b > a for a, b in zip(steps, steps[1:])), steps


def test_photos_added_later_match_a_fresh_augmentation():
    """A photo augmented from the index of the others ends up close to where a fresh adaptation puts it."""
    x, labels = clustered()
    p = A.fit_projection(x)
    projected = p.apply(x)
    fresh = E.augment(projected, A.K, A.ALPHA)
    old, new = np.arange(len(x) - 20), np.arange(len(x) - 20, len(x))
    index = VectorIndex.build(old, fresh[old])
    late = augment_new(p, index, projected[new])
    cos = (late * fresh[new]).sum(axis=1)
    assert cos.min() > 0.9, cos.min()


def test_exact_neighbours_leave_the_photo_itself_out():
    x, _ = clustered(n_groups=3, per_group=5)
    idx, sims = E.exact_neighbours(x, 4)
    assert not (idx == np.arange(len(x))[:, None]).any()
    assert (np.diff(sims, axis=1) <= 1e-6).all()
