"""Near-duplicate quality: writes the figures of docs/duplicates.md.

Builds the labelled set of tests/near_duplicate_set.py (the same one the test
asserts on) in a temporary folder, indexes it into a temporary library through
the real services, and measures:

- how far each kind of copy moves from its original in the embedding, and what
  one cosine threshold alone could do (every pair of the set);
- the geometric check's inlier counts on copies and on different photos;
- pairwise precision and recall of `find_duplicates` (shipped, and its
  candidates without the check), per kind of copy, and whether the suggested
  keeper is the untouched original; what one run costs;
- the same precision and recall for imagededup's PHash and DHash when
  imagededup is installed (``pip install -e '.[bench]'``); without it that
  section of the page is left as the last run that had it wrote it.

Each of these is written into its marked section of docs/duplicates.md with
the machine's conditions.

    python benchmarks/dupes_quality.py [--seed 7] [--no-doc]
"""
from __future__ import annotations

import argparse
import collections
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _docs import SHARED, conditions, publish  # noqa: E402
from support.near_duplicate_set import VARIANTS, build, pair_scores  # noqa: E402

from photosim.core import verify as geometry  # noqa: E402
from photosim.core.duplicates import DEFAULT_THRESHOLD, MIN_INLIERS  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.core.unionfind import UnionFind  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.store import checks
from photosim.store import repositories as repo  # noqa: E402
from photosim.store.library import Library  # noqa: E402

DOC = ROOT / "docs" / "duplicates.md"
#: Candidate pairs for the inlier study: well below the shipped thresholds, to see both sides.
INLIER_STUDY_COSINE = 0.65
#: What each kind of copy in tests/near_duplicate_set.py is.
KIND_NAMES = {"exif6": "EXIF orientation 6", "jpeg35": "JPEG quality 35", "bright": "brightness ×1.25, contrast ×1.15",
              "caption": "white box with text (1/10)", "letterbox": "black letterbox (1/12 of width, top and bottom)",
              "half": "half size", "crop8": "8 % cropped from each side", "grey": "greyscale"}


def table(header: tuple[str, ...], rows: list[tuple], right_from: int = 1) -> str:
    out = "| " + " | ".join(header) + " |\n|" + "|".join("---" if i < right_from else "---:" for i in range(len(header)))
    return out + "|\n" + "".join("| " + " | ".join(str(c) for c in r) + " |\n" for r in rows)


def scored(name: str, groups: list[list[str]], truth: set, seconds: float) -> tuple:
    p, r, predicted, true = pair_scores(groups, truth)
    print(f"{name}: precision {p:.4f} recall {r:.4f} ({predicted} predicted, {true} true) {seconds:.1f} s", flush=True)
    return (name, f"{p:.4f}", f"{r:.4f}", predicted, true, f"{seconds:.1f}")


def per_kind(name: str, groups: list[list[str]], ds) -> tuple:
    """Original–copy pairs found, per kind of copy."""
    together = {tuple(sorted(pair)) for g in groups for pair in itertools.combinations(g, 2)}
    original = {ds.group_of[p]: p for p, k in ds.kind_of.items() if k == "original"}
    found, total = collections.Counter(), collections.Counter()
    for path, kind in ds.kind_of.items():
        if kind in ("original", "distractor"):
            continue
        total[kind] += 1
        found[kind] += tuple(sorted((path, original[ds.group_of[path]]))) in together
    return (name, *(f"{found[k]}/{total[k]}" for k in sorted(total)))


