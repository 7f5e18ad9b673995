"""Camera RAW files through LibRaw: real DNGs written from the shared photos (tests/raw_samples.py).

Both ways in are tested: the embedded preview (what most cameras write) and,
without one, the sensor data demosaiced at half size; either way the picture
comes out upright and like the photo it was made from. Broken RAW files are
recorded errors, never a crash; a RAW and its camera JPEG are one group that
keeps both.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.helpers import caltech_or_skip  # noqa: E402
from support.raw_samples import write_dng  # noqa: E402

from photosim.core import raw, safe_decode  # noqa: E402
from photosim.core.decode import PHOTO_EXTENSIONS, decode_file  # noqa: E402
from photosim.core.types import DecodedPhoto, DecodeError, SimpleContext  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402


def _photo(name: str = "accordion/image_0001.jpg", scale: int = 2) -> Image.Image:
    """A shared photo enlarged to camera-ish size, so a full-size preview is larger than indexing needs."""
    with Image.open(caltech_or_skip() / name) as im:
        im = im.convert("RGB")
        return im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)


def _likeness(a: Image.Image, b: Image.Image) -> float:
    ga = np.asarray(a.convert("L").resize((64, 64)), np.float64).ravel()
    gb = np.asarray(b.convert("L").resize((64, 64)), np.float64).ravel()
    return float(np.corrcoef(ga, gb)[0, 1])


def test_raw_extensions_are_photos():
    for ext in (".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf"):
        assert ext in PHOTO_EXTENSIONS and raw.is_raw("x" + ext.upper())


@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize("orientation", [1, 6])
def test_dng_decodes_upright_from_preview_or_sensor(tmp_path: Path, preview: bool, orientation: int):
    picture = _photo()
    path = write_dng(picture, tmp_path / "IMG_0001.dng", preview=preview, orientation=orientation,
                     taken="2021:06:05 14:03:22", subsec="37", camera=("Photosim", "Bayer 1"))
    im, fmt, _, size, source = raw.open_raw(path.read_bytes(), str(path), 320)
    assert source == ("preview" if preview else "sensor") and fmt == "DNG"
    assert size == (picture.width // 2 * 2, picture.height // 2 * 2)  # as displayed, whatever the sensor's way
    assert (im.width > im.height) == (picture.width > picture.height)
    assert _likeness(im, picture) > 0.97
    d = decode_file(str(path))
    assert isinstance(d, DecodedPhoto), d
    assert (d.format, d.width, d.height) == ("DNG", *size)
    assert (d.taken_at, d.taken_subsec, d.camera) == ("2021-06-05T14:03:22", "37", "Photosim Bayer 1")
    assert d.keypoints and d.sharpness is not None and d.exposure is not None


def test_small_preview_is_not_used(tmp_path: Path):
    """A thumbnail smaller than indexing needs would blur the keypoints: the sensor data is used."""
    path = write_dng(_photo(scale=1), tmp_path / "small.dng", preview=True)  # about 300 px: below 320
    assert raw.open_raw(path.read_bytes(), str(path), 320)[4] == "sensor"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "jpeg named nef", "preview cut"])
def test_broken_raw_is_a_clear_error(tmp_path: Path, damage: str):
    good = write_dng(_photo(), tmp_path / "good.dng", preview=True).read_bytes()
    path = tmp_path / ("IMG_1.nef" if damage == "jpeg named nef" else "IMG_1.dng")
    if damage == "truncated":
        path.write_bytes(good[:len(good) // 3])
    elif damage == "garbage":
        path.write_bytes(good[:64] + bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "jpeg named nef":
        shutil.copy(caltech_or_skip() / "accordion/image_0001.jpg", path)
    else:  # the preview (at the end of this file) cut short: LibRaw finds it, the JPEG decoder does not
        path.write_bytes(good[:-2000])
    d = decode_file(str(path))
    assert isinstance(d, DecodeError), d
    assert "\n" not in d.reason and len(d.reason) < 200
    words = {"truncated": "truncated", "garbage": "damaged", "empty": "empty", "jpeg named nef": "NEF",
             "preview cut": "truncated"}[damage]
    assert words in d.reason, d.reason


def test_broken_raw_is_recorded_and_the_rest_indexed(tmp_path: Path, library, engine):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_dng(_photo(), photos / "good.dng", preview=True)
    (photos / "bad.cr2").write_bytes(b"II*\x00" + b"\x00" * 100)
    report = index_folders(library, [str(photos)], SimpleContext(), engine=engine)
    assert report.embedded == 1 and report.failed == 1
    assert report.errors[0].path.endswith("bad.cr2") and "CR2" in report.errors[0].reason


def test_raw_decodes_in_the_crash_probe(tmp_path: Path):
    """After a crash the indexer decodes suspects in a child (LibRaw is native code): RAWs go through it."""
    paths = [str(write_dng(_photo(), tmp_path / f"{n}.dng", preview=n == 0)) for n in range(2)]
    (tmp_path / "bad.arw").write_bytes(b"\x00" * 50)
    assert safe_decode.probe(paths + [str(tmp_path / "bad.arw")]) == {}  # decoded or refused, none crashed


def test_raw_and_its_jpeg_are_one_group_keeping_both(tmp_path: Path, library, engine):
    photos = tmp_path / "photos"
    photos.mkdir()
    picture, other = _photo(), _photo("camera/image_0003.jpg")
    # A camera writing RAW + JPEG: same name, same picture; its JPEG is smaller and rendered its own way.
    write_dng(picture, photos / "IMG_0001.dng", preview=True, taken="2021:06:05 14:03:22", subsec="37")
    picture.resize((picture.width // 2, picture.height // 2)).save(photos / "IMG_0001.JPG", quality=90)
    # Same name, another picture (a second card, another camera): not a pair.
    write_dng(other, photos / "IMG_0002.dng")
    _photo("pizza/image_0002.jpg").save(photos / "IMG_0002.jpg", quality=90)
    report = index_folders(library, [str(photos)], SimpleContext(), engine=engine)
    assert report.embedded == 4, report.errors
    groups = find_duplicates(library)
    pairs = [g for g in groups if g.kind == "raw+jpeg"]
    assert len(pairs) == 1, [(g.kind, g.reason) for g in groups]
    g = pairs[0]
    assert [Path(p.path).name for p in g.photos] == ["IMG_0001.dng", "IMG_0001.JPG"]
    assert g.reason.startswith("RAW + JPEG pair") and "keep both" in g.reason
    # Each photo in one group: the pair is not listed again as near-duplicates.
    listed = [p.path for grp in groups for p in grp.photos]
    assert len(listed) == len(set(listed))
    assert not any(Path(p).name == "IMG_0002.jpg" for grp in groups for p in [x.path for x in grp.photos]
                   if grp.kind == "raw+jpeg")
