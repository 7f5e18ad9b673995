"""Bursts: pairwise precision/recall of the burst kind, how often the best shot is the untouched frame,
that edited copies stay near-duplicates, and that the near-duplicate set's figures do not move.

Builds the burst set of tests/burst_set.py (the test asserts bounds on a smaller draw of it) and the
near-duplicate set of tests/near_duplicate_set.py in temporary folders, indexes each into a temporary
library through the real services, and writes the figures into docs/duplicates.md (section "bursts").

    python benchmarks/bursts_quality.py [--seed 7] [--skip-near]
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _docs import conditions, write_section  # noqa: E402
from support.burst_set import build, score  # noqa: E402
from support.near_duplicate_set import build as build_near  # noqa: E402
from support.near_duplicate_set import pair_scores  # noqa: E402

from photosim.core import bursts  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.services import shots  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.store.library import Library  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "duplicates.md"


def run(folder: Path, work: Path) -> tuple[list, dict, float]:
    lib = Library(str(work))
    try:
        report = index_folders(lib, [str(folder)], SimpleContext())
        assert report.failed == 0, report.errors[:3]
        stats: dict = {}
        start = time.perf_counter()
        groups = find_duplicates(lib, stats=stats)
        return groups, stats, time.perf_counter() - start
    finally:
        lib.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-near", action="store_true", help="leave out the near-duplicate set (about a minute)")
    args = ap.parse_args()
    lines = [f"`python benchmarks/bursts_quality.py --seed {args.seed}` — {conditions()}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        bs = build(SHARED, Path(tmp) / "bursts", seed=args.seed)
        groups, stats, seconds = run(bs.folder, Path(tmp) / "lib-bursts")
        s = score([(g.kind, [p.path for p in g.photos]) for g in groups], bs)
        kinds = collections.Counter(g.kind for g in groups)
        frames = sum(1 for p in bs.scene_of if p not in bs.copy_of and "distractor" not in bs.alterations[p])
        lines += [
            f"Burst set (seed {args.seed}): {len(bs.references)} scenes, {frames} frames "
            f"({len(bs.moving)} scenes with a moving object), {len(bs.scene_of) - frames} other photos "
            f"({len(bs.copy_of)} of them edited copies); {s.true} true frame pairs.",
            "",
            "| figure | value |",
            "|---|---:|",
            f"| burst pairs: precision | **{s.precision:.4f}** |",
            f"| burst pairs: recall | **{s.recall:.4f}** ({s.predicted} predicted pairs) |",
            f"| best shot is the untouched frame | **{s.best_right}/{s.best_groups}** "
            f"({s.best_right / max(s.best_groups, 1):.1%}) |",
            f"| frame pairs left inside near-duplicate groups | {s.moments_as_copies} of {s.true} |",
            f"| edited copies taken for burst frames | "
            f"{sum(v.get('burst', 0) for v in s.copies.values())} of {len(bs.copy_of)} |",
            f"| groups | {dict(kinds)} |",
            f"| `find_duplicates` | {seconds:.2f} s ({stats.get('candidates')} candidates, {stats.get('checks')} "
            f"checks; burst band: {stats.get('burst_candidates')} candidates, {stats.get('burst_checks')} checks) |",
            "",
            "Reference–frame pairs inside one burst group, by what differs in the frame:",
            "",
            "| " + " | ".join(s.found_by_kind) + " |",
            "|" + "---:|" * len(s.found_by_kind),
            "| " + " | ".join(f"{a}/{b}" for a, b in s.found_by_kind.values()) + " |",
            "",
            "When the best shot is not the untouched frame, what was suggested instead: "
            + (", ".join(f"{k} {v}" for k, v in sorted(s.best_wrong.items())) or "nothing"),
            "",
            "Edited copies of other photos, by the kind of group holding copy and original:",
            "",
            "| edit | " + " | ".join(s.copies) + " |",
            "|---|" + "---:|" * len(s.copies),
            "| group | " + " | ".join(", ".join(f"{k} {n}" for k, n in v.items()) for v in s.copies.values()) + " |",
        ]
        if not args.skip_near:
            ds = build_near(SHARED, Path(tmp) / "near")
            groups, stats, seconds = run(ds.folder, Path(tmp) / "lib-near")
            p, r, predicted, true = pair_scores([[x.path for x in g.photos] for g in groups], ds.true_pairs())
            kinds = collections.Counter(g.kind for g in groups)
            lines += [
                "",
                f"Near-duplicate set (tests/near_duplicate_set.py, seed 7), with bursts in the product: precision "
                f"**{p:.4f}**, recall **{r:.4f}** ({predicted} predicted pairs, {true} true; groups {dict(kinds)}; "
                f"{stats.get('burst_candidates')} pairs in the burst band, {stats.get('burst_checks')} checked).",
            ]
    lines += ["", f"Constants: burst band {shots.BURST_ALLOWANCE:.2f} below the threshold; partial overlap "
              f"≥ {bursts.OVERLAP_STEP:.0%} of each frame; a moved part ≥ {bursts.MOVED_MATCHES} matches "
              f"{bursts.MOVED_PIXELS:.0f} px off; blurrier below {bursts.SHARPNESS_STEP:.1f}× at the same size; "
              f"exposure within {bursts.EXPOSURE_TOLERANCE} stops of the burst's median."]
    body = "\n".join(lines)
    print(body)
    write_section("bursts", body, DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
