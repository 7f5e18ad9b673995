"""Apply a stored adapter with numpy alone.

Browsing a library whose active model is a trained version still maps new
photos (indexing) and outside query photos (search) through the adapter. That
is a few matrix products, so it needs no torch: an install or bundle without
torch can browse with any model version that the full install trained. The
maths mirrors :class:`photosim.core.train.adapter.Adapter.forward`; the test
suite checks the two agree.
"""
from __future__ import annotations

import io
import json

import numpy as np

FORMAT = 1  # must match adapter.FORMAT: the blob layout both sides read


class NumpyAdapter:
    """The forward pass of a stored adapter blob, in float32 numpy."""

    def __init__(self, blob: bytes) -> None:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ValueError(f"unsupported adapter format {meta.get('format')!r}")
            self.w = {k: np.asarray(data[k], dtype=np.float32) for k in data.files if k != "__meta__"}
        self.config = meta["config"]
        self.kind = self.config.get("kind", "residual")
        self.dim = int(self.config["dim"])

    def apply_numpy(self, vectors: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """(N, D) float32 in, (N, D') unit float32 out, in chunks to bound memory."""
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"expected an (N, {self.dim}) array, got {arr.shape}")
        parts = [self._forward(arr[start:start + chunk]) for start in range(0, arr.shape[0], chunk)]
        out_dim = self.w["proj.weight"].shape[0] if self.kind == "projection" else self.dim
        return np.concatenate(parts) if parts else np.empty((0, out_dim), dtype=np.float32)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        y = x @ self.w[f"{name}.weight"].T
        bias = self.w.get(f"{name}.bias")
        return y + bias if bias is not None else y

    def _forward(self, x: np.ndarray) -> np.ndarray:
        x = x - self.w.get("shift", np.float32(0.0))
        if self.kind == "residual":
            y = x + self._linear(np.maximum(self._linear(x, "inner"), 0.0), "outer")
        elif self.kind == "lowrank":
            y = x + self._linear(self._linear(x, "inner"), "outer")
        else:
            y = self._linear(x, "proj")
        norms = np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)  # as F.normalize
        return (y / norms).astype(np.float32)
