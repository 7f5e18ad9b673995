"""Near-duplicate precision/recall: photosim against imagededup's PHash and DHash. Prints a markdown table.

Builds the labelled set of tests/near_duplicate_set.py (the same one the test
asserts on) in a temporary folder, indexes it into a temporary library, and
scores pairwise precision and recall over the pairs inside each method's
groups. imagededup (benchmark-only: ``pip install imagededup``) runs at its
default threshold (Hamming distance 10 of 64 bits); its answer is a list of
duplicates per file, scored both as those pairs and as their connected
groups.

    python benchmarks/dupes_quality.py [--seed 7] [--detail]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from near_duplicate_set import build, pair_scores  # noqa: E402

from photosim.core.duplicates import DEFAULT_THRESHOLD, UnionFind  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.store.library import Library  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def row(name: str, groups: list[list[str]], truth: set, seconds: float) -> tuple[str, float, float]:
    p, r, predicted, true = pair_scores(groups, truth)
    print(f"| {name} | {p:.4f} | {r:.4f} | {predicted} | {true} | {seconds:.1f} |", flush=True)
    return name, p, r


def per_kind(name: str, groups: list[list[str]], ds) -> None:
    """Recall of original–variant pairs, per kind of variant."""
    together = {tuple(sorted(pair)) for g in groups for pair in itertools.combinations(g, 2)}
    original = {ds.group_of[p]: p for p, k in ds.kind_of.items() if k == "original"}
    found, total = collections.Counter(), collections.Counter()
    for path, kind in ds.kind_of.items():
        if kind in ("original", "distractor"):
            continue
        total[kind] += 1
        found[kind] += tuple(sorted((path, original[ds.group_of[path]]))) in together
    print(f"| {name} | " + " | ".join(f"{found[k]}/{total[k]}" for k in sorted(total)) + " |")


def keeper_report(groups, ds) -> None:
    """How often the suggested keeper is the untouched original, and what was kept instead."""
    with_original = [g for g in groups if any(ds.kind_of.get(p.path) == "original" for p in g.photos)]
    wrong = collections.Counter(ds.kind_of.get(g.keep.path) for g in with_original
                                if ds.kind_of.get(g.keep.path) != "original")
    right = len(with_original) - sum(wrong.values())
    print(f"\nkeeper is the original in {right} of {len(with_original)} groups that hold it"
          + (f"; kept instead: {dict(wrong)}" if wrong else ""))


def imagededup_groups(method: str, folder: Path) -> tuple[list[list[str]], list[list[str]]]:
    from imagededup import methods

    hasher = getattr(methods, method)(verbose=False)
    found = hasher.find_duplicates(image_dir=str(folder))  # default max_distance_threshold=10
    pairs = [[str(folder / a), str(folder / b)] for a, dups in found.items() for b in dups]
    uf = UnionFind()
    index = {}
    for a, b in pairs:
        uf.union(index.setdefault(a, len(index)), index.setdefault(b, len(index)))
    names = {i: p for p, i in index.items()}
    return pairs, [[names[i] for i in g] for g in uf.groups()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--detail", action="store_true", help="also print recall per kind of variant")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="photosim-dupes-") as tmp:
        ds = build(SHARED, Path(tmp) / "photos", seed=args.seed)
        truth = ds.true_pairs()
        print(f"<!-- {ds.bases} bases with variants, {ds.distractors} distractors, {len(ds.group_of)} files, "
              f"{len(truth)} true pairs, seed {args.seed} -->")
        print("| method | precision | recall | predicted pairs | true pairs | seconds |")
        print("|---|---:|---:|---:|---:|---:|")
        results = {}
        lib = Library(os.path.join(tmp, "library"))
        try:
            t0 = time.perf_counter()
            index_folders(lib, [str(ds.folder)], SimpleContext())
            t_index = time.perf_counter() - t0
            # "candidates alone": the pairing rule without the geometric check (a greyscale photo
            # against a colour one needs GREY_ALLOWANCE less, as in the shipped rule).
            for label, threshold, verify in ((f"photosim (cosine ≥ {DEFAULT_THRESHOLD:g} + geometric check)",
                                              DEFAULT_THRESHOLD, True),
                                             (f"photosim, candidates at {DEFAULT_THRESHOLD:g} alone", DEFAULT_THRESHOLD,
                                              False),
                                             ("photosim, candidates at 0.85 alone", 0.85, False),
                                             ("photosim, candidates at 0.88 alone", 0.88, False)):
                t0 = time.perf_counter()
                found = find_duplicates(lib, threshold, verify=verify)
                groups = [[p.path for p in g.photos] for g in found]
                results[label] = groups
                row(label, groups, truth, time.perf_counter() - t0)
                if verify:
                    keepers = found
        finally:
            lib.close()
        for method in ("PHash", "DHash"):
            t0 = time.perf_counter()
            pairs, groups = imagededup_groups(method, ds.folder)
            seconds = time.perf_counter() - t0
            row(f"imagededup {method} (distance ≤ 10), its pairs", pairs, truth, seconds)
            row(f"imagededup {method} (distance ≤ 10), grouped", groups, truth, seconds)
            results[f"imagededup {method}"] = pairs
        print(f"<!-- indexing (embedding) took {t_index:.1f} s -->")
        keeper_report(keepers, ds)
        if args.detail:
            kinds = sorted({k for k in ds.kind_of.values() if k not in ("original", "distractor")})
            print("\n| method | " + " | ".join(kinds) + " |")
            print("|---|" + "---:|" * len(kinds))
            for label, groups in results.items():
                per_kind(label, groups, ds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
