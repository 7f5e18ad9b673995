"""Bursts and similar shots: frames of one scene taken moments apart, told apart from copies.

A copy of a photo (re-encoded, resized, cropped, recoloured, captioned) and
another frame of the same burst both pass the duplicate check: their
keypoints fit one similarity transform. They must not be treated alike, since
removing "the copies" of a burst would delete different moments. A pair the
check confirmed is a *burst* pair only when **both photos carry capture
instants** (EXIF DateTimeOriginal, to the sub-second where recorded) no more
than ``BURST_WINDOW`` apart: a camera writes them on every frame, and a photo
without one (a scan, a diagram, a picture saved from the web) is never a frame.
Then:

1. **The instants say so**: a copy keeps the capture instant of its original,
   burst frames are different instants; two cameras are never copies of each
   other. The same second without sub-second digits decides nothing (a camera
   takes ten frames a second): then
2. **the pictures say so**, after the alignment the duplicate check found (see
   :func:`pair_facts`):
   - *partial overlap*: each picture shows a strip of the scene the other does
     not (the camera moved). A copy shows the same view, or a part of it (a
     crop), or all of it with something added around it (a border);
   - *a part that moved*: keypoints that match between the two pictures but
     follow a motion of their own (a person walking). An edit moves nothing;
   - *different sharpness at the same size*: one of two pictures with the same
     pixel dimensions and the same framing is clearly blurrier (shake,
     focus). Resizing and recompressing change sharpness too, but a resized
     copy has other dimensions, and recompression costs far less sharpness.

A pair the pictures call other moments where the instants cannot (one or both
without a capture time), or taken further apart than the window, is *apart*:
neither a copy nor a burst, in no group (`similar` still shows it).

Exposure differences alone decide nothing: a brightened copy is a copy.

The *best shot* of a burst is the sharpest of the frames exposed like the
rest of the burst (within ``EXPOSURE_TOLERANCE`` stops of the burst's median):
a frame darker or brighter than the others caught a cloud, a flash or a
bracketing step. Both measures are taken once, at indexing, from the small
grey picture the keypoints are found on (:func:`measure`, about 0.1 ms).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .types import Photo
from .unionfind import UnionFind
from .verify import LONG_SIDE, RANSAC_PIXELS, RATIO, Keypoints

#: Share of its frame that each picture must show and the other not, for "the camera moved".
OVERLAP_STEP = 0.02
#: Matches that must agree on a motion of their own for "a part moved" (a half-size copy of a textured
#: photo reached 9: with 128 keypoints the cue is weak, so the bar is high) ...
MOVED_MATCHES = 12
#: ... differing from the whole picture's by this many pixels at LONG_SIDE.
MOVED_PIXELS = 12.0
#: A picture this much less sharp than another of the same size and framing is another moment: a copy
#: cropped and enlarged back to its size by up to MAX_ENLARGEMENT keeps at least 0.7 of its sharpness
#: (measured on the shared photos; benchmarks/bursts_quality.py checks that no cropped copy is taken for a
#: frame), a shaken or misfocused frame about half.
SHARPNESS_STEP = 0.6
MAX_ENLARGEMENT = 0.15
#: JPEG qualities this close count as "the same encoder settings" for the sharpness rule.
SAME_QUALITY = 5
#: A frame exposed this many stops away from its burst's median is badly exposed.
EXPOSURE_TOLERANCE = 0.5
#: Frames of one burst are at most this many seconds apart (each to the next): a camera's burst mode and a
#: person pressing again both fit; a return to the scene later is another visit (docs/decisions.md).
BURST_WINDOW = 10.0

# sRGB-ish decoding of the grey levels (gamma 2.2): exposure is judged on light, not on pixel values.
_LINEAR = (np.arange(256, dtype=np.float64) / 255.0) ** 2.2


# ---- measures, at indexing ----------------------------------------------------------------------

def measure(grey: np.ndarray) -> tuple[float, float]:
    """(sharpness, exposure) of an upright grey picture at LONG_SIDE.

    Sharpness: detail of the finest scale over that of the next (mean absolute
    Laplacian at full and at half size). A blurred frame loses the finest
    detail first; the ratio does not move with brightness or contrast, so a
    darker frame is not "less sharp". Exposure: log2 of the mean light
    (grey levels decoded with gamma 2.2), in stops; one stop brighter is +1.
    """
    import cv2

    g = np.ascontiguousarray(grey, np.uint8)
    half = cv2.pyrDown(g)
    fine = cv2.norm(cv2.Laplacian(g, cv2.CV_16S), cv2.NORM_L1) / g.size
    coarse = cv2.norm(cv2.Laplacian(half, cv2.CV_16S), cv2.NORM_L1) / max(half.size, 1)
    sharpness = fine / coarse if coarse > 0 else 0.0
    # The mean light of the half-size picture is that of the whole to within rounding, at a quarter of the work.
    hist = cv2.calcHist([half], [0], None, [256], [0, 256]).ravel()
    light = float(hist @ _LINEAR) / max(half.size, 1)
    return round(float(sharpness), 4), round(math.log2(max(light, 1e-4)), 3)


# ---- copy or burst frame ------------------------------------------------------------------------

@dataclass(frozen=True)
class PairFacts:
    """What the alignment of two pictures shows (a -> b, positions at LONG_SIDE)."""

    inliers: int
    scale: float          # how much larger the scene appears in b than in a
    outside_a: float      # share of a's frame that b does not show
    outside_b: float      # share of b's frame that a does not show
    keypoints_outside_a: int
    keypoints_outside_b: int
    moved: int            # matches that follow a motion of their own (0: none)


def frame_size(p: Photo) -> tuple[float, float]:
    """The picture's size at LONG_SIDE, as the keypoints were found on it (verify.grey_at)."""
    w, h = p.width or LONG_SIDE, p.height or LONG_SIDE
    s = LONG_SIDE / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def pair_facts(ka: Keypoints, kb: Keypoints, size_a: tuple[float, float],
               size_b: tuple[float, float]) -> PairFacts | None:
    """Align a to b as the duplicate check does and describe the overlap; None if they do not align."""
    import cv2

    if len(ka.points) < 3 or len(kb.points) < 3:
        return None
    dist, idx = cv2.batchDistance(ka.descriptors, kb.descriptors, -1, normType=cv2.NORM_HAMMING, K=2)
    good = np.flatnonzero(dist[:, 0] < RATIO * dist[:, 1])
    if len(good) < 3:
        return None
    src, dst = ka.points[good], kb.points[idx[good, 0]]
    m, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS)
    if m is None or mask is None:
        return None
    inlier = mask.ravel().astype(bool)
    scale = float(math.hypot(m[0, 0], m[1, 0]))
    rect_a, rect_b = _rect(size_a), _rect(size_b)
    a_in_b = cv2.transform(rect_a[None], m)[0]  # a's frame seen in b
    inter, _ = cv2.intersectConvexConvex(a_in_b, rect_b)
    area_a_in_b = abs(cv2.contourArea(a_in_b))
    outside_a = 1.0 - inter / area_a_in_b if area_a_in_b > 0 else 0.0
    outside_b = 1.0 - inter / (size_b[0] * size_b[1])
    # Keypoints of a whose place falls outside b's frame (with a margin), and the other way round.
    inv = cv2.invertAffineTransform(m)
    pa_in_b = cv2.transform(ka.points[None], m)[0]
    pb_in_a = cv2.transform(kb.points[None], inv)[0]
    return PairFacts(
        inliers=int(inlier.sum()), scale=scale, outside_a=max(0.0, float(outside_a)),
        outside_b=max(0.0, float(outside_b)),
        keypoints_outside_a=_outside(pa_in_b, size_b), keypoints_outside_b=_outside(pb_in_a, size_a),
        moved=_second_motion(src[~inlier], dst[~inlier], m))


