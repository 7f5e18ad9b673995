"""What the pretext task (core/pretext.py) adds to the adaptation, on caltech101-20 and random sub-libraries of it.

For each library: mAP@50 / P@10 with every photo a query (exact search, the product's functions) of
the plain vector, the adaptation (projection + augmentation + query expansion), the pretext head
alone (+ augmentation + expansion) and the ensemble that ships; whether the library's own signal
(agreement of the two spaces, services/pretext.py) chose right; and the cost of each part: the views
(decode once, 3 augmented copies through the same ONNX graph), the training, applying it.

    python benchmarks/pretext_eval.py [--seeds 5] [--sizes 50,100,150,200,300,400,800] [--no-doc]

Views are cached under $PHOTOSIM_CACHE (they depend only on the photos and the seed).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import CALTECH, ROOT, conditions, publish  # noqa: E402

from photosim.core import adapt as A  # noqa: E402
from photosim.core import expansion as E  # noqa: E402
from photosim.core import pretext as P  # noqa: E402
from photosim.core.evaluate import ranking_scores  # noqa: E402

DOC = ROOT / "docs" / "eval.md"


def photos_and_views(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(labels, base vectors N x D, views N x (1 + VIEWS) x D with the plain vector first, cost)."""
    from photosim.core.decode import decode_file
    from photosim.core.embed import make_engine
    from photosim.core.spec import EmbeddingSpec

    cache = Path(os.environ.get("PHOTOSIM_CACHE", tempfile.gettempdir())) / f"pretext-views-{seed}.npz"
    if cache.exists():
        with np.load(cache) as d:
            return d["labels"], d["base"], d["views"], {"views_s_per_photo": float(d["seconds"])}
    paths = sorted(p for p in CALTECH.rglob("*.jpg"))
    engine = make_engine(EmbeddingSpec())
    rng = np.random.default_rng(seed)
    labels, base, views, spent = [], [], [], 0.0
    for path in paths:
        photo = decode_file(str(path), 224, with_keypoints=False)
        if not hasattr(photo, "pixels"):
            continue
        labels.append(path.parent.name)
        base.append(engine(photo.pixels[None])[0])
        t = time.perf_counter()
        views.append(engine(P.make_views(photo.pixels, rng)))
        spent += time.perf_counter() - t
    labels, base = np.array(labels), np.stack(base)
    views = np.concatenate([base[:, None], np.stack(views)], axis=1)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, labels=labels, base=base, views=views, seconds=spent / len(base))
    return labels, base, views, {"views_s_per_photo": spent / len(base)}


def rank(q: np.ndarray, db: np.ndarray, depth: int = 50) -> list[np.ndarray]:
    sims = q @ db.T
    np.fill_diagonal(sims, -np.inf)
    return list(np.argsort(-sims, axis=1, kind="stable")[:, :min(depth, len(db) - 1)])


def served(space: np.ndarray, k: int = A.K, alpha: float = A.ALPHA):
    """As `similar` answers in that space: stored vectors augmented, queries expanded."""
    db = E.augment(space, k, alpha)
    idx, sims = E.exact_neighbours(db, k)
    return E.weighted_mean(db, db[idx], sims, alpha), db


