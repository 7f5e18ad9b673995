"""A corpus of hostile files, generated on the spot, one file per kind of trouble.

Shared by tests/services/test_bad_input.py and benchmarks/faults.py so the table in
docs/reliability.md lists exactly what the tests try. Every file is made from
a real photo (passed in) or is the broken thing itself; nothing is downloaded.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

#: EXIF orientation -> the transpose that, applied to the upright photo, gives the stored pixels
#: (the inverse of what a viewer applies when it shows the photo).
STORED_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

NON_UTF8_NAME = b"caf\xe9 \xff photo.jpg"  # Latin-1 bytes: not valid UTF-8


@dataclass
class Corpus:
    root: Path
    good: dict[str, str] = field(default_factory=dict)     # kind -> path that must be embedded
    bad: dict[str, str] = field(default_factory=dict)      # kind -> path that must be reported as an error
    harmless: dict[str, str] = field(default_factory=dict)  # kind -> path that must neither hang nor repeat
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why it could not be made here
    upright: str = ""                                      # the photo the orientation variants must match


def _jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A few hundred bytes whose header declares ``width``×``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def full_bomb_png(path: Path, width: int = 30000, height: int = 30000) -> None:
    """A valid greyscale PNG of ``width``×``height`` black pixels, under a megabyte on disk: decoded,
    it takes width×height bytes (×3 as RGB), every page touched."""
    packer, row = zlib.compressobj(9), b"\x00" * (width + 1)  # each row: filter byte 0, then the pixels
    parts = [packer.compress(row * 1000) for _ in range(height // 1000)]
    parts += [packer.compress(row * (height % 1000)), packer.flush()]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
                     + _png_chunk(b"IEND", b""))


def broken_crc_png(photo: Image.Image) -> bytes:
    """A valid PNG with one byte of the image data changed, so the IDAT checksum no longer matches."""
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    data = bytearray(buf.getvalue())
    pos = data.index(b"IDAT") + 4 + 40
    data[pos] ^= 0x01
    return bytes(data)


def corrupt_exif_jpeg(photo: Image.Image) -> bytes:
    """A JPEG whose APP1 Exif segment holds a TIFF header pointing far outside itself."""
    body = _jpeg(photo)
    garbage = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 0x7FFFFFF0) + os.urandom(48) + b"\xff\xff\x00\x13"
    segment = b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage
    return body[:2] + segment + body[2:]


def oriented_jpeg(photo: Image.Image, orientation: int) -> bytes:
    stored = photo if STORED_FOR_ORIENTATION[orientation] is None else photo.transpose(STORED_FOR_ORIENTATION[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(stored, exif=exif.tobytes())


def animated(photo: Image.Image, fmt: str) -> bytes:
    """Three very different frames; the first is the photo, so the embedding must match the photo."""
    frames = [photo, Image.new("RGB", photo.size, (255, 0, 0)), Image.new("RGB", photo.size, (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def huge_jpeg(photo: Image.Image, path: Path, size: tuple[int, int] = (20000, 15000)) -> None:
    """A 300-megapixel JPEG of real content (the photo enlarged); made once, it takes a few seconds."""
    big = photo.resize(size, Image.Resampling.BILINEAR)
    big.save(path, "JPEG", quality=60)
    del big


def make_corpus(root: Path, photos: list[Path], huge: bool = False) -> Corpus:
    """Write every kind of trouble under ``root``; ``photos`` are real photos (at least two)."""
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root)
    base = Image.open(photos[0]).convert("RGB")
    other = Image.open(photos[1]).convert("RGB")
    c.upright = str(root / "upright.jpg")

    def write(name: str | bytes, data: bytes) -> str:
        path = os.path.join(os.fsencode(root), name) if isinstance(name, bytes) else str(root / name)
        with open(path, "wb") as fh:
            fh.write(data)
        return os.fsdecode(path)

    write("upright.jpg", _jpeg(base))
    # --- must embed ---------------------------------------------------------------------------
    buf = io.BytesIO()
    other.save(buf, "PNG")
    c.good["PNG named .jpg"] = write("really_a_png.jpg", buf.getvalue())
    c.good["CMYK JPEG"] = write("cmyk.jpg", _jpeg(other.convert("CMYK")))
    ramp = (np.linspace(0, 65535, 256, dtype=np.float64)[None, :] * np.ones((192, 1))).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    c.good["16-bit greyscale PNG"] = write("grey16.png", buf.getvalue())
    buf = io.BytesIO()
    pal = other.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    pal.info["transparency"] = 0
    pal.save(buf, "PNG", transparency=0)
    c.good["palette PNG with transparency"] = write("palette_alpha.png", buf.getvalue())
    buf = io.BytesIO()
    la = other.convert("L")
    Image.merge("LA", (la, Image.new("L", la.size, 200))).save(buf, "PNG")
    c.good["LA (grey + alpha) PNG"] = write("grey_alpha.png", buf.getvalue())
    c.good["animated GIF"] = write("animated.gif", animated(other, "GIF"))
    c.good["animated WebP"] = write("animated.webp", animated(other, "WEBP"))
    for o in range(1, 9):
        c.good[f"EXIF orientation {o}"] = write(f"orientation_{o}.jpg", oriented_jpeg(base, o))
    c.good["photo turned sideways, no orientation tag"] = write("sideways.jpg", _jpeg(base.transpose(Image.Transpose.ROTATE_90)))
    c.good["corrupt EXIF block"] = write("corrupt_exif.jpg", corrupt_exif_jpeg(other))
    c.good["garbage after the JPEG end marker"] = write("trailing_garbage.jpg", _jpeg(other) + os.urandom(3000))
    try:
        import pillow_heif

        heif = pillow_heif.from_pillow(other)
        buf = io.BytesIO()
        heif.save(buf, quality=80)
        c.good["HEIC"] = write("photo.heic", buf.getvalue())
    except Exception as exc:  # noqa: BLE001 - no HEIF encoder in this build
        c.skipped["HEIC"] = f"pillow-heif cannot write HEIC here: {exc}"
    c.good["file name that is not valid UTF-8"] = write(NON_UTF8_NAME, _jpeg(other.rotate(3)))
    if huge:
        huge_jpeg(other, root / "huge_20000x15000.jpg")
        c.good["20000×15000 JPEG"] = str(root / "huge_20000x15000.jpg")
    # --- must be reported as an error and skipped ---------------------------------------------
    c.bad["zero-byte file"] = write(b"empty \xe9.jpg", b"")  # and a name that is not UTF-8
    whole = _jpeg(other)
    c.bad["truncated JPEG (a third of its bytes)"] = write("truncated.jpg", whole[: len(whole) // 3])
    c.bad["text file named .jpg"] = write("notes.jpg", b"shopping list: milk, eggs, bread\n" * 20)
    c.bad["HTML file named .jpg"] = write("page.jpg", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    c.bad["decompression bomb (PNG declaring 60000x60000)"] = write("bomb.png", bomb_png())
    c.bad["PNG with a broken checksum"] = write("bad_crc.png", broken_crc_png(other))
    unreadable = write("no_permission.jpg", _jpeg(other))
    os.chmod(unreadable, 0)
    c.bad["file without read permission"] = unreadable
    os.symlink(str(root / "gone.jpg"), root / "dangling.jpg")
    c.bad["dangling symlink"] = str(root / "dangling.jpg")
    # --- must neither hang nor list anything twice --------------------------------------------
    loop = root / "loop"
    loop.mkdir()
    os.symlink("..", loop / "back_to_parent")
    c.harmless["symlink loop (folder)"] = str(loop / "back_to_parent")
    os.symlink("self_loop.jpg", root / "self_loop.jpg")
    c.bad["symlink loop (file pointing at itself)"] = str(root / "self_loop.jpg")
    photo_dir = root / "holiday.jpg"
    photo_dir.mkdir()
    c.good["photo inside a folder named like a photo"] = write("holiday.jpg/inside.jpg", _jpeg(other.rotate(-3)))
    c.harmless["folder named like a photo"] = str(photo_dir)
    os.mkfifo(root / "named_pipe.jpg")
    c.bad["named pipe called .jpg"] = str(root / "named_pipe.jpg")
    return c
