"""Geometric verification of candidate duplicate pairs: do the two pictures share their geometry?

The global embedding says "these look alike", which is also true of two
different photos of the same piano. A copy of one photo, though edited, keeps
the exact arrangement of its corners and edges: ORB keypoints matched between
the two fit one similarity transform (scale, rotation, shift) with many
inliers, while two different shots of one scene or object fit none. This is
what makes a re-encoded, resized, cropped, captioned, letterboxed or
greyscale copy a duplicate and a photo of a different moment not.

Pictures are compared in grey at a fixed long side (``LONG_SIDE``), with EXIF
orientation applied, so colour changes, brightness and size do not matter.

The keypoints of every photo are found once, while it is decoded for
indexing (the picture is already in memory then), and stored packed
(``pack``/``unpack``, about 4.6 KB a photo), so finding duplicates in a large
library compares stored keypoints instead of reading thousands of files again.
"""
from __future__ import annotations

import struct
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps

from . import resample

#: Long side in pixels at which keypoints are found (photos are shrunk, small copies enlarged).
LONG_SIDE = 320
#: Keypoints looked for in each picture. 128 confirm copies as well as 500 did on the
#: near-duplicate set (docs/duplicates.md), at a quarter of the storage (4.6 KB a photo) and a
#: sixth of the matching time, which is what a 100,000-photo `dupes` spends most of its time on.
FEATURES = 128
#: Fewer keypoints than this and a picture is too flat to verify (judged by similarity alone).
MIN_KEYPOINTS = 40
#: Lowe's ratio test: a match counts only if clearly better than the second best.
RATIO = 0.8
#: RANSAC reprojection tolerance at LONG_SIDE, in pixels.
RANSAC_PIXELS = 5.0
#: Largest picture read at its own size (to measure its detail for the keeper rule).
MAX_NATIVE_PIXELS = 50_000_000


@dataclass(frozen=True)
class Keypoints:
    points: np.ndarray       # (N, 2) float32, pixel positions at LONG_SIDE
    descriptors: np.ndarray  # (N, 32) uint8, ORB binary descriptors

    @property
    def enough(self) -> bool:
        return len(self.points) >= MIN_KEYPOINTS


def load_grey(path: str, long_side: int | None = LONG_SIDE) -> np.ndarray | None:
    """The photo as displayed (EXIF orientation applied), grey, long side ``long_side`` (None: as
    stored, up to MAX_NATIVE_PIXELS); None if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                if long_side is None:
                    if im.width * im.height > MAX_NATIVE_PIXELS:
                        return None
                elif im.format in ("JPEG", "MPO"):
                    im.draft("L", (long_side, long_side))  # a 12 MP JPEG decodes at 1/8 scale
                im = ImageOps.exif_transpose(im).convert("L")
        return np.asarray(im) if long_side is None else grey_at(im, long_side)
    except Exception:  # noqa: BLE001 - any unreadable file only means "cannot verify"
        return None


def grey_at(im: Image.Image, long_side: int = LONG_SIDE) -> np.ndarray:
    """``im`` (already upright) in grey, shrunk or enlarged to ``long_side``."""
    return grey_array(np.asarray(im if im.mode == "L" else im.convert("L")), long_side)


def grey_array(grey: np.ndarray, long_side: int = LONG_SIDE) -> np.ndarray:
    """A grey picture (H x W uint8) shrunk or enlarged to ``long_side``, as the indexer finds keypoints on it."""
    size = resample.long_side_size(grey.shape[1], grey.shape[0], long_side)
    if size[0] > grey.shape[1]:  # enlarging: Pillow's bicubic keeps the fine detail linear would smooth
        return np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.BICUBIC))
    return resample.resized(grey, *size)


@contextmanager
def one_thread_each() -> Iterator[None]:
    """OpenCV spreads its work over every core by default. The indexer already decodes (and finds
    keypoints) on every core at once, and the extra threads cost it a few percent (5% in paired runs
    on the 1 MP set); the duplicate check, which runs alone, keeps them (half its time)."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def keypoints(grey: np.ndarray) -> Keypoints:
    import cv2

    kps, desc = cv2.ORB_create(nfeatures=FEATURES).detectAndCompute(grey, None)
    if desc is None:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    return Keypoints(np.float32([k.pt for k in kps]), desc)


_HEADER = struct.Struct("<H")


def pack(kp: Keypoints) -> bytes:
    """Keypoints as stored: a count, then float16 positions (to 1/4 pixel at LONG_SIDE), then descriptors."""
    n = len(kp.points)
    return _HEADER.pack(n) + kp.points.astype(np.float16).tobytes() + kp.descriptors.astype(np.uint8).tobytes()


def unpack(data: bytes) -> Keypoints:
    (n,) = _HEADER.unpack_from(data)
    start = _HEADER.size
    points = np.frombuffer(data, np.float16, 2 * n, start).reshape(n, 2).astype(np.float32)
    descriptors = np.frombuffer(data, np.uint8, 32 * n, start + 4 * n).reshape(n, 32)
    return Keypoints(points, descriptors)


def signature(im: Image.Image) -> bytes:
    """The stored keypoints of an upright picture (what the indexer keeps for the duplicate check)."""
    return pack(keypoints(grey_at(im)))


def inliers(a: Keypoints, b: Keypoints, needed: int = 3) -> int:
    """Matches between ``a`` and ``b`` consistent with one similarity transform (RANSAC).

    Fewer than ``needed`` distinctive matches cannot give ``needed`` inliers: then
    the count of those matches is returned without running RANSAC (most candidate
    pairs in a large library end here, in a fraction of a millisecond).
    """
    import cv2

    if len(a.points) < 3 or len(b.points) < 3:
        return 0
    # The two nearest descriptors of each keypoint of a, as arrays (no per-match Python objects).
    dist, idx = cv2.batchDistance(a.descriptors, b.descriptors, -1, normType=cv2.NORM_HAMMING, K=2)
    good = np.flatnonzero(dist[:, 0] < RATIO * dist[:, 1])
    if len(good) < max(3, needed):
        return len(good) if len(good) >= 3 else 0
    src = a.points[good]
    dst = b.points[idx[good, 0]]
    _, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS)
    return int(mask.sum()) if mask is not None else 0
