"""Learning past the labels: a pretext task on the library's own photos (numpy only, like core/adapt.py).

The adaptation (core/adapt.py) keeps the directions along which the library varies; this step
learns which of them survive what does not change a photo's content. Each photo of a sample gets
a few augmented *views* (crops, flips, light and colour changes of its network input, embedded by
the same frozen network). A linear head, started from the adaptation's projection, learns to tell
each view's photo among the others (instance discrimination, NT-Xent); half of the time the
positive is a view of one of the photo's mutual nearest neighbours instead, so the head also pulls
together what the library already groups. The head's space joined to the projection's (each unit
vector scaled by 1/sqrt 2, so a cosine is the mean of both) is the *ensemble* that `similar` then
augments and expands exactly as the adaptation does. docs/eval.md measures every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from .adapt import Projection
from .expansion import exact_neighbours

#: Augmented views made per sampled photo.
VIEWS = 3
#: Random resized crop: share of the area kept and aspect range; light and colour changes.
CROP_AREA = (0.25, 1.0)
CROP_ASPECT = (3 / 4, 4 / 3)
BRIGHTNESS, SHIFT, SATURATION, GREY_P = (0.7, 1.3), 25.0, (0.6, 1.4), 0.2


def make_views(pixels: np.ndarray, rng: np.random.Generator, count: int = VIEWS) -> np.ndarray:
    """``count`` augmented copies of a network input (S, S, 3) uint8, each resized back to S x S."""
    size = pixels.shape[0]
    image = Image.fromarray(pixels)
    out = np.empty((count, *pixels.shape), np.uint8)
    for v in range(count):
        area = rng.uniform(*CROP_AREA) * size * size
        aspect = np.exp(rng.uniform(np.log(CROP_ASPECT[0]), np.log(CROP_ASPECT[1])))
        w = int(round(min(size, np.sqrt(area * aspect))))
        h = int(round(min(size, np.sqrt(area / aspect))))
        x, y = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        view = np.asarray(image.resize((size, size), Image.BILINEAR, box=(x, y, x + w, y + h)), np.float32)
        if rng.random() < 0.5:
            view = view[:, ::-1]
        view = view * rng.uniform(*BRIGHTNESS) + rng.uniform(-SHIFT, SHIFT)
        grey = view @ np.array([0.299, 0.587, 0.114], np.float32)
        if rng.random() < GREY_P:
            view = np.repeat(grey[..., None], 3, axis=2)
        else:
            view = grey[..., None] + rng.uniform(*SATURATION) * (view - grey[..., None])
        out[v] = np.clip(view, 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class PretextOptions:
    tau: float = 0.5          # NT-Xent temperature; 0.1-0.2 forgot scenes (docs/eval.md)
    batch: int = 256          # photos a step (two views each)
    steps: int = 300
    #: How far Adam may move the head in all, in units of a unit row's entry (1/sqrt D): its step is
    #: move / (sqrt D * steps). Past about 4 the head forgets what ImageNet knows (docs/eval.md).
    move: float = 2.0
    neighbour_share: float = 0.5  # how often the positive is a view of a mutual neighbour
    mutual_k: int = 5


def mutual_neighbours(adapted: np.ndarray, k: int) -> list[np.ndarray]:
    """Each row's mutual ``k`` nearest rows (i among j's and j among i's), by exact search."""
    idx, _ = exact_neighbours(adapted, k)
    sets = [set(row.tolist()) for row in idx]
    return [np.array([j for j in row if i in sets[j]], np.int64) for i, row in enumerate(idx)]


def train_head(views: np.ndarray, init: Projection, neighbours: list[np.ndarray] | None = None,
               options: PretextOptions = PretextOptions(), seed: int = 0,
               on_step: Callable[[int, int, float], bool] | None = None) -> np.ndarray | None:
    """The head (d x D), learned from ``views`` (N photos, V views, D) by NT-Xent with Adam,
    started from ``init``'s components and fed inputs centred on its mean. ``on_step(step, steps,
    loss)`` after each step returns whether to go on; None when it said stop."""
    n, v, _ = views.shape
    if n < 2 or v < 2:
        raise ValueError(f"the pretext task needs two photos with two views each, got {views.shape}")
    rng = np.random.default_rng(seed)
    centred = (views - init.mean).astype(np.float32)
    w = init.components.astype(np.float32).copy()
    m, s = np.zeros_like(w), np.zeros_like(w)
    lr = options.move / (np.sqrt(w.shape[1]) * options.steps)
    batch = min(options.batch, n)
    for step in range(1, options.steps + 1):
        photos = rng.choice(n, batch, replace=False)
        a, b = _pair_views(centred, photos, neighbours, options.neighbour_share, rng)
        loss, grad = _nt_xent(w, np.concatenate([a, b]), options.tau)
        m = 0.9 * m + 0.1 * grad  # Adam, its usual betas
        s = 0.999 * s + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(s / (1 - 0.999 ** step)) + 1e-8)
        if on_step is not None and not on_step(step, options.steps, loss):
            return None
    return w


def _pair_views(centred: np.ndarray, photos: np.ndarray, neighbours, share: float, rng) -> tuple:
    """Two views per photo: two of its own, or (``share`` of the time) one of its and one of a mutual neighbour's."""
    v = centred.shape[1]
    first = rng.integers(0, v, len(photos))
    second = (first + rng.integers(1, v, len(photos))) % v  # another of its own views
    partner = photos.copy()
    if neighbours is not None and share > 0:
        for row, i in enumerate(photos):
            if len(neighbours[i]) and rng.random() < share:
                partner[row] = rng.choice(neighbours[i])
                second[row] = rng.integers(0, v)
    return centred[photos, first], centred[partner, second]


def _nt_xent(w: np.ndarray, x: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """Symmetric NT-Xent of 2B inputs (row i's positive is row i +- B) through z = unit(x W^T), and dL/dW."""
    h = x @ w.T
    norm = np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    z = h / norm
    sim = (z @ z.T) / tau
    half = len(x) // 2
    positive = np.concatenate([np.arange(half, 2 * half), np.arange(half)])
    np.fill_diagonal(sim, -np.inf)
    sim -= sim.max(axis=1, keepdims=True)
    p = np.exp(sim)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(x))
    loss = float(-np.log(np.maximum(p[rows, positive], 1e-30)).mean())
    g = p
    g[rows, positive] -= 1.0
    g /= len(x)  # dL/dsim
    dz = (g + g.T) @ z / tau
    dh = (dz - z * np.sum(z * dz, axis=1, keepdims=True)) / norm
    return loss, (dh.T @ x).astype(np.float32)


def ensemble(projection: Projection, head: np.ndarray) -> Projection:
    """The projection joined by the head: its vectors are [unit PCA, unit head] / sqrt 2."""
    return Projection(projection.mean, projection.components, projection.k, projection.alpha,
                      head=np.ascontiguousarray(head, np.float32))
