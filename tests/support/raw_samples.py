"""Real DNG files made from real photos with pidng: the pixels mosaicked into an RGGB Bayer pattern.

A DNG is a camera RAW that LibRaw reads like any other (sensor data, black and
white levels, colour matrix, CFA pattern, orientation, EXIF). ``write_dng``
stores the sensor data in linear light (the photo's sRGB-ish levels decoded
with gamma 2.2), optionally with the photo itself as the embedded JPEG
preview that cameras write, and optionally with the capture time and camera
in EXIF. pidng writes one IFD; the preview is a second IFD in the chain, as
LibRaw finds previews in any IFD.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pidng.core import DNGTags, Tag
from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation
from pidng.dng import DNG, dngIFD, dngTag
from pidng.packing import pack12

BITS = 12
IDENTITY_MATRIX = [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]
#: XYZ (D65) -> linear sRGB: the ColorMatrix1 of a "camera" whose sensor sees in sRGB primaries, as mosaic() writes.
SRGB_MATRIX = [[round(v * 10000), 10000] for v in (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415,
                                                   0.0557, -0.2040, 1.0570)]


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB Bayer sensor values (12 bit, linear light) of an RGB picture with even sides."""
    linear = (rgb.astype(np.float32) / 255.0) ** 2.2
    bayer = np.empty(rgb.shape[:2], np.float32)
    bayer[0::2, 0::2] = linear[0::2, 0::2, 0]
    bayer[0::2, 1::2] = linear[0::2, 1::2, 1]
    bayer[1::2, 0::2] = linear[1::2, 0::2, 1]
    bayer[1::2, 1::2] = linear[1::2, 1::2, 2]
    return (bayer * ((1 << BITS) - 1) + 0.5).astype(np.uint16)


def write_dng(picture: Image.Image, path: Path, preview: bool = False, orientation: int = 1,
              taken: str | None = None, subsec: str | None = None, camera: tuple[str, str] = ("Photosim", "Bayer 1"),
              colour_matrix: list[list[int]] | None = None) -> Path:
    """Write ``picture`` (RGB, as it should be displayed when ``orientation`` is 1) as a DNG.

    ``orientation`` is the EXIF/TIFF orientation the camera records: the sensor
    data is stored turned the other way, so that LibRaw turning it upright gives
    ``picture`` back. ``preview``: embed ``picture`` (stored the same way) as a JPEG.
    ``colour_matrix``: ColorMatrix1 as 9 rationals [num, den] (default: identity, which LibRaw renders
    with shifted colours; SRGB_MATRIX renders the photo's own colours).
    """
    stored = _stored(picture.convert("RGB"), orientation)
    w, h = (stored.width // 2) * 2, (stored.height // 2) * 2
    stored = stored.crop((0, 0, w, h))
    tile = pack12(mosaic(np.asarray(stored))).tobytes()
    tags = DNGTags()
    for tag, value in ((Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w), (Tag.TileLength, h),
                       (Tag.Orientation, orientation), (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, BITS),
                       (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
                       (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
                       (Tag.BlackLevel, 0), (Tag.WhiteLevel, (1 << BITS) - 1),
                       (Tag.ColorMatrix1, colour_matrix or IDENTITY_MATRIX),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.BaselineExposure, [[0, 100]]),
                       (Tag.Make, camera[0]), (Tag.Model, camera[1]), (Tag.UniqueCameraModel, " ".join(camera)),
                       (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2)):
        tags.set(tag, value)
    if taken:
        tags.set(Tag.DateTimeOriginal, taken)
    if subsec:
        tags.set(Tag.SubsecTimeOriginal, subsec)
    dng = DNG()
    dng.ImageDataStrips.append(tile)
    main = dngIFD()
    tile_offsets = dngTag(Tag.TileOffsets, [0])
    main.tags += [tile_offsets, dngTag(Tag.NewSubfileType, [0]), dngTag(Tag.TileByteCounts, [len(tile)]),
                  dngTag(Tag.Compression, [1]), dngTag(Tag.Software, "photosim tests")] + tags.list()
    dng.IFDs.append(main)
    strip_offsets = None
    if preview:
        jpeg = io.BytesIO()
        stored.save(jpeg, "JPEG", quality=92)
        data = jpeg.getvalue()
        dng.ImageDataStrips.append(data)
        second = dngIFD()
        strip_offsets = dngTag(Tag.StripOffsets, [0])
        second.tags += [strip_offsets, dngTag(Tag.NewSubfileType, [1]), dngTag(Tag.ImageWidth, [w]),
                        dngTag(Tag.ImageLength, [h]), dngTag(Tag.BitsPerSample, [8, 8, 8]),
                        dngTag(Tag.Compression, [7]), dngTag(Tag.PhotometricInterpretation, [6]),
                        dngTag(Tag.SamplesPerPixel, [3]), dngTag(Tag.RowsPerStrip, [h]),
                        dngTag(Tag.StripByteCounts, [len(data)])]
        dng.IFDs.append(second)
    total = dng.dataLen()  # places the strips
    tile_offsets.setValue([dng.StripOffsets[0]])
    if strip_offsets is not None:
        strip_offsets.setValue([dng.StripOffsets[1]])
    buf = bytearray(total)
    dng.setBuffer(buf)
    if preview:
        main.NextIFDOffset = dng.IFDs[1].offset
    dng.write()
    path.write_bytes(bytes(buf))
    return path


def _stored(picture: Image.Image, orientation: int) -> Image.Image:
    """What the sensor saw when the camera records ``orientation`` for an upright ``picture``."""
    if orientation == 6:  # "turn 90° clockwise to display": stored turned counter-clockwise
        return picture.transpose(Image.Transpose.ROTATE_90)
    if orientation == 8:
        return picture.transpose(Image.Transpose.ROTATE_270)
    if orientation == 3:
        return picture.transpose(Image.Transpose.ROTATE_180)
    return picture
