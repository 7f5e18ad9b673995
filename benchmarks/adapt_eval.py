"""Benchmark for the self-supervised ``photosim adapt`` (issue 5).

No labels. mAP over all of caltech101-20, every photo querying the rest,
before and after the adapt, 3 seeds. Ships only if it raises mAP by >= 0.01.

Augmented views (random crop 40-100 % of the area, aspect 3/4-4/3, flip,
brightness/colour 0.7-1.3) are embedded once with the shipped backbone and
cached (K views per photo); the ``augment`` callable picks one at random per
photo and step. Writes its table into docs/finetune.md after the fine-tune one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import finetune_eval as fe  # noqa: E402

from photosim.core.train.selfsup import AdaptOptions, adapt  # noqa: E402

K_VIEWS = 4


def augment_photo(path: str, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageEnhance, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    w, h = im.size
    area = w * h * rng.uniform(0.4, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw, ch = int(min(w, round(np.sqrt(area * ratio)))), int(min(h, round(np.sqrt(area / ratio))))
    x0, y0 = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    im = im.crop((x0, y0, x0 + cw, y0 + ch)).resize((224, 224), Image.BICUBIC)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.7, 1.3))
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.7, 1.3))
    return np.asarray(im, dtype=np.uint8)


def augmented_views(pooling: str = "gem") -> np.ndarray:
    """(K, N, D) base vectors of K augmented views per photo; cached."""
    paths, _, _ = fe.list_photos()
    from photosim.core.backbone import EmbeddingSpec, embedder

    cache = fe.CACHE / f"aug-{EmbeddingSpec(layer='head', pooling=pooling).key}.npz"  # the shipped spec's key
    if cache.exists():
        data = np.load(cache)
        if list(data["paths"]) == paths:
            return data["views"]
    model = embedder(EmbeddingSpec(layer="head", pooling=pooling))
    rng = np.random.default_rng(1234)
    views = []
    with torch.inference_mode():
        for _ in range(K_VIEWS):
            out = [model(torch.from_numpy(np.stack([augment_photo(p, rng) for p in paths[i : i + 32]]))).numpy()
                   for i in range(0, len(paths), 32)]
            views.append(np.concatenate(out))
    arr = np.stack(views).astype(np.float32)
    np.savez(cache, views=arr, paths=np.array(paths))
    return arr


DESIGNS = {
    "centring only (shipped default)": AdaptOptions(pretext_weight=0.0),
    "pretext only (InfoNCE T0.1, w1, gram1, no centring)": AdaptOptions(center=False, pretext_weight=1.0),
    "centring + pretext (InfoNCE T0.1, w1, gram1)": AdaptOptions(pretext_weight=1.0),
    "centring + pretext (InfoNCE T0.2, w0.01, gram10)": AdaptOptions(pretext_weight=0.01, preserve_weight=10, temperature=0.2),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pooling", default="gem")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    vecs, labels, _ = fe.base_vectors("head", args.pooling)
    views = augmented_views(args.pooling)
    before = fe.mean_ap(vecs, labels)

    def augment(idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return views[rng.integers(0, len(views), size=len(idx)), idx]

    lines = ["| design | mAP before | mAP after | change | spread (max − min) | adapt s |", "|---|---|---|---|---|---|"]
    print(lines[0], flush=True)
    for name, opts in DESIGNS.items():
        after, secs = [], []
        for seed in fe.SEEDS:
            res = adapt(vecs, augment, opts, seed=seed)
            after.append(fe.mean_ap(res.adapter.apply_numpy(vecs), labels))
            secs.append(res.summary["seconds"])
        a = np.array(after)
        line = f"| {name} | {before:.3f} | {a.mean():.3f} | {a.mean() - before:+.3f} | {np.ptp(a):.3f} | {np.mean(secs):.1f} |"
        lines.append(line)
        print(line, flush=True)
    if not args.no_doc:
        doc = fe.ROOT / "docs" / "finetune.md"
        marker = "<!-- adapt results: written by benchmarks/adapt_eval.py -->"
        text = doc.read_text() if doc.exists() else ""
        if marker in text:
            pre, rest = text.split(marker, 1)
            nxt = rest.find("<!--")
            text = pre + marker + "\n\n" + "\n".join(lines) + "\n" + (rest[nxt:] if nxt >= 0 else "")
        else:
            text = text + "\n" + marker + "\n\n" + "\n".join(lines) + "\n"
        doc.write_text(text)


if __name__ == "__main__":
    main()
