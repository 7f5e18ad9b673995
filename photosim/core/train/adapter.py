"""The trainable part: an adapter from stored base vectors to new unit vectors.

Applying a new model version to a 100,000-photo library must take under a
minute, which rules out re-running the CNN. So the trained part works on what
the store keeps, the backbone's pooled, L2-normalised float32 base vectors
(dimension D, whatever layer/pooling the store uses): ``f: R^D -> S^(D'-1)``.

Kinds:

- ``residual`` (default): ``normalize(x + W2 relu(W1 x + b1) + b2)`` with W2
  and b2 zero at init, so the untrained adapter is exactly the identity and
  training starts from the library's current, already good, similarity.
- ``lowrank``: ``normalize(x + B A x)``, B zero at init; linear and cheaper.
- ``projection``: ``normalize(W x)`` to ``out_dim``; the plain head, kept for
  the benchmark because it is the design that hurt unlabelled classes.

Weights serialise to plain numpy arrays plus a JSON config (``to_bytes`` /
``from_bytes``, no pickle), so the store can keep a model version as a blob.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("residual", "lowrank", "projection")
FORMAT = 1


@dataclass(frozen=True)
class AdapterConfig:
    """Shape of an adapter; together with the weights it identifies a model version."""

    dim: int
    kind: str = "residual"
    hidden: int = 256
    out_dim: int = 256

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown adapter kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.dim < 1 or self.hidden < 1 or self.out_dim < 1:
            raise ValueError("adapter dimensions must be positive")

    @property
    def output_dim(self) -> int:
        return self.out_dim if self.kind == "projection" else self.dim


class Adapter(nn.Module):
    """Base vector (N, D) in, unit vector (N, D') out."""

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__()
        self.config = config
        d, h = config.dim, config.hidden
        # Subtracted before everything else; zero (identity) unless set, e.g.
        # to the library mean by the self-supervised adapt (centring alone
        # helps retrieval: the mean direction is shared by all photos).
        self.register_buffer("shift", torch.zeros(d))
        if config.kind == "residual":
            self.inner = nn.Linear(d, h)
            self.outer = nn.Linear(h, d)
            nn.init.zeros_(self.outer.weight)
            nn.init.zeros_(self.outer.bias)
        elif config.kind == "lowrank":
            self.inner = nn.Linear(d, h, bias=False)
            self.outer = nn.Linear(h, d, bias=False)
            nn.init.zeros_(self.outer.weight)
        else:
            self.proj = nn.Linear(d, config.out_dim, bias=False)
            nn.init.orthogonal_(self.proj.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kind = self.config.kind
        x = x - self.shift
        if kind == "residual":
            y = x + self.outer(F.relu(self.inner(x)))
        elif kind == "lowrank":
            y = x + self.outer(self.inner(x))
        else:
            y = self.proj(x)
        return F.normalize(y, dim=1)

    # -- applying to a library -------------------------------------------------

    def apply_numpy(self, vectors: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """Map an (N, D) float32 array in chunks; returns (N, D') unit float32.

        Chunking bounds memory for big libraries; one chunk of 16k x 1280 is a
        few hundred MB of activations at most and the whole of 100k photos
        takes seconds on one core.
        """
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != self.config.dim:
            raise ValueError(f"expected an (N, {self.config.dim}) array, got {arr.shape}")
        out = np.empty((arr.shape[0], self.config.output_dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        with torch.inference_mode():
            for start in range(0, arr.shape[0], chunk):
                block = torch.from_numpy(np.ascontiguousarray(arr[start : start + chunk]))
                out[start : start + chunk] = self(block).numpy()
        self.train(was_training)
        return out

    # -- serialisation ----------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Weights as float32 numpy arrays keyed by parameter name."""
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}

    def to_bytes(self) -> bytes:
        """An .npz blob: the weights plus the JSON config (no pickle)."""
        buf = io.BytesIO()
        meta = json.dumps({"format": FORMAT, "config": asdict(self.config)}).encode()
        np.savez(buf, __meta__=np.frombuffer(meta, dtype=np.uint8), **self.to_arrays())
        return buf.getvalue()

    @classmethod
    def from_arrays(cls, config: AdapterConfig, arrays: dict[str, Any]) -> "Adapter":
        model = cls(config)
        state = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in arrays.items()}
        model.load_state_dict(state)
        return model.eval()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Adapter":
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ValueError(f"unsupported adapter format {meta.get('format')!r}")
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
        return cls.from_arrays(AdapterConfig(**meta["config"]), arrays)
