"""The one size guard every decode of a person's file passes (indexing, thumbnails, zoom, RAW):
a file larger than any photo is refused from its size before a byte is read, and an image whose
header declares more pixels than a photo has is refused before it is decoded.

The bounds follow from the formats (docs/reliability.md, bad input): JPEG decodes at 1/8 scale, so
its bound is on what a reduced decode allocates; every other format decodes at full size."""
from __future__ import annotations

import os
import warnings

from PIL import Image

from . import raw

#: Largest image we agree to decode at full size (formats without reduced-scale decoding): 120 MP
#: is above every camera sold; a 30000×30000 PNG (900 MP, 2.7 GB decoded) is refused.
MAX_DECODED_PIXELS = 120_000_000
#: Largest JPEG header we accept at all; draft decoding shrinks it by up to 8x per side.
MAX_JPEG_PIXELS = 2_000_000_000
#: Largest file we read at all: an uncompressed 16-bit RGBA TIFF at MAX_DECODED_PIXELS is 960 MB,
#: and camera RAW files stay far below it.
MAX_FILE_BYTES = 1 << 30
#: Reduced-scale formats: their bound is MAX_JPEG_PIXELS.
REDUCED_FORMATS = ("JPEG", "MPO")

# Pillow's own bomb check stays on as a backstop, at the largest header any format may declare
# (it raises at twice this); the format-aware bounds above are checked first, by refusal().
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS // 2


def file_refusal(size: int) -> str | None:
    if size > MAX_FILE_BYTES:
        return (f"file of {size / 2**30:.1f} GiB: larger than any photo photosim reads "
                f"({MAX_FILE_BYTES // 2**30} GiB at most), not read")
    return None


def pixels_refusal(fmt: str, width: int, height: int) -> str | None:
    limit = MAX_JPEG_PIXELS if fmt in REDUCED_FORMATS else MAX_DECODED_PIXELS
    if width * height > limit:
        return f"image declares {width}×{height} pixels, too large to be a real photo (decompression bomb?)"
    return None


def refusal(path: str) -> str | None:
    """Why the file at ``path`` must not be decoded (its size, or the pixels its header declares),
    or None. Reads the header only. A file that is not an image Pillow knows is left to its decoder."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None  # the decoder reports a missing or unreadable file in its own words
    said = file_refusal(size)
    if said or raw.is_raw(path):  # LibRaw decodes a RAW at half size or its embedded preview
        return said
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return pixels_refusal(im.format or "?", *im.size)
    except Image.DecompressionBombError as exc:
        return f"image too large to be a real photo (decompression bomb?): {exc}"
    except Exception:  # noqa: BLE001 - not an image Pillow reads: the decoder says why
        return None
