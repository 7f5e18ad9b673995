"""What showing copies once costs `similar`, batch queries, and searches of different widths at once.

Three parts, each measured against its alternative in the same run:

1. A real library of the shared photos (caltech101-20, 799 photos) with copies made here: a
   byte copy of 5% of them and a re-encode (80% size, JPEG q60) of another 5%, indexed by the
   service. Every photo queries it (k=10) with copies collapsed and with ``all_copies`` (what
   `similar` answered before), alternately: latency p50/p95 of each, how many of the ten places
   copies took before, and how many distinct photos are shown now.
   Batch: all library photos as one ``similar_many`` call against one call per photo, and 48
   photos from outside the library (re-encoded shared photos in a temporary folder: decoded
   and embedded) the same two ways.
2. A library of N synthetic photos (default 100,000; vectors as in search_scale.py, each with
   the stored keypoints of a real shared photo; 2% byte copies and 2% near copies with the
   keypoints of their original): `similar` p50/p95 collapsed against ``all_copies``. The set is
   far denser than real photos (nearest neighbour at cosine ~0.92), so nearly every pair among
   a query's results is a duplicate candidate and costs a geometric check: a worst case.
   Collapsed three ways: the first time (no pair checked before), in a fresh process on the
   verdicts the library kept (pair_checks), asked again in the same process; then `dupes` over the
   library (its verdicts kept) and other queries asked for the first time after it.
3. On that library, `similar`'s index search alone and while another thread runs duplicate-
   width searches (4,096 photos per call as `dupes` does, and a few photos per call as `trash`
   and the copies check do), for the shipped index (each query's width passed as k: nothing
   shared changes), for the index as it was (set_ef on the shared object, then search: the
   race), for a lock around set_ef + query (an alternative), and the memory a second index
   object (one per purpose, the other alternative) takes. Recall@10 against exact search.

    python benchmarks/similar_copies.py [--n 100000] [--queries 200] [--no-doc]

Prints the figures and rewrites the similar_copies section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # support.reference
from _docs import CALTECH, conditions, write_section  # noqa: E402
from search_scale import CHUNK, _fake_photo, attach_keypoints, seed_vectors, synthetic  # noqa: E402


def _ms(times: list[float]) -> tuple[float, float]:
    ms = sorted(1000 * t for t in times)
    return ms[len(ms) // 2], ms[max(0, int(len(ms) * 0.95) - 1)]


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


# --- 1. the shared photos with copies ------------------------------------------------------------
def real_library(tmp: Path, engine) -> dict:
    from photosim.core.types import SimpleContext
    from photosim.services import verdicts
    from photosim.services.indexing import index_folders
    from photosim.services.similar import similar_answer, similar_many
    from photosim.store.library import Library

    rng = np.random.default_rng(3)
    tree = tmp / "photos"
    shutil.copytree(CALTECH, tree)
    originals = sorted(tree.glob("*/*.jpg"))
    picks = rng.choice(len(originals), size=len(originals) // 10, replace=False)
    (tree / "copies").mkdir()
    for n, i in enumerate(picks):
        src = originals[i]
        if n % 2 == 0:
            shutil.copy2(src, tree / "copies" / f"{src.parent.name}-{src.name}")
        else:
            with Image.open(src) as im:
                im.convert("RGB").resize((im.width * 4 // 5, im.height * 4 // 5)).save(
                    tree / "copies" / f"{src.parent.name}-re-{src.name}", quality=60)
    outside = tmp / "outside"
    outside.mkdir()
    for i in rng.choice(len(originals), size=48, replace=False):
        with Image.open(originals[i]) as im:
            im.convert("RGB").rotate(3).save(outside / f"{originals[i].parent.name}-{originals[i].name}", quality=85)
    lib = Library(str(tmp / "library"))
    report, seconds = _timed(lambda: index_folders(lib, [str(tree)], SimpleContext(), engine=engine))
    print(f"real library: {report.embedded} photos indexed in {seconds:.0f} s", flush=True)
    paths = [str(p) for p in sorted(tree.glob("*/*.jpg"))]
    similar_answer(lib, paths[0])  # warm: index loaded, caches primed
    collapsed, cold, kept, before = [], [], [], []
    taken, distinct, with_copies, query_copies = [], [], 0, 0
    for p in paths:
        verdicts.forget(lib, kept_too=True)  # a fresh `photosim similar` process on a library where no pair was checked
        _, c = _timed(lambda: similar_answer(lib, p, k=10))
        verdicts.forget(lib)  # a fresh process again: the library kept the verdicts
        _, f = _timed(lambda: similar_answer(lib, p, k=10))
        a, t = _timed(lambda: similar_answer(lib, p, k=10))
        b, u = _timed(lambda: similar_answer(lib, p, k=10, all_copies=True))
        cold.append(c)
        kept.append(f)
        collapsed.append(t)
        before.append(u)
        group = {m.photo.id: n.photo.id for n in a.results for m in (n, *n.copies)}
        own = {c.photo.id for c in a.query_copies}
        seen: set[int] = set()
        places = 0  # of the ten answered before, those held by the query's copies or a copy of an earlier result
        for n in b.results:
            g = group.get(n.photo.id, n.photo.id)
            places += n.photo.id in own or g in seen
            seen.add(g)
        taken.append(places)
        distinct.append(len(a.results))
        with_copies += any(n.copies for n in a.results)
        query_copies += bool(own)
    _, single = _timed(lambda: [similar_answer(lib, p, k=10) for p in paths])
    _, batch = _timed(lambda: similar_many(lib, paths, k=10))
    files = [str(p) for p in sorted(outside.iterdir())]
    similar_answer(lib, files[0])  # warm: the engine is made once
    _, single_out = _timed(lambda: [similar_answer(lib, p, k=10) for p in files])
    _, batch_out = _timed(lambda: similar_many(lib, files, k=10))
    lib.close()
    return {"photos": report.embedded, "index_s": seconds, "queries": len(paths),
            "collapsed": _ms(collapsed), "cold": _ms(cold), "kept": _ms(kept), "before": _ms(before),
            "ratio": statistics.median(collapsed) / statistics.median(before),
            "taken": statistics.mean(taken), "queries_taken": sum(t > 0 for t in taken),
            "with_copies": with_copies, "query_copies": query_copies, "distinct": statistics.mean(distinct),
            "single": single, "batch": batch, "outside": len(files), "single_out": single_out, "batch_out": batch_out}


# --- 2. a large synthetic library with copies -------------------------------------------------------
def synthetic_library(lib, vectors: np.ndarray, rng: np.random.Generator, share: float = 0.02) -> dict:
    """N synthetic photos, then byte copies (same hash, same vector) of ``share`` of them and near
    copies (another hash, the vector moved to cosine ~0.97) of another ``share``; every photo gets a
    real shared photo's keypoints, and a copy those of its original, so the check confirms it."""
    from photosim.store import checks
    from photosim.store import repositories as repo

    ids: list[int] = []
    for start in range(0, len(vectors), CHUNK):
        part = range(start, min(start + CHUNK, len(vectors)))
        photos = [_fake_photo(f"/synthetic/{i // 1000:03d}/{i:06d}.jpg", 4_000_000 + i, i, f"{i:032x}") for i in part]
        with lib.db.session() as s:
            got = repo.upsert_decoded_many(s, photos)
            repo.put_vectors(s, 0, got, vectors[start:start + len(photos)])
        ids += got
    attach_keypoints(lib)
    n = int(len(vectors) * share)
    picks = rng.choice(len(vectors), size=2 * n, replace=False)
    rows, vecs, originals = [], [], []
    for j, i in enumerate(picks):
        near = j >= n
        digest = f"{i:031x}c" if near else f"{i:032x}"
        v = vectors[i]
        if near:
            v = v + np.abs(rng.normal(0, 1, v.shape)).astype(np.float32) * (0.25 / np.sqrt(len(v)))
            v = v / np.linalg.norm(v)
        rows.append(_fake_photo(f"/synthetic/copies/{i:06d}{'-near' if near else ''}.jpg", int(3_000_000 + i), int(i), digest))
        vecs.append(v)
        originals.append(ids[i])
    with lib.db.session() as s:
        copy_ids = repo.upsert_decoded_many(s, rows)
        repo.put_vectors(s, 0, copy_ids, np.stack(vecs))
        blobs = checks.get_keypoints(s, originals)
        checks.put_keypoints(s, copy_ids, [blobs[o] for o in originals])
    return {"byte": n, "near": n}


