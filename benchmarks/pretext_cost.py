"""What learning further from the photos' views (services/pretext.py) costs, and what it adds to indexing.

1. Indexing real photos (caltech101-20, 799 small photos: decoding is cheap, so the views' share is
   the largest it can be): a fresh `index` with views (every photo is in the sample at this size)
   against one with the sample set to 0, in the same run.
2. The learning at 10,000 and 100,000 photos (synthetic base vectors made from the real photos'
   embeddings as in search_scale.py, SAMPLE sampled photos with synthetic views): adaptation, then
   the pretext step timed by part (views read, training, the new version's projection, augmentation,
   storing and index), its peak memory (tracemalloc, numpy's buffers included), and `similar`'s
   latency on the new version against the adaptation's.

    python benchmarks/pretext_cost.py [--sizes 10000,100000] [--no-doc]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import CALTECH, ROOT, conditions, publish  # noqa: E402
from search_scale import fill_library, seed_vectors, synthetic  # noqa: E402

DOC = ROOT / "docs" / "eval.md"


def indexing_cost(tmp: str) -> dict:
    """Seconds of `index` on the shared photos with views and without (SAMPLE 0), same run."""
    from photosim.core.types import SimpleContext
    from photosim.services import views
    from photosim.services.indexing import index_folders
    from photosim.store.library import Library

    out, sample_size = {}, views.SAMPLE
    for name, sample in (("without views", 0), ("with views", sample_size), ("without views again", 0)):
        views.SAMPLE = sample
        lib = Library(os.path.join(tmp, name.replace(" ", "-")))
        t = time.perf_counter()
        report = index_folders(lib, [str(CALTECH)], SimpleContext())
        out[name] = time.perf_counter() - t
        with lib.db.session() as s:
            from photosim.store import views as store
            out[name + " photos"] = (report.embedded, store.view_count(s))
        lib.close()
    views.SAMPLE = sample_size
    return out


def learning_cost(tmp: str, n: int, seeds: np.ndarray, queries: int = 100) -> dict:
    from photosim.core.types import SimpleContext
    from photosim.services import pretext, views
    from photosim.services.adaptation import adapt
    from photosim.services.similar import similar
    from photosim.store import repositories as repo
    from photosim.store import views as store
    from photosim.store.library import Library

    rng = np.random.default_rng(n)
    vectors = synthetic(seeds, n, rng)
    lib = Library(os.path.join(tmp, f"lib-{n}"))
    fill_library(lib, vectors)
    with lib.db.session() as s:  # the sample's views: the base vector jittered as a crop or a light change moves it
        ids = np.sort(rng.choice(repo.vector_ids(s, 0), min(views.SAMPLE, n), replace=False))
        _, base = repo.get_vectors(s, 0, ids.tolist())
        noise = rng.normal(0, 0.35 / np.sqrt(base.shape[1]), (len(ids), 3, base.shape[1])).astype(np.float32)
        jittered = base[:, None] + noise
        store.put_views(s, ids.tolist(), jittered / np.linalg.norm(jittered, axis=2, keepdims=True))
    del vectors
    t = time.perf_counter()
    adapted = adapt(lib, SimpleContext())
    adapt_s = time.perf_counter() - t
    paths = _query_paths(lib, adapted.model, queries, rng)
    before = _latency(lib, paths, similar)
    tracemalloc.start()
    t = time.perf_counter()
    steps = []

    class Ctx(SimpleContext):
        def progress(self, done, total, text=""):
            if not steps or steps[-1][0] != text.split(":")[0]:
                steps.append((text.split(":")[0], time.perf_counter()))

    pretext.MIN_AGREEMENT = 0.0  # the cost of the whole step: the new version is always made here
    refined = pretext.refine(lib, Ctx())
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    parts = {name: round(b - a, 1) for (name, a), (_, b) in zip(steps, steps[1:] + [("end", t + seconds)])}
    after = _latency(lib, paths, similar) if refined.model is not None else None
    lib.close()
    return {"n": n, "adapt_s": adapt_s, "refine_s": seconds, "parts": parts, "peak_mb": peak / 2**20,
            "used": refined.model is not None, "agreement": refined.agreement, "similar_before": before,
            "similar_after": after}


def _query_paths(lib, model: int, queries: int, rng) -> list[str]:
    from photosim.store import repositories as repo

    with lib.db.session() as s:
        ids = repo.vector_ids(s, model)
        picks = rng.choice(ids, min(queries, len(ids)), replace=False).tolist()
        photos = repo.photos_by_id(s, picks)
    return [photos[i].path for i in picks]


def _latency(lib, paths: list[str], similar) -> tuple[float, float]:
    similar(lib, paths[0], k=10)  # warm
    times = []
    for path in paths:
        t = time.perf_counter()
        similar(lib, path, k=10)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000), float(np.percentile(times, 95) * 1000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("PHOTOSIM_CACHE", os.path.join(tempfile.gettempdir(), "photosim-bench-cache"))
    before = conditions()
    print("conditions:", before, flush=True)
    from photosim.core.embed import make_engine
    from photosim.core.spec import EmbeddingSpec

    with tempfile.TemporaryDirectory(prefix="pretext-cost-") as tmp:
        index = indexing_cost(tmp)
        print("indexing:", index, flush=True)
        seeds = seed_vectors(make_engine(EmbeddingSpec()))
        rows = []
        for n in [int(x) for x in args.sizes.split(",")]:
            rows.append(learning_cost(tmp, n, seeds))
            print(rows[-1], flush=True)
    publish({"pretext_cost": render(index, rows, before, conditions())}, DOC, write=not args.no_doc)
    return 0


def render(index: dict, rows: list[dict], before: str, after: str) -> str:
    from photosim.services.views import SAMPLE

    plain = (index["without views"] + index["without views again"]) / 2
    lines = [f"Conditions: {before}; after: {after}.", "",
             f"Indexing the {index['with views photos'][0]} shared photos (small, so decoding is cheap and the "
             f"views' share the largest it gets; a library of 200 to {SAMPLE:,} photos makes views for every photo): "
             f"{plain:.1f} s without views (mean of two runs), {index['with views']:.1f} s with the views of "
             f"{index['with views photos'][1]} photos (×{index['with views'] / plain:.2f}). A library of more "
             f"than {SAMPLE:,} photos makes views for {SAMPLE:,} of them only, wherever they are in the run.", "",
             "| photos | adaptation | learning further | by part | peak memory | `similar` p50 / p95, adaptation → new version |",
             "|---:|---:|---:|---|---:|---|"]
    for r in rows:
        parts = ", ".join(f"{k.replace('adapting further ', '')} {v} s" for k, v in r["parts"].items())
        after_ms = f"{r['similar_after'][0]:.1f} / {r['similar_after'][1]:.1f} ms" if r["similar_after"] else "not used"
        lines.append(f"| {r['n']:,} | {r['adapt_s']:.0f} s | {r['refine_s']:.0f} s | {parts} | {r['peak_mb']:.0f} MB | "
                     f"{r['similar_before'][0]:.1f} / {r['similar_before'][1]:.1f} → {after_ms} |")
    lines += ["", "Steps: 1 views read, 2 training, 3 projecting, 4 augmenting, 5 storing, 6 indexing. The synthetic "
              "views are jittered base vectors (the training's cost does not depend on what they show)."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
