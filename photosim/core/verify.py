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
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

#: Long side in pixels at which keypoints are found (photos are shrunk, small copies enlarged).
LONG_SIDE = 320
#: Keypoints looked for in each picture.
FEATURES = 500
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
        if long_side is None:
            return np.asarray(im)
        scale = long_side / max(im.size)
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        return np.asarray(im.resize(size, Image.Resampling.BICUBIC))
    except Exception:  # noqa: BLE001 - any unreadable file only means "cannot verify"
        return None


def keypoints(grey: np.ndarray) -> Keypoints:
    import cv2

    kps, desc = cv2.ORB_create(nfeatures=FEATURES).detectAndCompute(grey, None)
    if desc is None:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    return Keypoints(np.float32([k.pt for k in kps]), desc)


def inliers(a: Keypoints, b: Keypoints) -> int:
    """Matches between ``a`` and ``b`` consistent with one similarity transform (RANSAC)."""
    import cv2

    if len(a.points) < 3 or len(b.points) < 3:
        return 0
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    if len(good) < 3:
        return 0
    src = a.points[[m.queryIdx for m in good]]
    dst = b.points[[m.trainIdx for m in good]]
    _, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS)
    return int(mask.sum()) if mask is not None else 0