def bench_synthetic(lib, queries: int, rng: np.random.Generator) -> dict:
    """`similar` on the synthetic library: first time (no pair checked before), in a fresh process on the
    verdicts the library kept, asked again, and --all-copies, for one set of queries; then `dupes` (its
    verdicts kept), and a second set of queries asked for the first time after it."""
    from photosim.core.types import SimpleContext
    from photosim.services import verdicts
    from photosim.services.duplicates import find_duplicates
    from photosim.services.similar import similar_answer
    from photosim.store import repositories as repo

    with lib.db.session() as s:
        ids = repo.vector_ids(s, 0)
        picks = rng.choice(ids, size=2 * queries, replace=False)
        photos = repo.photos_by_id(s, picks.tolist())
    paths = [photos[int(i)].path for i in picks[:queries]]
    later = [photos[int(i)].path for i in picks[queries:]]
    similar_answer(lib, paths[0])
    collapsed, cold, kept, before, distinct_groups = [], [], [], [], 0
    for p in paths:
        verdicts.forget(lib, kept_too=True)
        _, c = _timed(lambda: similar_answer(lib, p, k=10))
        verdicts.forget(lib)
        _, f = _timed(lambda: similar_answer(lib, p, k=10))
        a, t = _timed(lambda: similar_answer(lib, p, k=10))
        _, u = _timed(lambda: similar_answer(lib, p, k=10, all_copies=True))
        cold.append(c)
        kept.append(f)
        collapsed.append(t)
        before.append(u)
        distinct_groups += sum(1 for n in a.results if n.copies)
    verdicts.forget(lib, kept_too=True)
    stats: dict = {}
    _, dupes_s = _timed(lambda: find_duplicates(lib, ctx=SimpleContext(), stats=stats))
    print(f"dupes: {dupes_s:.1f} s, {stats.get('checks', 0) + stats.get('burst_checks', 0):,} checks kept", flush=True)
    after, after_before = [], []
    for p in later:
        verdicts.forget(lib)
        _, c = _timed(lambda: similar_answer(lib, p, k=10))
        _, u = _timed(lambda: similar_answer(lib, p, k=10, all_copies=True))
        after.append(c)
        after_before.append(u)
    return {"collapsed": _ms(collapsed), "cold": _ms(cold), "kept": _ms(kept), "before": _ms(before),
            "ratio": statistics.median(collapsed) / statistics.median(before), "queries": queries,
            "groups_shown": distinct_groups, "after_dupes": _ms(after), "after_before": _ms(after_before),
            "dupes_s": dupes_s, "dupes_checks": stats.get("checks", 0) + stats.get("burst_checks", 0)}


