"""The pretext task's maths (core/pretext.py) and the ensemble projection (core/adapt.py), on made-up vectors."""
from __future__ import annotations

import numpy as np

from photosim.core import pretext as pt
from photosim.core.adapt import Projection, fit_projection



def test_the_loss_gradient_is_the_loss_derivative():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 5)), rng.standard_normal((3, 5))
    _, grad = pt._nt_xent(w, x, 0.5)
    numeric = np.zeros_like(w)
    for i in range(3):
        for j in range(5):
            step = np.zeros_like(w)
            step[i, j] = 1e-6
            numeric[i, j] = (pt._nt_xent(w + step, x, 0.5)[0] - pt._nt_xent(w - step, x, 0.5)[0]) / 2e-6
    assert np.abs(numeric - grad).max() < 1e-6 * max(1.0, np.abs(grad).max())


def _library(n: int = 120, d: int = 32, seed: int = 0):
    """Photos around 6 centres; each photo's views are it plus the noise a crop or light change adds."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, d))
    base = centres[rng.integers(0, 6, n)] + 0.6 * rng.standard_normal((n, d))
    views = base[:, None] + 0.5 * rng.standard_normal((n, 3, d))
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    return unit(base).astype(np.float32), unit(np.concatenate([base[:, None], views], 1)).astype(np.float32)


def test_training_lowers_the_loss_and_stops_when_asked():
    base, views = _library()
    init = fit_projection(base, n_photos=len(base))
    losses: list[float] = []
    head = pt.train_head(views, init, pt.mutual_neighbours(init.apply(base), 5), pt.PretextOptions(steps=60), 0,
                         lambda step, total, loss: losses.append(loss) or True)
    assert head.shape == init.components.shape and len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert not np.allclose(head, init.components)  # it moved, from the projection it started at
    seen: list[int] = []
    assert pt.train_head(views, init, None, pt.PretextOptions(steps=60), 0,
                         lambda step, total, loss: seen.append(step) or step < 5) is None
    assert seen == [1, 2, 3, 4, 5]


def test_the_ensemble_is_both_spaces_at_once_and_survives_storage():
    base, views = _library()
    projection = fit_projection(base, n_photos=len(base))
    head = np.random.default_rng(1).standard_normal(projection.components.shape).astype(np.float32)
    both = pt.ensemble(projection, head)
    v = both.apply(base)
    assert v.shape == (len(base), 2 * projection.dim) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    plain, alone = projection.apply(base), Projection(projection.mean, head).apply(base)
    assert np.allclose(v @ v.T, (plain @ plain.T + alone @ alone.T) / 2, atol=1e-5)  # the mean of both cosines
    again = Projection.from_bytes(both.to_bytes())
    assert np.array_equal(again.head, both.head) and np.allclose(again.apply(base), v)
    older = Projection.from_bytes(projection.to_bytes())  # no head: as libraries adapted before it stored
    assert older.head is None and older.dim == projection.dim


def test_views_are_changed_copies_of_the_network_input_made_the_same_way_each_time():
    pixels = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    views = pt.make_views(pixels, np.random.default_rng(7))
    assert views.shape == (pt.VIEWS, 224, 224, 3) and views.dtype == np.uint8
    assert all(not np.array_equal(v, pixels) for v in views)
    assert np.array_equal(views, pt.make_views(pixels, np.random.default_rng(7)))
