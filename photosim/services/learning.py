"""What the library learns by itself, in order: adapt when due (services/adaptation.py), then learn
further on that adaptation from its photos' views (services/pretext.py). `photosim index` (and so
the window's indexing child) runs ``after_index``; `photosim adapt` runs ``adapt_now``."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.types import TaskContext
from ..store.library import Library
from . import adaptation, pretext


@dataclass(frozen=True)
class Learned:
    adapted: adaptation.AdaptResult | None
    refined: pretext.Refined | None

    @property
    def model(self) -> int | None:
        """The version now answering, if either step made one."""
        if self.refined is not None and self.refined.model is not None:
            return self.refined.model
        return self.adapted.model if self.adapted is not None else None


def after_index(lib: Library, ctx: TaskContext, report, allowed: bool = True) -> Learned | None:
    """Adapt when due and learn further when due (``allowed``: not --no-adapt). A cancel of either
    counts as a stopped run (``report``, an IndexReport, is marked cancelled); the library keeps
    the version it had at that moment."""
    if report.cancelled or not allowed:
        return None
    adapted = adaptation.adapt_if_due(lib, ctx)
    refined = pretext.refine_if_due(lib, ctx)
    report.cancelled = ctx.cancelled()
    return Learned(adapted, refined) if adapted is not None or refined is not None else None


def adapt_now(lib: Library, ctx: TaskContext, seed: int = 0, further: bool = True) -> Learned:
    """`photosim adapt`: a fresh adaptation, then (``further``) the pretext step on it."""
    adapted = adaptation.adapt(lib, ctx, seed=seed)
    return Learned(adapted, pretext.refine(lib, ctx, seed=seed) if further else None)