# --- 3. searches of different widths at once ------------------------------------------------------
def bench_widths(lib, vectors: np.ndarray, queries: int, rng: np.random.Generator) -> dict:
    from photosim.core.index import EF_DUPLICATES, EF_SEARCH, VectorIndex
    from support.reference import exact_knn  # tests/support: the ground truth the tests use too
    from photosim.store import repositories as repo

    index = lib.index(0)
    with lib.db.session() as s:
        ids, stored = repo.get_vectors(s, 0)
    picks = rng.choice(len(ids), size=queries, replace=False)
    truth = exact_knn(stored, stored[picks], 11)

    class SharedEfIndex(VectorIndex):
        """What the index did before: set the width on the shared index, then search (no lock)."""

        def query(self, vectors, k, threads=-1, ef=None):
            vectors = np.atleast_2d(np.asarray(vectors, np.float32))
            k = min(k, self.count())
            self._index.set_ef(max(ef or EF_SEARCH, 2 * k))
            labels, distances = self._index.knn_query(vectors, k=k, num_threads=threads)
            return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    class LockedIndex(VectorIndex):
        """The alternative: set the width on the shared index and search, under one lock."""

        lock = threading.Lock()

        def query(self, vectors, k, threads=-1, ef=None):
            vectors = np.atleast_2d(np.asarray(vectors, np.float32))
            k = min(k, self.count())
            with self.lock:
                self._index.set_ef(max(ef or EF_SEARCH, 2 * k))
                labels, distances = self._index.knn_query(vectors, k=k, num_threads=threads)
            return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def run(with_dupes: bool) -> tuple[tuple[float, float], float, float]:
        stop = threading.Event()

        def duplicates() -> None:  # `dupes`' search, 4,096 photos per call, and `trash`'s for a few photos
            start = 0
            while not stop.is_set():
                index.query(stored[start:start + 4096], 11, ef=EF_DUPLICATES)
                for _ in range(20):
                    index.query(stored[rng.integers(len(stored), size=4)], 11, ef=EF_DUPLICATES)
                start = (start + 4096) % max(1, len(stored) - 4096)

        worker = threading.Thread(target=duplicates) if with_dupes else None
        if worker:
            worker.start()
            time.sleep(0.2)
        times, got = [], []
        began = time.perf_counter()
        try:
            for q in picks:
                found, t = _timed(lambda: index.query(stored[q], 11))
                times.append(t)
                got.append(found[0][0])
            wall = time.perf_counter() - began
        finally:
            stop.set()
            if worker:
                worker.join()
        recall = float(np.mean([len((set(ids[t]) - {ids[q]}) & set(g)) / 10
                                for t, q, g in zip(truth, picks, got)]))
        return _ms(times), recall, wall

    out = {"shipped_alone": run(False), "shipped_busy": run(True)}
    try:
        index.__class__ = SharedEfIndex
        out["shared_busy"] = run(True)
        index.__class__ = LockedIndex
        out["lock_alone"], out["lock_busy"] = run(False), run(True)
    finally:
        index.__class__ = VectorIndex
        index._index.set_ef(1)  # the shipped floor, as load and build leave it
    before = _rss()
    second, load_s = _timed(lambda: VectorIndex.load(lib.index_path(0), index.dim))
    out["second_index"] = (_rss() - before, load_s, os.path.getsize(lib.index_path(0)))
    del second
    return out


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="photos in the synthetic library")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    os.environ.setdefault("PHOTOSIM_CACHE", os.path.join(tempfile.gettempdir(), "photosim-bench-cache"))
    from photosim.core.backbone import EmbeddingSpec
    from photosim.core.embed import make_engine
    from photosim.store.library import Library

    before = conditions()
    print("conditions:", before, flush=True)
    if not CALTECH.is_dir():
        sys.exit(f"shared photos not found at {CALTECH}")
    engine = make_engine(EmbeddingSpec())
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-copies-") as tmp:
        out["real"] = real_library(Path(tmp), engine)
    print("real:", out["real"], flush=True)
    rng = np.random.default_rng(0)
    vectors = synthetic(seed_vectors(engine), args.n, rng)
    with tempfile.TemporaryDirectory(prefix="bench-copies-") as tmp:
        lib = Library(tmp)
        out["copies"] = synthetic_library(lib, vectors, rng)
        _, out["build"] = _timed(lib.index)
        print(f"synthetic library: {args.n:,} photos + copies {out['copies']}, index built in {out['build']:.0f} s",
              flush=True)
        out["synthetic"] = bench_synthetic(lib, args.queries, rng)
        print("synthetic:", out["synthetic"], flush=True)
        out["widths"] = bench_widths(lib, vectors, args.queries, rng)
        print("widths:", out["widths"], flush=True)
        lib.close()
    body = render(out, args, before, conditions())
    print("\n" + body)
    if not args.no_doc:
        write_section("similar_copies", body)
        print("wrote docs/benchmarks.md (similar_copies section)")
    return 0


