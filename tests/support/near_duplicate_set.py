"""A labelled near-duplicate set made from the shared photos (used by the test and the benchmark).

Every third usable Caltech photo (at least 200) is a *base* and gets 1–3
variants of the kinds a person's collection really holds: a re-encode, a
downscale, a crop, a sideways copy fixed by its EXIF tag, an edit, a caption,
a letterbox, a greyscale copy. Every other usable photo is a *distractor*:
another photo of the same class, similar but not a duplicate. Photos that
Caltech itself holds twice (``caltech101-20-near-identical.tsv``) are left
out as bases and distractors, otherwise the truth would be wrong.

Truth is pairwise: two files are duplicates iff they come from the same base.
"""
from __future__ import annotations

import csv
import itertools
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

VARIANTS = ("jpeg35", "half", "crop8", "exif6", "bright", "caption", "letterbox", "grey")
MIN_BASES = 200
CAPTIONS = ("Summer 2019", "Grandma's 80th", "Best day ever!", "Trip to Rome", "Happy birthday", "Day 3")


@dataclass
class NearDuplicateSet:
    folder: Path
    group_of: dict[str, int]   # file path -> base number (distractors get a number of their own)
    kind_of: dict[str, str]    # file path -> "original", "distractor" or the variant kind
    bases: int
    distractors: int

    def true_pairs(self) -> set[tuple[str, str]]:
        by_group: dict[int, list[str]] = {}
        for path, g in self.group_of.items():
            by_group.setdefault(g, []).append(path)
        return {tuple(sorted(p)) for members in by_group.values() for p in itertools.combinations(members, 2)}


def near_identical(shared_data: Path) -> set[str]:
    """Relative paths of photos that Caltech holds in near-identical pairs."""
    tsv = shared_data / "caltech101-20-near-identical.tsv"
    with open(tsv, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {r[k] for r in rows for k in ("photo_a", "photo_b")}


def _save(im: Image.Image, path: Path, quality: int = 95, orientation: int | None = None) -> None:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    im.save(path, "JPEG", quality=quality, exif=exif.tobytes())


def make_variant(src: Image.Image, kind: str, path: Path, rng: random.Random) -> None:
    """Write one variant of ``src`` (an RGB image as displayed) to ``path``."""
    w, h = src.size
    if kind == "jpeg35":
        _save(src, path, quality=35)
    elif kind == "half":
        _save(src.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), path)
    elif kind == "crop8":
        dx, dy = round(w * 0.08), round(h * 0.08)
        _save(src.crop((dx, dy, w - dx, h - dy)), path)
    elif kind == "exif6":
        # Orientation 6 = "turn 90° clockwise to display", so store the picture turned counter-clockwise.
        _save(src.transpose(Image.Transpose.ROTATE_90), path, orientation=6)
    elif kind == "bright":
        _save(ImageEnhance.Contrast(ImageEnhance.Brightness(src).enhance(1.25)).enhance(1.15), path)
    elif kind == "caption":
        im = src.copy()
        bw, bh = round(w * 0.5), round(h * 0.2)  # 0.5 x 0.2 = a tenth of the picture
        x0 = rng.choice((round(w * 0.05), (w - bw) // 2, w - bw - round(w * 0.05)))
        y0 = rng.choice((round(h * 0.05), h - bh - round(h * 0.05)))
        draw = ImageDraw.Draw(im)
        draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill="white")
        font = ImageFont.load_default(size=max(8, bh // 3))
        draw.text((x0 + bw // 10, y0 + bh // 3), rng.choice(CAPTIONS), fill="black", font=font)
        _save(im, path)
    elif kind == "letterbox":
        band = round(w / 12)
        im = Image.new("RGB", (w, h + 2 * band), "black")
        im.paste(src, (0, band))
        _save(im, path)
    elif kind == "grey":
        _save(ImageOps.grayscale(src).convert("RGB"), path)
    else:
        raise ValueError(kind)


def build(shared_data: Path, dest: Path, seed: int = 7) -> NearDuplicateSet:
    """Write the set into ``dest`` (flat, names that reveal nothing) and return its truth."""
    caltech = shared_data / "caltech101-20"
    skip = near_identical(shared_data)
    photos = sorted(p for p in caltech.glob("*/*") if p.is_file() and p.relative_to(caltech).as_posix() not in skip)
    rng = random.Random(seed)
    n_bases = max(MIN_BASES, len(photos) // 3)
    bases = set(rng.sample(range(len(photos)), n_bases))
    dest.mkdir(parents=True, exist_ok=True)
    names = iter(rng.sample(range(100000), 100000))
    group_of: dict[str, int] = {}
    kind_of: dict[str, str] = {}
    for i, src_path in enumerate(photos):
        out = dest / f"IMG_{next(names):05d}.jpg"
        shutil.copyfile(src_path, out)
        group_of[str(out)] = i
        kind_of[str(out)] = "original" if i in bases else "distractor"
        if i not in bases:
            continue
        with Image.open(src_path) as im:
            src = ImageOps.exif_transpose(im).convert("RGB")
        for kind in rng.sample(VARIANTS, rng.randint(1, 3)):
            out = dest / f"IMG_{next(names):05d}.jpg"
            make_variant(src, kind, out, rng)
            group_of[str(out)] = i
            kind_of[str(out)] = kind
    return NearDuplicateSet(dest, group_of, kind_of, n_bases, len(photos) - n_bases)


def pair_scores(predicted_groups: list[list[str]], truth: set[tuple[str, str]]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of predicted groups against the true pairs."""
    predicted = {tuple(sorted(p)) for g in predicted_groups for p in itertools.combinations(g, 2)}
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, len(predicted), len(truth)
