"""Read one photo file into the network's input, never raising for a bad file.

One read of the bytes serves both the content hash and the decoder. JPEGs are
decoded at reduced scale (the DCT scaling of libjpeg-turbo, through OpenCV, or
Pillow's draft mode for rare kinds), so a 12-megapixel or even a 300-megapixel
JPEG never materialises at full size, and the network's input and the
duplicate check's grey picture are both resized from that small picture
(core/resample.py), a fraction of what Pillow's resampling costs.
EXIF orientation is applied before anything else, so a photo and its rotated
copy embed alike. Every failure becomes a :class:`DecodeError` with a reason a
person understands.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from . import bursts, raw, resample, verify
from .guard import file_refusal, pixels_refusal
from .types import DecodedPhoto, DecodeError, FileStat

try:  # HEIC/HEIF support is optional at run time but installed with photosim
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover
    HEIF = False

ImageFile.LOAD_TRUNCATED_IMAGES = False

PHOTO_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .webp .tif .tiff .bmp .gif .heic .heif .hif".split()
) | raw.RAW_EXTENSIONS

_ORIENT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_STD_LUMA_SUM = 3688  # sum of the IJG standard luminance table (quality 50)


def content_hash(data: bytes) -> str:
    # SHA-256 runs on the CPU's SHA extensions, faster than blake2b (docs/decisions.md). 128 bits of it are plenty to tell files apart in one library.
    return hashlib.sha256(data).hexdigest()[:32]


def read_stat(path: str) -> FileStat:
    st = os.stat(path)
    return FileStat(path, st.st_size, st.st_mtime_ns)


def decode_file(path: str, size: int = 224, with_keypoints: bool = True) -> DecodedPhoto | DecodeError:
    """Read, hash and decode ``path``; a bad file gives a DecodeError, never an exception.

    ``with_keypoints``: also find the duplicate check's keypoints (about 2 ms; only the
    indexer keeps them)."""
    got = read_photo_bytes(path)
    if isinstance(got, DecodeError):
        return got
    data, st = got
    return decode_bytes(path, data, st.st_size, st.st_mtime_ns, size, with_keypoints=with_keypoints)


def read_photo_bytes(path: str, expected: FileStat | None = None) -> tuple[bytes, os.stat_result] | DecodeError:
    """The file's bytes and the stat of what was read; a DecodeError when it cannot be read.

    Opened non-blocking and checked to be a regular file, so a named pipe or a
    device that took a photo's name (or replaced one since the scan) cannot
    hang the indexer. A file that vanished since the scan is recorded with
    size -1, so the error never matches a later stat and the file is tried
    again on the next run.
    """
    size, mtime = (expected.size, expected.mtime_ns) if expected else (0, 0)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        transient = exc.errno in (errno.ENOENT, errno.ENOTDIR)
        return DecodeError(path, -1 if transient else size, mtime, _os_reason(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return DecodeError(path, size, mtime, "not a regular file (a folder, named pipe or device)")
        too_big = file_refusal(st.st_size)  # refused from its size before a byte is read (core/guard.py)
        if too_big:
            return DecodeError(path, st.st_size, st.st_mtime_ns, too_big)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = fh.read()
    except OSError as exc:
        return DecodeError(path, size, mtime, _os_reason(exc))
    except MemoryError:
        return DecodeError(path, size, mtime, "not enough memory to read the file")
    finally:
        if fd >= 0:
            os.close(fd)
    return data, st


def decode_bytes(path: str, data: bytes, fsize: int, mtime_ns: int, size: int = 224,  # noqa: PLR0913 - a file's bytes and stat travel together from one read; a record would be built per photo on the hot path
                 digest: str | None = None, with_keypoints: bool = True) -> DecodedPhoto | DecodeError:
    """Decode ``data``; ``digest`` is its content_hash when the caller already has it (hashing a
    12 MP file costs about a third of decoding it)."""
    def fail(reason: str) -> DecodeError:
        return DecodeError(path, fsize, mtime_ns, reason)

    if not data:
        return fail("empty file (0 bytes)")
    if data.startswith(_PNG_SIGNATURE) and not _png_checksums_ok(data):
        return fail("file is corrupt (a PNG checksum does not match: damaged on disk or in transfer)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _decode(path, data, fsize, mtime_ns, size, digest, with_keypoints)
    except (_Refused, raw.RawError) as exc:
        return fail(str(exc))
    except Image.DecompressionBombError:  # Pillow's backstop (core/guard.py), past every bound of ours
        return fail("image declares more pixels than any photo, too large to decode (decompression bomb?)")
    except UnidentifiedImageError:
        return fail("not an image Photosim can read (unknown or unsupported format)")
    except (OSError, SyntaxError, ValueError, zlib.error, EOFError, IndexError, TypeError) as exc:
        return fail(_decoder_reason(exc))
    except MemoryError:
        return fail("image too large to decode in memory")


class _Refused(Exception):
    pass


def _decode(path: str, data: bytes, fsize: int, mtime_ns: int, size: int, digest: str | None = None,  # noqa: PLR0913 - as decode_bytes, whose arguments it receives
            with_keypoints: bool = True) -> DecodedPhoto:
    if raw.is_raw(path):  # camera RAW: LibRaw, its embedded preview when large enough (core/raw.py)
        im, fmt, exif, (w0, h0), _ = raw.open_raw(data, path, max(size, verify.LONG_SIDE))
        pixels, grey = _pictures(np.asarray(im), "RGB", size, with_keypoints)
        return _described(path, data, fsize, mtime_ns, digest, pixels, grey, fmt, w0, h0, exif, None)
    im = Image.open(io.BytesIO(data))
    fmt = im.format or "?"
    w0, h0 = im.size
    too_big = pixels_refusal(fmt, w0, h0)
    if too_big:
        raise _Refused(too_big)
    exif = _safe_exif(im)
    orientation = exif.get(0x0112, 1) if exif else 1
    orientation = orientation if isinstance(orientation, int) and orientation in _ORIENT else 1
    quality = _jpeg_quality(im) if fmt == "JPEG" else None
    # Reduced scale, but large enough for the network (both sides >= size) and for the
    # duplicate check's keypoints (long side >= verify.LONG_SIDE), as verify.load_grey reads it.
    long_side = max(size, verify.LONG_SIDE)
    wanted = (long_side, size) if w0 >= h0 else (size, long_side)
    decoded = _jpeg_reduced(data, im, wanted) if fmt in ("JPEG", "MPO") else None
    if decoded is not None:  # the fast path: libjpeg-turbo through OpenCV, resized while still small
        pixels, grey = _pictures(decoded, "BGR", size, with_keypoints)
        pixels, grey = _upright(pixels, orientation), _upright(grey, orientation)
    else:
        if fmt in ("JPEG", "MPO"):
            im.draft("RGB", wanted)
        im.seek(0) if getattr(im, "n_frames", 1) > 1 else None
        im.load()
        im = _to_rgb(im)
        for op in _ORIENT.get(orientation, ()):
            im = im.transpose(op)
        pixels, grey = _pictures(np.asarray(im), "RGB", size, with_keypoints)
    if orientation in (5, 6, 7, 8):
        w0, h0 = h0, w0
    return _described(path, data, fsize, mtime_ns, digest, pixels, grey, fmt, w0, h0, exif, quality)


#: OpenCV's reduced-scale JPEG decoding flags by DCT scale (1/2, 1/4, 1/8), largest first.
_REDUCED = ((8, "IMREAD_REDUCED_COLOR_8"), (4, "IMREAD_REDUCED_COLOR_4"), (2, "IMREAD_REDUCED_COLOR_2"),
            (1, "IMREAD_COLOR"))


def _jpeg_reduced(data: bytes, im: Image.Image, wanted: tuple[int, int]) -> np.ndarray | None:
    """The JPEG decoded (BGR, not rotated) at the DCT scale Pillow's draft would pick for ``wanted``,
    or None to leave it to Pillow.

    OpenCV decodes with libjpeg-turbo like Pillow, but resizing a NumPy array in
    OpenCV costs a fraction of Pillow's resampling. Pillow keeps what it does
    better: CMYK and other rare modes, and refusing a truncated file (libjpeg
    would pad it with grey), so only a complete RGB or grey JPEG comes here.
    """
    if im.mode not in ("RGB", "L") or not data.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        return None
    import cv2

    w0, h0 = im.size
    scale = min(w0 // wanted[0], h0 // wanted[1])
    reduced, name = next((s, name) for s, name in _REDUCED if s <= max(scale, 1))
    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), getattr(cv2, name) | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:  # e.g. OpenCV's own size limit: Pillow decides, with a reason a person understands
        return None
    expected = (-(-h0 // reduced), -(-w0 // reduced), 3)
    return decoded if decoded is not None and decoded.shape == expected else None


def _pictures(decoded: np.ndarray, order: str, size: int, with_keypoints: bool
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """The network's input (size x size RGB) and the duplicate check's grey picture (long side
    verify.LONG_SIDE, None without keypoints) of a decoded picture in ``order`` ("RGB" or "BGR")."""
    import cv2

    pixels = resample.resized(decoded, size, size)
    if order == "BGR":
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if not with_keypoints:
        return pixels, None
    grey = cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY if order == "BGR" else cv2.COLOR_RGB2GRAY)
    return pixels, verify.grey_array(grey)


def _upright(pixels: np.ndarray | None, orientation: int) -> np.ndarray | None:
    """``pixels`` turned as EXIF ``orientation`` says, by the same _ORIENT turns as the Pillow path."""
    if pixels is None or orientation == 1:
        return pixels
    im = Image.fromarray(pixels)
    for op in _ORIENT[orientation]:
        im = im.transpose(op)
    return np.asarray(im)


def _described(path: str, data: bytes, fsize: int, mtime_ns: int, digest: str | None, pixels: np.ndarray,  # noqa: PLR0913 - the facts of one decoded photo, gathered into DecodedPhoto here and nowhere else
               grey: np.ndarray | None, fmt: str, w0: int, h0: int, exif: dict[int, object],
               quality: int | None) -> DecodedPhoto:
    """The DecodedPhoto of an upright picture: the network's input ``pixels``, the keypoints and
    best-shot measures of its ``grey`` picture, and the file's facts."""
    keypoints = verify.pack(verify.keypoints(grey)) if grey is not None else None
    sharpness, exposure = bursts.measure(grey) if grey is not None else (None, None)
    return DecodedPhoto(
        path=path,
        size=fsize,
        mtime_ns=mtime_ns,
        content_hash=digest or content_hash(data),
        pixels=pixels,
        width=w0,
        height=h0,
        format=fmt,
        taken_at=_taken_at(exif),
        taken_subsec=_taken_subsec(exif),
        camera=_camera(exif),
        exif_tags=len(exif) if exif else 0,
        jpeg_quality=quality,
        grey=_is_grey(pixels),
        border=_border_fraction(pixels),
        keypoints=keypoints,
        sharpness=sharpness,
        exposure=exposure,
    )


