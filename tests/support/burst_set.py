"""A labelled burst set made from the shared photos (used by the burst test and the benchmark).

A *scene* is a shared photo; a burst is 3–5 frames of it as a hand-held camera
takes them a moment apart: each frame is a window of the scene (88% of each
side) and the camera moves between frames (a small shift, a rotation of a few
degrees, or a slight zoom). Frame 0, the *reference*, is the centre window,
untouched: the sharpest and best exposed. Every other frame also differs in
the moment: motion blur, defocus, or an exposure step (at least one; some
frames two). In a quarter of the bursts an object (a piece of another photo)
moves across the scene: it is in every frame, the reference too, at a
different place each time.

Distractors are other photos of the same classes, as in the near-duplicate
set: similar, not bursts. A third of them also get one *copy* made by an edit
a burst must never be confused with (those of the near-duplicate set, plus a
small rotation straightened and cropped, expanded, or filled at the corners,
a frame, a watermark, a colour shift): each must stay a near-duplicate.

Frames carry capture instants as a camera writes them (EXIF DateTimeOriginal:
a burst needs them on both photos); scenes are ten minutes apart. Half the
bursts are from a camera that writes sub-seconds (0.2 s a frame: the instants
decide); in the other half every frame has the same second and no
sub-seconds, so only the pictures can tell a burst frame from a copy (the
harder case). Distractors and their copies carry no capture time.

Truth is pairwise: two files are burst frames of each other iff they come from
the same scene; the reference of each scene is the best shot.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from .near_duplicate_set import near_identical
from PIL import Image, ImageOps

#: When the first scene was taken.
START = datetime(2022, 5, 1, 10, 0, 0)
#: Share of each side of the scene that one frame shows.
WINDOW = 0.88
MIN_SCENES = 60
MOMENTS = ("motion", "defocus", "exposure")
COPY_EDITS = ("jpeg35", "half", "crop8", "bright", "grey", "letterbox", "straighten2", "rotate3-expand",
              "rotate2-fill", "frame", "watermark", "recolour")


@dataclass
class BurstSet:
    folder: Path
    scene_of: dict[str, int]                       # file -> scene number (distractors: their own number)
    alterations: dict[str, tuple[str, ...]]        # file -> what differs from the reference (() for it)
    references: dict[int, str] = field(default_factory=dict)  # scene -> its reference frame
    moving: set[int] = field(default_factory=set)  # scenes with a moving object
    copy_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # copy -> (its original, the edit)

    def true_pairs(self) -> set[tuple[str, str]]:
        by_scene: dict[int, list[str]] = {}
        for path, s in self.scene_of.items():
            if path not in self.copy_of:
                by_scene.setdefault(s, []).append(path)
        return {tuple(sorted(p)) for members in by_scene.values() for p in itertools.combinations(members, 2)}


def _warp(scene: np.ndarray, out_size: tuple[int, int], shift: tuple[float, float], angle: float,
          zoom: float) -> np.ndarray:
    """The frame a camera at (shift, angle, zoom) sees: out pixel -> scene pixel, edges reflected."""
    import cv2

    h, w = scene.shape[:2]
    ow, oh = out_size
    if angle == 0 and zoom == 1 and float(shift[0]).is_integer() and float(shift[1]).is_integer():
        x0, y0 = (w - ow) // 2 + int(shift[0]), (h - oh) // 2 + int(shift[1])
        return scene[y0:y0 + oh, x0:x0 + ow].copy()  # a plain crop: no resampling at all
    a = math.radians(angle)
    c, s = math.cos(a) / zoom, math.sin(a) / zoom
    cx, cy = w / 2 + shift[0], h / 2 + shift[1]
    # scene = R * (out - out_centre) + (cx, cy)
    m = np.float32([[c, -s, cx - c * ow / 2 + s * oh / 2], [s, c, cy - s * ow / 2 - c * oh / 2]])
    return cv2.warpAffine(scene, m, (ow, oh), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


def motion_blur(im: np.ndarray, length: int, angle: float) -> np.ndarray:
    import cv2

    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(im, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT_101)


def defocus(im: np.ndarray, radius: float) -> np.ndarray:
    import cv2

    r = int(math.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = (x * x + y * y <= radius * radius + 0.5).astype(np.float32)
    return cv2.filter2D(im, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT_101)


def exposure(im: np.ndarray, stops: float) -> np.ndarray:
    linear = (im.astype(np.float32) / 255.0) ** 2.2 * (2.0 ** stops)
    return (np.clip(linear, 0, 1) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)


def _frame(scene: np.ndarray, size: tuple[int, int], rng: random.Random) -> tuple[np.ndarray, list[str]]:
    """One non-reference frame: a camera move, then one or two changes of the moment."""
    w, h = size
    done: list[str] = []
    camera = rng.choice(("shift", "shift", "rotate", "zoom"))
    sx = rng.choice((-1, 1)) * rng.uniform(0.015, 0.05) * w
    sy = rng.uniform(-0.03, 0.03) * h
    angle, zoom = 0.0, 1.0
    if camera == "shift":
        sx, sy = round(sx), round(sy)
        done.append("shift")
    elif camera == "rotate":
        angle = rng.choice((-1, 1)) * rng.uniform(1.0, 4.0)
        sx, sy = sx / 2, sy / 2
        done.append(f"rotate{abs(angle):.0f}")
    else:
        zoom = rng.uniform(1.05, 1.12)
        sx, sy = sx / 2, sy / 2
        done.append("zoom")
    frame = _warp(scene, size, (sx, sy), angle, zoom)
    for moment in rng.sample(MOMENTS, rng.choice((1, 1, 2))):
        scale = max(w, h) / 320  # strengths as seen at the duplicate check's 320 px
        if moment == "motion":
            length = max(3, round(rng.uniform(3, 9) * scale)) | 1
            frame = motion_blur(frame, length, rng.uniform(0, 180))
        elif moment == "defocus":
            frame = defocus(frame, rng.uniform(1.2, 3.0) * scale)
        else:
            frame = exposure(frame, rng.choice((-1, 1)) * rng.uniform(0.5, 1.0))
        done.append(moment)
    return frame, done


def _paste(scene: np.ndarray, thing: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    out = scene.copy()
    th, tw = thing.shape[:2]
    out[at[1]:at[1] + th, at[0]:at[0] + tw] = thing
    return out


def build(shared_data: Path, dest: Path, seed: int = 7, scenes: int | None = None,
          distractors: int | None = None) -> BurstSet:
    """Write the set into ``dest`` (flat, names that reveal nothing) and return its truth."""
    caltech = shared_data / "caltech101-20"
    skip = near_identical(shared_data)
    photos = sorted(p for p in caltech.glob("*/*") if p.is_file() and p.relative_to(caltech).as_posix() not in skip)
    rng = random.Random(seed)
    order = rng.sample(range(len(photos)), len(photos))
    n_scenes = scenes or max(MIN_SCENES, len(photos) // 6)
    n_distractors = distractors if distractors is not None else 2 * n_scenes
    scene_ids, distractor_ids = order[:n_scenes], order[n_scenes:n_scenes + n_distractors]
    # Moving objects come from photos that are in the set in no other way (else a distractor would share them).
    unused = order[n_scenes + n_distractors:] or scene_ids
    dest.mkdir(parents=True, exist_ok=True)
    names = iter(rng.sample(range(100000), 100000))
    out = BurstSet(dest, {}, {})

    def save(arr: np.ndarray, scene: int, alterations: tuple[str, ...], taken: tuple[str, str] | None = None) -> str:
        path = dest / f"IMG_{next(names):05d}.jpg"
        exif = Image.Exif()
        if taken is not None:
            exif.get_ifd(0x8769).update({0x9003: taken[0], **({0x9291: taken[1]} if taken[1] else {})})
        Image.fromarray(arr).save(path, "JPEG", quality=92, exif=exif.tobytes())
        out.scene_of[str(path)] = scene
        out.alterations[str(path)] = alterations
        return str(path)

    for n, i in enumerate(scene_ids):
        with Image.open(photos[i]) as im:
            scene = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        h, w = scene.shape[:2]
        size = (round(w * WINDOW), round(h * WINDOW))
        frames = rng.randint(3, 5)
        if rng.random() < 0.25:  # an object crosses the scene: at a new place in every frame
            out.moving.add(i)
            with Image.open(photos[rng.choice(unused)]) as im:
                other = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            oh, ow = other.shape[:2]
            tw, th = max(8, round(w * 0.3)), max(8, round(h * 0.3))
            thing = np.asarray(Image.fromarray(other[oh // 4:oh * 3 // 4, ow // 4:ow * 3 // 4]).resize((tw, th)))
            x0, y0 = rng.randint(0, w - tw), rng.randint(0, h - th)
            dx, dy = rng.choice((-1, 1)) * w * rng.uniform(0.08, 0.15), rng.uniform(-0.05, 0.05) * h
            places = [(int(min(max(x0 + k * dx, 0), w - tw)), int(min(max(y0 + k * dy, 0), h - th)))
                      for k in range(frames)]
            scenes_at = [_paste(scene, thing, p) for p in places]
        else:
            scenes_at = [scene] * frames
        second = (START + timedelta(minutes=10 * n)).strftime("%Y:%m:%d %H:%M:%S")  # scenes ten minutes apart
        subsec = n % 2 == 0  # half the cameras write sub-seconds: 0.2 s a frame (at most 5 frames)

        def taken(k: int, second=second, subsec=subsec) -> tuple[str, str]:
            return second, f"{200 * k:03d}" if subsec else ""

        out.references[i] = save(_warp(scenes_at[0], size, (0, 0), 0.0, 1.0), i, (), taken(0))
        for k in range(1, frames):
            arr, done = _frame(scenes_at[k], size, rng)
            save(arr, i, tuple(done) + (("moving",) if i in out.moving else ()), taken(k))
    for n, i in enumerate(distractor_ids):
        with Image.open(photos[i]) as im:
            src = ImageOps.exif_transpose(im).convert("RGB")
        original = save(np.asarray(src), i, ("distractor",))
        if n % 3 == 0:
            edit = COPY_EDITS[(n // 3) % len(COPY_EDITS)]
            path = dest / f"IMG_{next(names):05d}.jpg"
            copy_edit(src, edit, path, rng)
            out.scene_of[str(path)] = i
            out.alterations[str(path)] = ("copy", edit)
            out.copy_of[str(path)] = (original, edit)
    return out


def copy_edit(src: Image.Image, edit: str, path: Path, rng: random.Random) -> None:
    """Write a copy of ``src`` made by ``edit`` (a person's edit, not another moment)."""
    from .near_duplicate_set import make_variant
    from PIL import ImageDraw, ImageEnhance, ImageFont

    w, h = src.size
    if edit in ("jpeg35", "half", "crop8", "bright", "grey", "letterbox"):
        make_variant(src, edit, path, rng)
        return
    if edit == "straighten2":  # an editor's straighten tool: rotate, then crop to the largest upright frame
        rot = src.rotate(2.0, Image.Resampling.BICUBIC)
        a = math.radians(2.0)
        k = 1 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
        cw, ch = int(w * k), int(h * k)
        im = rot.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
    elif edit == "rotate3-expand":
        im = src.rotate(3.0, Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    elif edit == "rotate2-fill":
        im = src.rotate(-2.0, Image.Resampling.BICUBIC, fillcolor="black")
    elif edit == "frame":
        pad = max(4, round(min(w, h) * 0.06))
        im = ImageOps.expand(src, border=pad, fill="white")
    elif edit == "watermark":
        im = src.convert("RGBA")
        layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
        font = ImageFont.load_default(size=max(10, h // 8))
        ImageDraw.Draw(layer).text((w // 8, h // 2), "© photosim", fill=(255, 255, 255, 110), font=font)
        im = Image.alpha_composite(im, layer).convert("RGB")
    elif edit == "recolour":
        r, g, b = src.split()
        im = ImageEnhance.Color(Image.merge("RGB", (b, r, g))).enhance(1.3)
    else:
        raise ValueError(edit)
    im.save(path, "JPEG", quality=90)


@dataclass
class BurstScores:
    precision: float           # of the pairs inside burst groups, those that are frames of one scene
    recall: float              # of the frame pairs, those inside one burst group
    predicted: int
    true: int
    best_right: int            # burst groups holding a reference whose suggested best shot is that reference
    best_groups: int
    best_wrong: dict[str, int]  # what was suggested instead (alterations)
    moments_as_copies: int     # frame pairs inside a near-duplicate (or exact) group: a removal of copies would take them
    copies: dict[str, dict[str, int]]  # edit -> kind of group holding copy and original ("none": not grouped)
    found_by_kind: dict[str, tuple[int, int]]  # alteration -> (reference-frame pairs in one burst group, all)


def score(groups: list[tuple[str, list[str]]], bs: BurstSet) -> BurstScores:
    """Score (kind, member paths, best first) groups against the set's truth."""
    truth = bs.true_pairs()

    def pairs(members: list[str]) -> set[tuple[str, str]]:
        return {tuple(sorted(p)) for p in itertools.combinations(members, 2)}

    burst = set().union(*[pairs(m) for k, m in groups if k == "burst"])
    copyish = set().union(*[pairs(m) for k, m in groups if k in ("near", "exact")])
    hits = len(burst & truth)
    right, total, wrong = 0, 0, {}
    refs = set(bs.references.values())
    for kind, members in groups:
        held = refs & set(members)
        if kind != "burst" or not held:
            continue
        total += 1
        if members[0] in held:
            right += 1
        else:
            for a in bs.alterations.get(members[0], ("?",)):
                wrong[a] = wrong.get(a, 0) + 1
    copies: dict[str, dict[str, int]] = {}
    kind_of_pair = {p: k for k, m in groups for p in pairs(m)}
    for path, (original, edit) in bs.copy_of.items():
        k = kind_of_pair.get(tuple(sorted((path, original))), "none")
        copies.setdefault(edit, {}).setdefault(k, 0)
        copies[edit][k] += 1
    found: dict[str, list[int]] = {}
    for scene, ref in bs.references.items():
        for path, s in bs.scene_of.items():
            if s != scene or path == ref or path in bs.copy_of:
                continue
            for a in bs.alterations[path]:
                f = found.setdefault(a, [0, 0])
                f[1] += 1
                f[0] += tuple(sorted((ref, path))) in burst
    return BurstScores(hits / len(burst) if burst else 1.0, hits / len(truth) if truth else 1.0, len(burst),
                       len(truth), right, total, wrong, len(copyish & truth), copies,
                       {k: (v[0], v[1]) for k, v in sorted(found.items())})


def save_frame(arr: np.ndarray, path: Path, taken: str = "2023:08:01 09:15:42", subsec: str = "") -> None:
    """A JPEG as a camera writes a frame: with its capture instant (a burst needs one on both photos). With
    no ``subsec``, frames of one second are told apart by their pictures."""
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: taken, **({0x9291: subsec} if subsec else {})})
    Image.fromarray(arr).save(path, "JPEG", quality=92, exif=exif.tobytes())
