"""Resizing of decoded pictures, shared by the network's input and the duplicate check's grey picture.

Area averaging is the right filter for shrinking (every source pixel counts
once, no aliasing), but OpenCV's area resize at a fractional ratio is several
times slower than at a whole one. So the picture is first brought, with a
mild linear step (at most about 1.5x either way), to a whole multiple of the
target, and then averaged down by that multiple. Enlarging (a photo smaller
than the target) is plain linear interpolation.
"""
from __future__ import annotations

import numpy as np


def resized(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``pixels`` (H x W or H x W x C, uint8) at ``width`` x ``height``."""
    import cv2

    h, w = pixels.shape[:2]
    if (w, h) == (width, height):
        return pixels
    kx, ky = max(1, round(w / width)), max(1, round(h / height))
    if (w, h) != (width * kx, height * ky):
        pixels = cv2.resize(pixels, (width * kx, height * ky), interpolation=cv2.INTER_LINEAR)
    if kx == ky == 1:
        return pixels
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)


def long_side_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is ``long_side``."""
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))