def _to_rgb(im: Image.Image) -> Image.Image:
    """Normalise any mode to 8-bit RGB without clipping deep images or losing transparency."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = (0.0, 65535.0) if mode.startswith("I;16") else (float(arr.min()), float(arr.max()))
        if mode == "I" and hi <= 65535 and lo >= 0:
            lo, hi = 0.0, 65535.0 if hi > 255 else 255.0
        scaled = (arr - lo) * (255.0 / max(hi - lo, 1e-9))
        return Image.fromarray(scaled.clip(0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode != "RGB":
        return im.convert("RGB")
    return im


def _safe_exif(im: Image.Image) -> dict[int, object]:
    """EXIF tags, or {} when the block is corrupt: a broken EXIF never stops a photo."""
    try:
        exif = im.getexif()
        tags: dict[int, object] = dict(exif)
        try:
            tags.update(exif.get_ifd(0x8769))
        except Exception:  # noqa: BLE001 - a corrupt sub-IFD only loses the capture time
            pass
        return tags
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for corrupt EXIF
        return {}


def _taken_at(exif: dict[int, object]) -> str | None:
    for tag in (0x9003, 0x9004, 0x0132):  # DateTimeOriginal, DateTimeDigitized, DateTime
        value = exif.get(tag)
        if isinstance(value, str) and len(value) >= 19 and value[:4].isdigit():
            return value[:4] + "-" + value[5:7] + "-" + value[8:10] + "T" + value[11:19]
    return None


def _taken_subsec(exif: dict[int, object]) -> str | None:
    """Sub-second digits that go with the time _taken_at chose (SubSecTimeOriginal for DateTimeOriginal...)."""
    for tag, sub in ((0x9003, 0x9291), (0x9004, 0x9292), (0x0132, 0x9290)):
        taken = exif.get(tag)
        if isinstance(taken, str) and len(taken) >= 19 and taken[:4].isdigit():
            value = exif.get(sub)
            value = value.strip().rstrip("\x00").strip() if isinstance(value, str) else ""
            return value[:9] if value.isdigit() else None
    return None


def _camera(exif: dict[int, object]) -> str | None:
    """"Make Model" ("Canon Canon EOS R5" becomes "Canon EOS R5"), or None."""
    make, model = (exif.get(t) for t in (0x010F, 0x0110))
    make = make.strip("\x00 ") if isinstance(make, str) else ""
    model = model.strip("\x00 ") if isinstance(model, str) else ""
    name = model if make and model.lower().startswith(make.split()[0].lower()) else f"{make} {model}".strip()
    return name[:64] or None


def _jpeg_quality(im: Image.Image) -> int | None:
    """Estimate the IJG quality from the luminance quantisation table."""
    try:
        table = im.quantization.get(0)
    except AttributeError:
        return None
    if not table:
        return None
    scale = sum(table) * 100.0 / _STD_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100 else 5000.0 / scale
    return int(round(min(100.0, max(1.0, quality))))


def _is_grey(pixels: np.ndarray) -> bool:
    """No colour anywhere: a grey picture stored as RGB differs between channels only by rounding.

    A percentile, not the mean: a colour photo that is mostly white background
    has a tiny *mean* channel difference, and a crop of it a larger one, which
    made the original look like a greyscale copy of its own crop.
    """
    import cv2

    r, g, b = cv2.split(pixels)
    spread = cv2.max(cv2.absdiff(r, g), cv2.absdiff(g, b))
    return _percentile_u8(spread, 99) <= 6


def _percentile_u8(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) of uint8 values, from their histogram (no sort: a tenth of the time)."""
    counts = np.cumsum(np.bincount(values.ravel(), minlength=256))
    at = q / 100.0 * (counts[-1] - 1)
    low = int(at)
    below, above = np.searchsorted(counts, [low, min(low + 1, counts[-1] - 1)], side="right")
    return float(below + (at - low) * (above - below))