def render(out: dict, args, before: str, after: str) -> str:
    r, s, w = out["real"], out["synthetic"], out["widths"]
    mem, load_s, file_bytes = w["second_index"]

    def width_row(name: str, key: str) -> str:
        (p50, p95), recall, wall = w[key]
        return f"| {name} | {p50:.2f} / {p95:.2f} ms | {wall:.2f} s | {recall:.3f} |"

    return "\n".join([
        "## Copies shown once, batch queries, searches of different widths (`benchmarks/similar_copies.py`)", "",
        f"Command: `python benchmarks/similar_copies.py --n {args.n} --queries {args.queries}`", "",
        f"- Before: {before}", f"- After: {after}", "",
        f"**The shared photos with copies** ({r['photos']} photos: caltech101-20 plus a byte copy of 5% and a "
        f"re-encode of another 5%, indexed in {r['index_s']:.0f} s). Every photo as a query, k=10:", "",
        "| figure | measured |", "|---|---:|",
        f"| `similar` latency, copies shown once, first time (no pair checked before, as in a fresh process) "
        f"(p50 / p95) | {r['cold'][0]:.1f} / {r['cold'][1]:.1f} ms |",
        f"| `similar` latency, copies shown once, in a fresh process on the verdicts the library kept (p50 / p95) "
        f"| {r['kept'][0]:.1f} / {r['kept'][1]:.1f} ms |",
        f"| `similar` latency, copies shown once, asked again in the same process (p50 / p95) "
        f"| {r['collapsed'][0]:.1f} / {r['collapsed'][1]:.1f} ms |",
        f"| `similar --all-copies` (what similar answered before) (p50 / p95) "
        f"| {r['before'][0]:.1f} / {r['before'][1]:.1f} ms |",
        f"| ratio of the p50s, first time / before; verdicts kept / before; asked again / before "
        f"| {r['cold'][0] / r['before'][0]:.2f}; {r['kept'][0] / r['before'][0]:.2f}; {r['ratio']:.2f} |",
        f"| queries whose ten places held copies before (of the query or of another result) "
        f"| {r['queries_taken']} of {r['queries']} |",
        f"| places copies took in those ten, mean over all queries | {r['taken']:.2f} |",
        f"| queries with a result that stands for several copies now; queries whose own copies are left out "
        f"| {r['with_copies']}; {r['query_copies']} |",
        f"| distinct photos per answer now (k=10) | {r['distinct']:.2f} |",
        f"| {r['queries']} library photos: one `similar_many` call / one call each "
        f"| {r['batch']:.2f} s / {r['single']:.2f} s ({r['single'] / r['batch']:.1f}x) |",
        f"| {r['outside']} photos outside the library (decoded and embedded): one call / one call each "
        f"| {r['batch_out']:.2f} s / {r['single_out']:.2f} s ({r['single_out'] / r['batch_out']:.1f}x) |",
        "",
        f"**{args.n:,} synthetic photos** (search_scale.py's vectors; {out['copies']['byte']:,} byte copies and "
        f"{out['copies']['near']:,} near copies; index built in {out['build']:.0f} s), {s['queries']} queries, k=10. "
        "Nearly every pair among a query's results is a duplicate candidate here (nearest neighbour at cosine "
        "~0.92, against 0.69 for real photos), so each query pays for geometric checks: a worst case.", "",
        "| figure | measured |", "|---|---:|",
        f"| `similar` latency, copies shown once, first time: no pair checked before (p50 / p95) "
        f"| {s['cold'][0]:.1f} / {s['cold'][1]:.1f} ms |",
        f"| `similar` latency, copies shown once, in a fresh process on the verdicts the library kept (p50 / p95) "
        f"| {s['kept'][0]:.1f} / {s['kept'][1]:.1f} ms |",
        f"| `similar` latency, copies shown once, asked again in the same process (p50 / p95) "
        f"| {s['collapsed'][0]:.1f} / {s['collapsed'][1]:.1f} ms |",
        f"| `similar --all-copies` (p50 / p95) | {s['before'][0]:.1f} / {s['before'][1]:.1f} ms |",
        f"| ratio of the p50s, first time / before; verdicts kept / before; asked again / before "
        f"| {s['cold'][0] / s['before'][0]:.2f}; {s['kept'][0] / s['before'][0]:.2f}; {s['ratio']:.2f} |",
        f"| after `dupes` ({s['dupes_s']:.0f} s, {s['dupes_checks']:,} verdicts kept), {s['queries']} other queries "
        f"asked for the first time, in a fresh process: copies shown once / --all-copies (p50) "
        f"| {s['after_dupes'][0]:.1f} / {s['after_before'][0]:.1f} ms |",
        "",
        f"**Searches of different widths on one index at once** ({s['queries']} index queries of `similar`, k=10, "
        "alone and while another thread runs duplicate-width searches: 4,096 photos per call as `dupes` does, "
        "and calls for 4 photos as `trash` and the copies check do):", "",
        "| index | `similar` search p50 / p95 | all of them took | recall@10 vs exact |",
        "|---|---:|---:|---:|",
        width_row("shipped (width passed with each query), alone", "shipped_alone"),
        width_row("shipped, with the duplicate searches running", "shipped_busy"),
        width_row("before: set_ef on the shared index, then search, with the duplicate searches running",
                  "shared_busy"),
        width_row("lock around set_ef + query, alone", "lock_alone"),
        width_row("lock around set_ef + query, with the duplicate searches running", "lock_busy"),
        "",
        f"One index object per purpose (the other way to keep the widths apart) holds a second copy of the "
        f"model-0 index: {mem / 2**20:.0f} MB more resident memory, {load_s:.1f} s to load "
        f"(index file {file_bytes / 2**20:.0f} MB). The shipped index needs neither the lock's wait nor the copy: "
        "hnswlib searches max(ef, k) wide, so ef stays at its floor and each query asks for as many results as "
        "its width and keeps the first k, the very same search as setting ef (only a tie at the k-th place, "
        "byte copies' identical vectors, can be broken the other way).",
    ]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