def _rect(size: tuple[float, float]) -> np.ndarray:
    w, h = size
    return np.float32([[0, 0], [w, 0], [w, h], [0, h]])


def _outside(points: np.ndarray, size: tuple[float, float], margin: float = RANSAC_PIXELS) -> int:
    x, y = points[:, 0], points[:, 1]
    return int(((x < -margin) | (y < -margin) | (x > size[0] + margin) | (y > size[1] + margin)).sum())


def _second_motion(src: np.ndarray, dst: np.ndarray, main: np.ndarray) -> int:
    """Matches (not fitting the main transform) that agree on a shift of their own, far from the main one."""
    import cv2

    if len(src) < MOVED_MATCHES:
        return 0
    m, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS)
    if m is None or mask is None or int(mask.sum()) < MOVED_MATCHES:
        return 0
    inl = mask.ravel().astype(bool)
    # The two motions must really differ where those points are, not only within RANSAC's tolerance.
    gap = np.linalg.norm(cv2.transform(src[inl][None], m)[0] - cv2.transform(src[inl][None], main)[0], axis=1)
    return int(inl.sum()) if float(np.median(gap)) >= MOVED_PIXELS else 0


def capture_instant(p: Photo) -> tuple[datetime, float | None] | None:
    """(capture time to the second, sub-second fraction if recorded), or None without a capture time."""
    if not p.taken_at:
        return None
    try:
        when = datetime.fromisoformat(p.taken_at)
    except ValueError:
        return None
    sub = getattr(p, "taken_subsec", None)
    return when, float("0." + sub) if sub and sub.isdigit() else None


