"""A photo as a picture to show (thumbnails, zoom), for what Qt's own readers do not decode: HEIC,
camera RAW (LibRaw: the embedded preview, or the sensor data at half size). Every file passes the
size guard first (core/guard.py), as indexing's decode does."""
from __future__ import annotations

from PIL import Image, ImageOps

from .guard import refusal
from .raw import is_raw, open_raw

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pass


def preview(path: str, side: int) -> Image.Image | None:
    """RGB, no larger than side×side, EXIF orientation applied; None if unreadable or refused."""
    if refusal(path):
        return None
    try:
        if is_raw(path):
            with open(path, "rb") as fh:
                im = open_raw(fh.read(), path, min(side, 2048))[0]
        else:
            with Image.open(path) as opened:
                opened.draft("RGB", (side, side))
                im = ImageOps.exif_transpose(opened).convert("RGB")
        im.thumbnail((side, side))
        return im
    except Exception:  # noqa: BLE001 - an unreadable file shows the "cannot read" tile, never an error
        return None
