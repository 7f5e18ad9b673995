"""Adapting the embedding to one library, without labels (numpy only: browsing installs have no torch).

Three steps, measured in docs/eval.md (benchmarks/adapt_eval.py):

1. **Projection** learned on the library's own vectors: centre on the library mean, keep the
   leading principal directions (no whitening: it lowered mAP sharply), L2-normalise. The mean
   direction is shared by every photo and tells none apart; the discarded directions are the ones
   along which this library hardly varies. Centring also makes the cosine of two unrelated photos
   about 0, which is what lets the weights below ignore them without a threshold.
2. **Database-side augmentation** (DBA): each stored vector becomes the weighted mean of itself and
   its nearest neighbours, weight = similarity^alpha (negative similarities count 0). A photo moves
   towards the group it belongs to.
3. **Query expansion** (alpha-QE) at search time: the query is replaced by the same weighted mean
   over its first results, and searched again.

Steps 2 and 3 are one operation, in core/expansion.py.

Because the weights fall to ~0 for unrelated photos (step 1), ``k`` is only a bound on the work:
results changed little between k = 10 and 50 on libraries of 25 to 800 photos.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from .expansion import normalise

FORMAT = 2  # 1: no head; still read
#: Below this many photos the adaptation lowered mAP@50 in more than 1 of 10 random small
#: libraries drawn from caltech101-20 (docs/decisions.md): such a library stays on the plain vector.
MIN_PHOTOS = 32
#: Projection dimension: about 16 photos per kept direction (a covariance direction is estimated
#: reliably from ~10-20 samples per dimension), between 64 and 128 (docs/decisions.md has the
#: widths compared); 128 bounds memory at 1M photos.
MIN_DIM, MAX_DIM, PHOTOS_PER_DIM = 64, 128, 16
#: The projection is fit on at most this many photos (a random sample): 100-300 already gave most of
#: the gain, and 10,000 estimate 128 directions closely while the fit stays a few seconds at any size.
FIT_SAMPLE = 10_000
#: Neighbours used by augmentation and by query expansion, and the weight exponent (alpha 2 was
#: chosen on 10 classes of caltech101-20 and confirmed on the other 10: docs/eval.md).
K = 10
ALPHA = 2.0


def choose_dim(n_photos: int, input_dim: int) -> int:
    return int(min(MAX_DIM, max(MIN_DIM, n_photos // PHOTOS_PER_DIM), input_dim, max(n_photos - 1, 1)))


@dataclass(frozen=True)
class Projection:
    """Centre, project onto ``components`` (d x D rows, orthonormal), normalise. With a ``head``
    (h x D, learned by core/pretext.py) the vector is both unit parts side by side, over sqrt 2."""

    mean: np.ndarray
    components: np.ndarray
    k: int = K
    alpha: float = ALPHA
    head: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.components.shape[0]) + (0 if self.head is None else int(self.head.shape[0]))

    @property
    def input_dim(self) -> int:
        return int(self.components.shape[1])

    def apply(self, vectors: np.ndarray, chunk: int = 65536) -> np.ndarray:
        x = np.asarray(vectors, np.float32)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected an (N, {self.input_dim}) array, got {x.shape}")
        out = np.empty((len(x), self.dim), np.float32)
        for start in range(0, len(x), chunk):
            centred = x[start:start + chunk] - self.mean
            part = normalise(centred @ self.components.T)
            if self.head is not None:
                part = np.concatenate([part, normalise(centred @ self.head.T)], axis=1) / np.float32(np.sqrt(2))
            out[start:start + chunk] = part
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = json.dumps({"format": FORMAT, "k": self.k, "alpha": self.alpha}).encode()
        arrays = {"mean": self.mean.astype(np.float32), "components": self.components.astype(np.float32)}
        if self.head is not None:
            arrays["head"] = self.head.astype(np.float32)
        np.savez(buf, **arrays, __meta__=np.frombuffer(meta, np.uint8))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Projection":
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            if meta.get("format") not in (1, FORMAT):
                raise ValueError(f"unsupported projection format {meta.get('format')!r}")
            head = np.asarray(data["head"], np.float32) if "head" in data.files else None
            return cls(np.asarray(data["mean"], np.float32), np.asarray(data["components"], np.float32),
                       int(meta["k"]), float(meta["alpha"]), head)


def fit_projection(vectors: np.ndarray, n_photos: int | None = None, seed: int = 0,
                   sample: int = FIT_SAMPLE) -> Projection:
    """Learn the projection from ``vectors`` (a sample of the library is enough; ``n_photos`` is
    the library's size, which sets the dimension)."""
    x = np.asarray(vectors, np.float32)
    n_photos = len(x) if n_photos is None else n_photos
    if len(x) > sample:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), sample, replace=False))]
    mean = x.mean(axis=0)
    xc = x - mean
    dim = min(choose_dim(n_photos, x.shape[1]), max(len(x) - 1, 1))
    # The covariance (or, with fewer photos than dimensions, the Gram matrix) is small and square;
    # its leading eigenvectors come from a few rounds of subspace iteration, seconds faster than a
    # full eigendecomposition on a busy 2-core machine and as exact for the directions kept.
    gram = len(xc) < xc.shape[1]
    m = (xc @ xc.T if gram else xc.T @ xc).astype(np.float64)
    vecs = _leading_eigenvectors(m, dim, seed)
    comps = (xc.T.astype(np.float64) @ vecs).T if gram else vecs.T
    comps = comps / np.maximum(np.linalg.norm(comps, axis=1, keepdims=True), 1e-12)
    return Projection(mean.astype(np.float32), np.ascontiguousarray(comps, np.float32))


def _leading_eigenvectors(m: np.ndarray, count: int, seed: int, rounds: int = 4) -> np.ndarray:
    """The ``count`` leading eigenvectors (columns) of the symmetric PSD matrix ``m``."""
    size = m.shape[0]
    width = min(size, count + 32)
    if width >= size // 2:
        vals, vecs = np.linalg.eigh(m)
        return vecs[:, ::-1][:, :count]
    q = np.random.default_rng(seed).standard_normal((size, width))
    for _ in range(rounds):
        q = _orthonormal(m @ q)  # Cholesky QR: several times faster than LAPACK's QR here (docs/decisions.md)
    q = _orthonormal(q)  # once more: Cholesky QR is exact to rounding only when repeated
    vals, small = np.linalg.eigh(q.T @ m @ q)
    return (q @ small[:, ::-1])[:, :count]


def _orthonormal(y: np.ndarray) -> np.ndarray:
    y = y / np.maximum(np.linalg.norm(y, axis=0, keepdims=True), 1e-300)
    chol = np.linalg.cholesky(y.T @ y + 1e-12 * np.eye(y.shape[1]))
    return np.linalg.solve(chol, y.T).T


