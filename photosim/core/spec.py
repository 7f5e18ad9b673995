"""What makes the base embedding (layer, pooling, input size): a plain value, importable without torch.

Kept apart from core/backbone.py so the store, the CLI's argument parser and a
rescan that embeds nothing never pay torch's import (seconds on a small
machine); backbone.py re-exports everything here.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Layers the embedding can be cut after: the seven MBConv stages and the 1x1 head.
LAYERS = ("blocks.3", "blocks.4", "blocks.5", "blocks.6", "head")
POOLINGS = ("mean", "max", "gem")
INPUT_SIZE = 224


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which layer and pooling make the base embedding; part of a model version's identity."""

    layer: str = "head"
    pooling: str = "gem"
    gem_p: float = 1.5  # measured best in docs/eval.md
    size: int = INPUT_SIZE

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ValueError(f"unknown layer {self.layer!r}; choose one of {', '.join(LAYERS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")

    @property
    def key(self) -> str:
        p = f"{self.gem_p:g}" if self.pooling == "gem" else ""
        return f"lite0-{self.layer}-{self.pooling}{p}-{self.size}"