def scores(q: np.ndarray, db: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    s = ranking_scores(rank(q, db), labels)
    return s.map_at_50, s.precision_at_10


def one_library(base: np.ndarray, views: np.ndarray, labels: np.ndarray, seed: int) -> dict:
    from photosim.services.pretext import learn
    from photosim.services.views import MIN_SAMPLE

    plain = scores(base, base, labels)
    projection = A.fit_projection(base, seed=seed)
    adapted = scores(*served(projection.apply(base)), labels)
    t = time.perf_counter()
    learned = learn(projection, base, views, seed=seed)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    both = learned.projection.apply(base)
    apply_s = time.perf_counter() - t
    head_only = A.Projection(projection.mean, learned.projection.head)
    return {"plain": plain, "adapted": adapted, "head": scores(*served(head_only.apply(base)), labels),
            "ensemble": scores(*served(both), labels), "chose": learned.use and len(base) >= MIN_SAMPLE, "agreement": round(learned.agreement, 3),
            "train_s": train_s, "apply_s": apply_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sizes", default="50,100,150,200,300,400,800")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("PHOTOSIM_CACHE", os.path.join(tempfile.gettempdir(), "photosim-bench-cache"))
    print("conditions:", conditions(), flush=True)
    labels, base, views, cost = photos_and_views()
    print(f"{len(labels)} photos; views {cost['views_s_per_photo'] * 1000:.0f} ms a photo", flush=True)
    rows, kinds = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        for seed in range(args.seeds):
            rng = np.random.default_rng(1000 * size + seed)
            sel = np.sort(rng.choice(len(labels), min(size, len(labels)), replace=False))
            rows.append((min(size, len(labels)), seed, _shown(size, seed, one_library(base[sel], views[sel], labels[sel], seed))))
    classes = sorted(set(labels))
    for nc, m in ((5, 10), (5, 20), (5, 40), (10, 20), (10, 40), (20, 10)):
        for seed in range(max(2, args.seeds // 2)):
            rng = np.random.default_rng(100 * nc + m + seed)
            sel = np.concatenate([rng.choice(np.flatnonzero(labels == c), min(m, int((labels == c).sum())), replace=False)
                                  for c in rng.choice(classes, nc, replace=False)])
            kinds.append((f"{nc} kinds x {m}", seed, _shown(f"{nc}x{m}", seed,
                                                             one_library(base[sel], views[sel], labels[sel], seed))))
    body = table(rows, cost, len(labels), "photos") + "\n\n" + table(kinds, cost, len(labels), "library", False)
    body += "\n\n" + sample_study(base, views, labels, max(3, args.seeds // 2))
    publish({"pretext_eval": body}, DOC, write=not args.no_doc)
    return 0


def sample_study(base: np.ndarray, views: np.ndarray, labels: np.ndarray, seeds: int) -> str:
    """How many photos the head needs: learned on a sample, applied to every photo of the library."""
    from photosim.services.pretext import learn

    projection = A.fit_projection(base)
    adapted = scores(*served(projection.apply(base)), labels)[0]
    lines = ["How many photos the head needs: learned from the views of a random sample of the "
             f"{len(base)} photos, applied to all of them (mAP@50 − the adaptation's {adapted:.3f}, "
             "worst / median over the seeds):", "", "| sample | gain | agreement (median) |", "|---:|---|---:|"]
    for size in (100, 200, 400, 600, len(base)):
        gains, agree = [], []
        for seed in range(seeds):
            pick = np.sort(np.random.default_rng(seed).choice(len(base), size, replace=False))
            got = learn(projection, base[pick], views[pick], seed=seed)
            gains.append(scores(*served(got.projection.apply(base)), labels)[0] - adapted)
            agree.append(got.agreement)
        print("sample", size, np.round(gains, 3), flush=True)
        lines.append(f"| {size} | {min(gains):+.3f} / {np.median(gains):+.3f} | {np.median(agree):.2f} |")
    return "\n".join(lines)


def _shown(name, seed, got: dict) -> dict:
    print(name, seed, {k: (tuple(round(x, 3) for x in v) if isinstance(v, tuple) else v) for k, v in got.items()},
          flush=True)
    return got


def table(rows, cost: dict, n: int, first: str, header: bool = True) -> str:
    lines = [f"caltech101-20 ({n} photos) and random sub-libraries of it, every photo a query, exact search; "
             "mAP@50 / P@10, worst and median over the seeds; *gain* = ensemble − adaptation (mAP@50); "
             "*chosen* = libraries whose own signal switched to the ensemble (services/pretext.py: a sample of at least "
             "200 photos, and the two spaces' agreement); "
             "*right* = chosen where the gain ≥ −0.005, or kept where the gain < 0.005.", ""] if header else [
             "Libraries of few kinds (dense: many photos of each), drawn from the same photos:", ""]
    lines += [f"| {first} | seeds | plain | adaptation | head alone | ensemble | gain (worst / median) | chosen | right |"
             " what `similar` gets − adaptation (worst / median) | train s | apply ms |",
             "|---:|---:|---|---|---|---|---|---:|---:|---|---:|---:|"]
    for size in list(dict.fromkeys(r[0] for r in rows)):
        got = [r[2] for r in rows if r[0] == size]

        def cell(key: str) -> str:
            m = np.array([g[key][0] for g in got])
            p = np.array([g[key][1] for g in got])
            return f"{m.min():.3f} / {np.median(m):.3f} · P@10 {np.median(p):.3f}"

        gain = np.array([g["ensemble"][0] - g["adapted"][0] for g in got])
        chosen = [g["chose"] for g in got]
        right = sum((c and d >= -0.005) or (not c and d < 0.005) for c, d in zip(chosen, gain))
        shipped = np.where(chosen, gain, 0.0)
        lines.append(f"| {size} | {len(got)} | {cell('plain')} | {cell('adapted')} | {cell('head')} | "
                     f"{cell('ensemble')} | {gain.min():+.3f} / {np.median(gain):+.3f} | {sum(chosen)}/{len(got)} | "
                     f"{right}/{len(got)} | {shipped.min():+.3f} / {np.median(shipped):+.3f} | {np.median([g['train_s'] for g in got]):.1f} | "
                     f"{np.median([g['apply_s'] for g in got]) * 1000:.0f} |")
    if header:
        lines += ["", f"Views: {cost['views_s_per_photo'] * 1000:.0f} ms a sampled photo for {P.VIEWS} augmented "
                  "copies through the ONNX graph (the photo is decoded once, by indexing)."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