def cosine_study(ds, paths: list[str], vectors: np.ndarray, truth: set) -> str:
    """How far each kind of copy is from its original, and what one threshold alone can do."""
    row = {p: n for n, p in enumerate(paths)}
    original = {ds.group_of[p]: p for p, k in ds.kind_of.items() if k == "original"}
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for path, kind in ds.kind_of.items():
        if kind not in ("original", "distractor") and path in row:
            by_kind[kind].append(float(vectors[row[path]] @ vectors[row[original[ds.group_of[path]]]]))
    sims = vectors @ vectors.T
    upper = np.triu(np.ones_like(sims, dtype=bool), 1)
    same = np.zeros_like(upper)
    for a, b in truth:
        if a in row and b in row:
            i, j = sorted((row[a], row[b]))
            same[i, j] = True
    positives, negatives = sims[same], sims[upper & ~same]
    rows = [(KIND_NAMES[k], len(v), f"{min(v):.3f}", f"{np.percentile(v, 5):.3f}", f"{np.median(v):.3f}")
            for k, v in sorted(by_kind.items(), key=lambda kv: -np.median(kv[1]))]
    rows.append(("*highest pair of different photos*", "", "", "", f"*{negatives.max():.3f}*"))
    bars = []
    for t in sorted({0.75, DEFAULT_THRESHOLD, 0.85, 0.88, 0.90}):
        tp, fp = int((positives >= t).sum()), int((negatives >= t).sum())
        bars.append((f"≥ {t:.2f}", f"{tp / max(tp + fp, 1):.3f}", f"{tp / len(positives):.3f}"))
    return (table(("copy of the original", "n", "min", "5th percentile", "median"), rows)
            + "\nOne cosine threshold for every pair of the set (no geometric check):\n\n"
            + table(("cosine", "precision", "recall"), bars))


def inlier_study(lib: Library, ds, paths: list[str], vectors: np.ndarray, ids: np.ndarray, truth: set) -> str:
    """Inliers of the geometric check on every pair at cosine >= INLIER_STUDY_COSINE."""
    sims = vectors @ vectors.T
    pairs = [(i, j) for i, j in zip(*np.nonzero(np.triu(sims >= INLIER_STUDY_COSINE, 1)))]
    with lib.db.session() as s:
        blobs = checks.get_keypoints(s, [int(i) for i in ids])
    points = {i: geometry.unpack(b) for i, b in blobs.items()}
    copies: dict[str, list[int]] = collections.defaultdict(list)
    different: list[int] = []
    for i, j in pairs:
        a, b = points.get(int(ids[i])), points.get(int(ids[j]))
        if a is None or b is None or not a.enough or not b.enough:
            continue
        n = geometry.inliers(a, b, 3)
        key = tuple(sorted((paths[i], paths[j])))
        if key in truth:
            kinds = {ds.kind_of[paths[i]], ds.kind_of[paths[j]]} - {"original"}
            copies[kinds.pop() if len(kinds) == 1 else "two copies of one original"].append(n)
        else:
            different.append(n)
    rows = [(KIND_NAMES.get(k, k), len(v), min(v), int(np.percentile(v, 5)), int(np.median(v)))
            for k, v in sorted(copies.items(), key=lambda kv: np.percentile(kv[1], 5))]
    above = sum(n >= MIN_INLIERS for n in different)
    return (f"Pairs at cosine ≥ {INLIER_STUDY_COSINE}, keypoints as stored by indexing:\n\n"
            + table(("pair", "n", "min inliers", "5th percentile", "median"), rows)
            + f"\nDifferent photos: {len(different)} pairs, at most **{max(different, default=0)}** inliers; "
            f"{above} at or above the {MIN_INLIERS} that confirm a pair.\n")


