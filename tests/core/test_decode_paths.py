"""JPEGs take a faster decoder (OpenCV) than other formats (Pillow): both must give the same pictures,
so a photo and its PNG or rotated copy embed alike and their keypoints match."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from photosim.core import verify
from photosim.core.decode import decode_bytes


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _first_jpeg(caltech: Path) -> Path:
    return sorted(caltech.rglob("*.jpg"))[5]


def test_a_jpeg_and_a_png_of_its_pixels_give_the_same_input(caltech):
    path = _first_jpeg(caltech)
    data = path.read_bytes()
    jpeg = decode_bytes(str(path), data, len(data), 1)
    png = decode_bytes("copy.png", _png(Image.open(path).convert("RGB")), 1, 1)
    assert jpeg.format == "JPEG" and png.format == "PNG"
    assert np.array_equal(jpeg.pixels, png.pixels)  # same decoder library, same resampler
    assert jpeg.keypoints == png.keypoints


def test_a_large_rotated_jpeg_matches_its_upright_png(caltech):
    """Decoded at 1/8 scale and turned after resizing, as EXIF orientation 6 says; the PNG is
    decoded at full size and resized once."""
    im = Image.open(_first_jpeg(caltech)).convert("RGB")
    big = im.resize((im.width * 6, im.height * 6), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    turned = decode_bytes("turned.jpg", buf.getvalue(), 1, 1)
    upright = decode_bytes("upright.png", _png(big.transpose(Image.Transpose.ROTATE_270)), 1, 1)
    assert (turned.width, turned.height) == (upright.width, upright.height) == (big.height, big.width)
    assert np.abs(turned.pixels.astype(int) - upright.pixels).mean() < 3
    a, b = verify.unpack(turned.keypoints), verify.unpack(upright.keypoints)
    assert a.enough and verify.inliers(a, b) >= 0.7 * len(a.points)


def test_a_truncated_jpeg_is_refused_not_padded(caltech):
    data = _first_jpeg(caltech).read_bytes()
    got = decode_bytes("cut.jpg", data[: len(data) * 2 // 3], 1, 1)
    assert "truncated" in getattr(got, "reason", "")
