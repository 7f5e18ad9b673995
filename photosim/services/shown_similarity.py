"""The similarity a person is shown for a result of `similar` (CLI and window).

For the plain and trained versions it is the cosine itself. In a version adapted to the library
(core/adapt.py) the cosine says little: augmented vectors and expanded queries put a photo's first
ten results all near 0.99, right or wrong, and unrelated photos near 0. There the number shown is
the cosine placed among the library's own best matches: the share of the similarities between
sample photos of this library and their ``k`` nearest photos (k of the query expansion) that are
lower. 0.9 reads "as close as the best matches of a photo here usually are", 0.1 "like a typical
photo's tenth result", 0 "further than any of them". It rises with the cosine, so it never
reorders results. `similar --json` keeps the raw cosine in "similarity" and adds this as "score".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..store import model_versions as versions
from ..store.library import Library
from .models import cached, expand_queries, expansion, refresh

#: Sample photos whose first results make the scale (a few hundred quantiles' worth: each gives k).
SAMPLE = 400
LEVELS = np.linspace(0.0, 1.0, 101)
SUMMARY_KEY = "shown_scale"


@dataclass(frozen=True)
class Scale:
    """The cosine at each percentile (0..100) of the library's best-match similarities."""

    quantiles: np.ndarray

    def shown(self, raw: float | np.ndarray) -> float | np.ndarray:
        out = np.interp(raw, self.quantiles, LEVELS, left=0.0, right=1.0)
        return float(out) if np.ndim(out) == 0 else out

    def raw_floor(self, shown: float) -> float:
        """The lowest cosine shown as at least ``shown`` (for a "similarity ≥" filter)."""
        if shown <= 0.0:
            return -1.0
        return float(np.interp(shown, LEVELS, self.quantiles))


def scale(lib: Library, model: int) -> Scale | None:
    """The scale of ``model`` (None: the cosine is shown as it is). Kept in the version's summary
    when adaptation or training wrote it there, else measured once per process."""
    if expansion(lib, model) is None:
        return None

    def make() -> Scale | None:
        with lib.db.session() as s:
            row = versions.get_model(s, model)
            stored = row.summary.get(SUMMARY_KEY) if row is not None else None
        return Scale(np.asarray(stored, np.float32)) if stored else measure(lib, model)

    return cached(SUMMARY_KEY, lib, model, make)


def measure(lib: Library, model: int, seed: int = 0) -> Scale | None:
    """Query ``SAMPLE`` library photos as `similar` does and take the quantiles of their first k similarities."""
    projection = expansion(lib, model)
    index = lib.index(model)
    if projection is None or index.count() < 2:
        return None
    ids = np.sort(index.ids())
    if len(ids) > SAMPLE:
        ids = np.sort(np.random.default_rng(seed).choice(ids, SAMPLE, replace=False))
    vectors = index.vectors(ids)
    queries = expand_queries(lib, model, index, vectors, ids.tolist())
    found, sims = index.query(queries, projection.k + 1)
    sims = sims[found != ids[:, None]]  # each photo's own entry left out
    return Scale(np.quantile(sims, LEVELS).astype(np.float32)) if len(sims) else None


def remember(lib: Library, model: int) -> None:
    """Measure ``model``'s scale now and keep it in its summary (after adapting or training), so
    the first `similar` of a process need not measure it."""
    refresh(SUMMARY_KEY, lib, model)
    measured = measure(lib, model)
    if measured is None:
        return
    with lib.db.session() as s:
        versions.update_summary(s, model, **{SUMMARY_KEY: [round(float(q), 6) for q in measured.quantiles]})