def seconds_apart(a: Photo, b: Photo) -> float | None:
    """Seconds between the two capture instants (sub-seconds counted where both have them), or None
    when one has no capture time."""
    ta, tb = capture_instant(a), capture_instant(b)
    if ta is None or tb is None:
        return None
    return abs((ta[0] - tb[0]).total_seconds() + (ta[1] or 0.0) - (tb[1] or 0.0))


def metadata_verdict(a: Photo, b: Photo) -> str | None:
    """"copy", "burst", "apart" or None (the metadata decides nothing: the pictures do).

    Without a capture time on both, a pair can be a copy but never a burst: "apart" is then what the
    pictures' "other moment" turns into (see :func:`classify`)."""
    ta, tb = capture_instant(a), capture_instant(b)
    if ta is None or tb is None:
        return None
    if seconds_apart(a, b) > BURST_WINDOW:
        return "apart"
    cam_a, cam_b = getattr(a, "camera", None), getattr(b, "camera", None)
    if cam_a and cam_b and cam_a != cam_b:
        return "burst"
    if ta[0] != tb[0]:
        return "burst"
    if ta[1] is not None and tb[1] is not None:
        return "copy" if ta[1] == tb[1] else "burst"
    return None


def classify(a: Photo, b: Photo, facts: PairFacts | None) -> tuple[str, str]:
    """("copy" | "burst" | "apart", why in words) for a pair the duplicate check confirmed."""
    verdict = metadata_verdict(a, b)
    if verdict == "burst":
        return "burst", _instants_apart(a, b)
    if verdict == "apart":
        return "apart", _instants_apart(a, b)
    if verdict == "copy":
        return "copy", "same capture instant"
    other = None
    if facts is not None:
        if min(facts.outside_a, facts.outside_b) >= OVERLAP_STEP:
            other = "the camera moved (each shows a part of the scene the other does not)"
        elif facts.moved:
            other = "a part of the scene moved"
    if other is None and (_blurrier(a, b, facts) or _blurrier(b, a, facts)):
        other = "one is clearly blurrier at the same size"
    if other is None:
        return "copy", "same view"
    if capture_instant(a) is None or capture_instant(b) is None:
        return "apart", other + "; without a capture time on both it is not a burst"
    return "burst", other


def _blurrier(a: Photo, b: Photo, facts: PairFacts | None) -> bool:
    """``a`` is clearly less sharp than ``b``, at the same pixel size and framing."""
    sa, sb = getattr(a, "sharpness", None), getattr(b, "sharpness", None)
    if not sa or not sb or (a.width, a.height) != (b.width, b.height):
        return False
    qa, qb = a.jpeg_quality, b.jpeg_quality
    if (qa is None) != (qb is None) or (qa is not None and abs(qa - qb) > SAME_QUALITY):
        return False  # recompression moves the measure both ways (blocking adds fine detail, smoothing takes it)
    if facts is not None and abs(facts.scale - 1.0) > MAX_ENLARGEMENT:
        return False
    return sa < SHARPNESS_STEP * sb


def _instants_apart(a: Photo, b: Photo) -> str:
    ta, tb = capture_instant(a), capture_instant(b)
    cam_a, cam_b = getattr(a, "camera", None), getattr(b, "camera", None)
    if cam_a and cam_b and cam_a != cam_b:
        return f"taken with different cameras ({cam_a}, {cam_b})"
    if ta and tb:
        seconds = seconds_apart(a, b)
        return f"taken {seconds:.2f} s apart" if seconds < 60 else f"taken {seconds / 60:.0f} min apart"
    return "taken at different instants"


# ---- best shot ----------------------------------------------------------------------------------

def exposure_offsets(frames: list[Photo]) -> dict[int, float | None]:
    """photo id -> stops from the frames' median exposure where beyond EXPOSURE_TOLERANCE (0.0 within it,
    None where not measured): a frame darker or brighter than the rest is badly exposed."""
    exposures = [p.exposure for p in frames if getattr(p, "exposure", None) is not None]
    median = float(np.median(exposures)) if exposures else 0.0
    out: dict[int, float | None] = {}
    for p in frames:
        e = getattr(p, "exposure", None)
        out[p.id] = None if e is None else (e - median if abs(e - median) > EXPOSURE_TOLERANCE else 0.0)
    return out


