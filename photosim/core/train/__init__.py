"""Fine-tuning on user labels (adapting to the library without labels is core/adapt.py).

Pure numpy/torch: the trained model is an adapter on stored base vectors, so
training and applying it never touch images, the database or the GUI.
"""
from __future__ import annotations

import importlib

# Resolved on first use (PEP 562) so that torch-free modules of this package
# (strategies, apply) can be imported where torch is not installed.
_EXPORTS = {"Adapter": ".adapter", "AdapterConfig": ".adapter", "TrainOptions": ".trainer",
            "TrainResult": ".trainer", "train": ".trainer",
            "adapted_options": ".trainer"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