def _border_fraction(pixels: np.ndarray) -> float:
    """Fraction of rows that are flat at the top and bottom (letterbox bands, or a plain background).

    Only meaningful compared with another copy of the same picture
    (core.duplicates.added_border). Gaps of up to two non-flat rows inside a
    flat run are bridged: where a black band meets a white background the
    JPEG's ringing makes one or two rows slightly uneven.
    """
    rows = pixels.reshape(pixels.shape[0], -1).astype(np.float32)
    flat = rows.std(axis=1) < 6.0
    n = len(flat)
    if flat.all():
        return 0.0

    def run(mask: np.ndarray) -> int:
        i = 0
        while i < n:
            if mask[i]:
                i += 1
            elif i > 0 and any(mask[i + 1:i + 3]):  # a short gap with flat rows after it
                i += 1 + int(np.argmax(mask[i + 1:i + 3]))
            else:
                break
        return i

    top, bottom = run(flat), run(flat[::-1])
    return (top + bottom) / n if top + bottom < n else 0.0


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_checksums_ok(data: bytes) -> bool:
    """Every complete PNG chunk's CRC matches. Pillow checks only some chunks, and a flipped bit in
    the image data would otherwise decode to a silently wrong picture. Truncation is left to the
    decoder, which reports it as such."""
    pos = len(_PNG_SIGNATURE)
    end = len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos:pos + 4], "big")
        stop = pos + 8 + length
        if stop + 4 > end:
            return True
        if zlib.crc32(data[pos + 4:stop]) != int.from_bytes(data[stop:stop + 4], "big"):
            return False
        if data[pos + 4:pos + 8] == b"IEND":
            return True
        pos = stop + 4
    return True


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (cannot read the file)"
    if exc.errno == errno.ENOENT:
        return "file vanished before it could be read (deleted, renamed or a dangling link)"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a photo"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return f"cannot read the file: {exc.strerror or exc}"


def _decoder_reason(exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    if "truncated" in low or isinstance(exc, EOFError):
        return "file is truncated (incomplete download or copy)"
    if "crc" in low or "checksum" in low or "broken png" in low:
        return "file is corrupt (checksum mismatch)"
    if "cannot identify" in low:
        return "not an image Photosim can read"
    return f"file is corrupt or unreadable ({type(exc).__name__}: {text[:120]})"