def imagededup_groups(method: str, folder: Path) -> tuple[list[list[str]], list[list[str]]]:
    from imagededup import methods

    hasher = getattr(methods, method)(verbose=False)
    found = hasher.find_duplicates(image_dir=str(folder))  # default max_distance_threshold=10
    pairs = [[str(folder / a), str(folder / b)] for a, dups in found.items() for b in dups]
    sets = UnionFind()
    index: dict[str, int] = {}
    for a, b in pairs:
        sets.union(index.setdefault(a, len(index)), index.setdefault(b, len(index)))
    names = {i: p for p, i in index.items()}
    return pairs, [[names[i] for i in g] for g in sets.groups()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7, help="7 is the test's set")
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/duplicates.md alone")
    args = ap.parse_args()
    started = conditions()
    sections: dict[str, str] = {}
    kinds_header = ("method", *sorted(VARIANTS))
    with tempfile.TemporaryDirectory(prefix="photosim-dupes-") as tmp:
        ds = build(SHARED, Path(tmp) / "photos", seed=args.seed)
        truth = ds.true_pairs()
        sections["dupes_set"] = (f"Seed {args.seed}: {len(ds.group_of)} files, {len(truth)} true pairs; "
                                 f"{ds.bases} bases with their copies, {ds.distractors} distractors.")
        lib = Library(os.path.join(tmp, "library"))
        try:
            t0 = time.perf_counter()
            index_folders(lib, [str(ds.folder)], SimpleContext())
            t_index = time.perf_counter() - t0
            with lib.db.session() as s:
                ids, vectors = repo.get_vectors(s, 0)
                photos = repo.photos_by_id(s, ids.tolist())
                keypoint_bytes = [len(b) for b in checks.get_keypoints(s, ids.tolist()).values()]
            paths = [photos[int(i)].path for i in ids]
            sections["dupes_cosines"] = cosine_study(ds, paths, vectors, truth)
            sections["dupes_inliers"] = inlier_study(lib, ds, paths, vectors, ids, truth)

            rows, kind_rows, stats = [], [], {}
            for label, threshold, verify in ((f"**photosim (cosine ≥ {DEFAULT_THRESHOLD:g} + geometric check), "
                                              "shipped**", DEFAULT_THRESHOLD, True),
                                             (f"photosim, candidates at {DEFAULT_THRESHOLD:g} alone", DEFAULT_THRESHOLD,
                                              False),
                                             ("photosim, candidates at 0.85 alone", 0.85, False),
                                             ("photosim, candidates at 0.88 alone", 0.88, False)):
                t0 = time.perf_counter()
                found = find_duplicates(lib, threshold, verify=verify, stats=stats if verify else None)
                seconds = time.perf_counter() - t0
                groups = [[p.path for p in g.photos] for g in found]
                rows.append(scored(label, groups, truth, seconds))
                kind_rows.append(per_kind(label, groups, ds))
                if verify:
                    shipped, shipped_seconds = found, seconds
        finally:
            lib.close()
        with_original = [g for g in shipped if any(ds.kind_of.get(p.path) == "original" for p in g.photos)]
        kept = collections.Counter(ds.kind_of.get(g.keep.path) for g in with_original)
        instead = {k: n for k, n in kept.items() if k != "original"}
        sections["dupes_quality"] = (
            table(("method", "precision", "recall", "predicted pairs", "true pairs", "seconds"), rows)
            + "\nOriginal–copy pairs found, per kind of copy:\n\n" + table(kinds_header, kind_rows)
            + f"\nThe suggested keeper is the untouched original in {kept['original']} of the {len(with_original)} "
            "predicted groups that hold it" + (f" (kept instead: {instead})" if instead else "") + ". "
            f"Indexing the set (embedding and keypoints) took {t_index:.0f} s; the seconds above are "
            f"`find_duplicates` alone.\n\n{started}.")
        sections["dupes_cost"] = (
            f"On this set `find_duplicates` took {shipped_seconds:.1f} s: {stats['candidates']:,} candidate pairs, "
            f"{stats['checks']:,} geometric checks, {stats['files_read']} photo files read; in the burst band below "
            f"the threshold, {stats.get('burst_candidates', 0):,} pairs and {stats.get('burst_checks', 0):,} checks "
            "(section \"Bursts and similar shots\"). Stored keypoints: "
            f"{np.mean(keypoint_bytes) / 1024:.1f} KB a photo on average.\n\n{started}.")
        try:
            import imagededup  # noqa: F401
        except ImportError:
            print("imagededup is not installed (pip install -e '.[bench]'): its section is left as it was")
        else:
            rows, kind_rows = [], []
            for method in ("PHash", "DHash"):
                t0 = time.perf_counter()
                pairs, groups = imagededup_groups(method, ds.folder)
                seconds = time.perf_counter() - t0
                rows.append(scored(f"imagededup {method} (distance ≤ 10), its pairs", pairs, truth, seconds))
                rows.append(scored(f"imagededup {method} (distance ≤ 10), grouped", groups, truth, seconds))
                kind_rows.append(per_kind(f"imagededup {method}", pairs, ds))
            sections["dupes_imagededup"] = (
                table(("method", "precision", "recall", "predicted pairs", "true pairs", "seconds"), rows)
                + "\nOriginal–copy pairs found, per kind of copy:\n\n" + table(kinds_header, kind_rows)
                + f"\nimagededup {imagededup.__version__}, at its default `max_distance_threshold=10`; its "
                "seconds include hashing.\n\n" + started + ".")
    publish(sections, DOC, write=not args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
