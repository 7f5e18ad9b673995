"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, ORF, RW2, RAF...) read through LibRaw (``rawpy``).

Nearly every camera stores a JPEG preview inside its RAW file, often at full
size. When it is at least as large as indexing needs, it is decoded instead of
the sensor data (a few milliseconds instead of a demosaic). Otherwise the
sensor data is demosaiced at half size (each 2×2 Bayer cell becomes one
pixel: no interpolation, a quarter of the work) with the camera's white
balance. Either way the picture is turned upright by the RAW's own
orientation, as the camera would show it.

The capture facts (time, sub-second, make, model) come from the RAW's EXIF
(TIFF-based RAWs carry it in the file's own header), else from the preview's.

Any failure of LibRaw becomes a :class:`RawError` with a one-line reason. A
crash inside LibRaw (native code) cannot be caught here: the indexer's
in-flight marks catch it, and the next run decodes the file in a child
process (core/safe_decode.py) and records it as a crashing file.
"""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image

#: RAW file extensions LibRaw reads (lower case), with the format name shown to people.
RAW_FORMATS = {
    ".dng": "DNG", ".cr2": "CR2", ".cr3": "CR3", ".crw": "CRW", ".nef": "NEF", ".nrw": "NRW", ".arw": "ARW",
    ".srf": "SRF", ".sr2": "SR2", ".orf": "ORF", ".rw2": "RW2", ".raf": "RAF", ".pef": "PEF", ".srw": "SRW",
    ".raw": "RAW", ".rwl": "RWL", ".3fr": "3FR", ".erf": "ERF", ".iiq": "IIQ", ".mrw": "MRW", ".x3f": "X3F",
}
RAW_EXTENSIONS = frozenset(RAW_FORMATS)
#: A camera's own JPEG beside its RAW (same folder, same name) has one of these extensions.
JPEG_EXTENSIONS = frozenset((".jpg", ".jpeg", ".jpe"))

# LibRaw's flip code -> what turns the stored picture upright.
_FLIP = {3: (Image.Transpose.ROTATE_180,), 5: (Image.Transpose.ROTATE_90,), 6: (Image.Transpose.ROTATE_270,)}


class RawError(ValueError):
    """A RAW file LibRaw cannot read; the message says why in words."""


def is_raw(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


def open_raw(data: bytes, path: str, need: int) -> tuple[Image.Image, str, dict[int, object], tuple[int, int], str]:
    """(upright RGB picture, format name, EXIF tags, full size as displayed, "preview" | "sensor").

    ``need``: the long side indexing needs; a smaller preview is not used.
    """
    import rawpy

    fmt = RAW_FORMATS.get(os.path.splitext(path)[1].lower(), "RAW")
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            flip = int(raw.sizes.flip)
            width, height = int(raw.sizes.width), int(raw.sizes.height)
            if flip in (5, 6):
                width, height = height, width
            preview = _preview(raw, need, data)
            if preview is not None:
                im, source = preview, "preview"
                for op in _FLIP.get(flip, ()):
                    im = im.transpose(op)
            else:  # LibRaw turns the demosaiced picture upright itself
                rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False)
                im, source = Image.fromarray(np.ascontiguousarray(rgb)), "sensor"
    except rawpy.LibRawError as exc:
        raise RawError(_reason(exc, fmt)) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # the preview's JPEG is broken
        raise RawError(f"{fmt} file is damaged: its preview cannot be read ({type(exc).__name__}: {str(exc)[:80]})") from exc
    if width < 1 or height < 1:
        raise RawError(f"{fmt} file declares no picture size (damaged?)")
    return im, fmt, _exif(data, im), (width, height), source


def _preview(raw, need: int, data: bytes) -> Image.Image | None:
    """The embedded preview as an RGB picture, if there is one with a long side of at least ``need``."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        # LibRaw hands out a preview of the length the file declares even when the file ends before it,
        # the rest being whatever its memory held (another photo's preview, in a test). The preview's
        # last bytes must be in the file.
        if thumb.data[-1024:] not in data:
            raise RawError("RAW file is truncated: its preview ends after the end of the file")
        im = Image.open(io.BytesIO(thumb.data))
        if max(im.size) < need:
            return None
        im.draft("RGB", (need, need))  # a full-size preview decodes at 1/2..1/8 scale, as JPEGs do
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
        return im.convert("RGB")
    if thumb.format == rawpy.ThumbFormat.BITMAP and max(thumb.data.shape[:2]) >= need:
        return Image.fromarray(np.ascontiguousarray(thumb.data)).convert("RGB")
    return None


def _exif(data: bytes, picture: Image.Image) -> dict[int, object]:
    """EXIF of a TIFF-based RAW (its header is a TIFF header), else of the decoded preview; {} if none."""
    tags: dict[int, object] = {}
    try:
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            exif = Image.Exif()
            exif.load(data)
        else:
            exif = picture.getexif()
        tags.update(exif)
        try:
            tags.update(exif.get_ifd(0x8769))
        except Exception:  # noqa: BLE001 - a corrupt sub-IFD only loses the capture time
            pass
    except Exception:  # noqa: BLE001 - corrupt EXIF never stops a photo
        return {}
    tags.pop(0x0112, None)  # the picture is upright already (LibRaw's orientation)
    return tags


def _reason(exc: Exception, fmt: str) -> str:
    import rawpy

    text = str(exc).strip("b'\" ")
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return f"not a {fmt} file LibRaw can read (unsupported camera or not a RAW file)"
    if isinstance(exc, (rawpy.LibRawIOError, rawpy.LibRawDataError)) or "truncat" in text.lower():
        return f"{fmt} file is truncated or damaged (LibRaw: {text[:80]})"
    if isinstance(exc, (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError, rawpy.LibRawMemPoolOverflowError)):
        return f"{fmt} file too large to decode in memory"
    return f"{fmt} file cannot be read (LibRaw {type(exc).__name__}: {text[:80]})"


def raw_jpeg_siblings(raw_path: str) -> list[str]:
    """Paths where a camera would have written the JPEG of ``raw_path`` (same folder, same name)."""
    stem = os.path.splitext(raw_path)[0]
    return [stem + ext for e in sorted(JPEG_EXTENSIONS) for ext in (e, e.upper())]