def shot_key(p: Photo, off: float | None) -> tuple[int, float]:
    """Sort key of a frame for the best shot (lower is better): well exposed before badly exposed (the
    nearer the middle the better), then the sharpest; frames without measures last. ``off``: its
    entry of :func:`exposure_offsets`. The "sharpness" keeper rule (core/keeper.py) is this key."""
    s = getattr(p, "sharpness", None)
    if s is None:
        return (2, 0.0)
    if off:
        return (1, abs(off))
    return (0, -float(s))


def why_not_best(p: Photo, off: float | None) -> str:
    """What puts ``p`` after the best shot, in words (``off`` as in :func:`shot_key`)."""
    if getattr(p, "sharpness", None) is None:
        return "has no measures"
    if off:
        return f"is {abs(off):.1f} stops {'brighter' if off > 0 else 'darker'} than the others"
    return f"is less sharp ({p.sharpness:.2f})"


def best_shot_reason(ranked: list[Photo]) -> str:
    """Why the first of ``ranked`` is suggested, naming what puts each other frame after it."""
    best = ranked[0]
    exposures = [p.exposure for p in ranked if getattr(p, "exposure", None) is not None]
    median = float(np.median(exposures)) if exposures else 0.0
    if getattr(best, "sharpness", None) is None or getattr(best, "exposure", None) is None:
        return f"best shot {os.path.basename(best.path)}: no sharpness measured (indexed by an older photosim)"
    head = (f"best shot {os.path.basename(best.path)}: sharpest of the well-exposed frames "
            f"(sharpness {best.sharpness:.2f}, exposure {best.exposure:+.2f} stops; the burst's middle "
            f"{median:+.2f})")
    offsets = exposure_offsets(ranked)
    why = [f"{os.path.basename(p.path)} {why_not_best(p, offsets[p.id])}" for p in ranked[1:]]
    return head + ("; " + "; ".join(why) if why else "")


# ---- groups -------------------------------------------------------------------------------------

@dataclass
class Sorted:
    """Confirmed look-alikes sorted into groups. A *unit* is one capture: a photo, its copies, and a RAW
    with its camera JPEG; a burst joins units, so every photo is in one group."""

    near: list[list[int]]           # units of copies (no RAW + JPEG pair inside): exact or near groups
    paired: list[list[int]]         # units holding a RAW + JPEG pair (and perhaps copies of it)
    bursts: list[list[list[int]]]   # each burst: its units, two or more


def sort_out(copies: list[tuple[int, int]], bursts: list[tuple[int, int]], raw_pairs: list[tuple[int, int]],
             forbidden: set[tuple[int, int]] = frozenset(), same_bytes: list[list[int]] = ()) -> Sorted:
    """Units from same-bytes groups, copy pairs and RAW + JPEG pairs, bursts from burst pairs between units.

    Files with the same bytes are one unit with whatever copies them, so an exact pair inside a burst
    (or beside a re-encode of it) is in that one group, never listed again on its own. A pair the user
    marked "not duplicates" joins nothing directly, whatever its kind.
    """
    def allowed(a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) not in forbidden

    units = UnionFind()
    for g in same_bytes:  # each file joins the first earlier one it is not marked apart from
        for n, x in enumerate(g[1:], 1):
            y = next((y for y in g[:n] if allowed(x, y)), None)
            if y is not None:
                units.union(x, y)
    for a, b in list(copies) + list(raw_pairs):
        if allowed(a, b):
            units.union(a, b)
    scenes = UnionFind()
    for a, b in bursts:
        if allowed(a, b) and units.find(a) != units.find(b):
            scenes.union(units.find(a), units.find(b))
    members: dict[int, list[int]] = {}
    for x in set(units.parent) | {i for pair in bursts for i in pair}:
        members.setdefault(units.find(x), []).append(x)
    in_burst = {u for g in scenes.groups() for u in g}
    paired_ids = {i for pair in raw_pairs for i in pair if allowed(*pair)}
    out = Sorted([], [], [sorted(sorted(members[u]) for u in g) for g in scenes.groups()])
    for root, ids in sorted(members.items()):
        if root in in_burst or len(ids) < 2:
            continue
        (out.paired if paired_ids & set(ids) else out.near).append(sorted(ids))
    return out
