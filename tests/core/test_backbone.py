"""The pretrained weights really are the trained ones, and EXIF rotation does not move a photo.

The weights file names its tensors differently from timm and is mapped by
position; a mapping error (two same-shaped tensors swapped, a BN statistic
in the wrong slot) still loads but classifies like noise. Real photos whose
ImageNet class is unambiguous catch that.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photosim.core.backbone import EmbeddingSpec, embedder, load_classifier
from photosim.core.decode import decode_file

# Caltech class folder -> ImageNet-1k indices that name it (checked against timm's ImageNetInfo below).
IMAGENET = {
    "accordion": {401: "accordion"},
    "grand_piano": {579: "grand piano"},
    "umbrella": {879: "umbrella"},
    "lamp": {846: "table lamp"},
    "elephant": {101: "tusker", 385: "Indian elephant", 386: "African elephant"},
    "hedgehog": {334: "porcupine"},  # ImageNet's synset is "porcupine, hedgehog"
    "camera": {759: "reflex camera", 732: "Polaroid camera"},
}
PER_CLASS = 4


@pytest.mark.slow
def test_imagenet_indices_name_the_classes():
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    for wanted in IMAGENET.values():
        for index, name in wanted.items():
            assert info.index_to_description(index).split(",")[0] == name


def test_classifier_recognises_real_photos(caltech: Path):
    paths, truth = [], []
    for folder, wanted in IMAGENET.items():
        for f in sorted((caltech / folder).iterdir())[:PER_CLASS]:
            paths.append(f)
            truth.append(set(wanted))
    pixels = np.stack([decode_file(str(p), 224).pixels for p in paths])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # the net's [-1, 1] input
    with torch.inference_mode():
        top5 = load_classifier()(x).topk(5, dim=1).indices.tolist()
    top1_hits = sum(t[0] in want for t, want in zip(top5, truth))
    top5_hits = sum(bool(set(t) & want) for t, want in zip(top5, truth))
    n = len(paths)
    # Measured: 24/28 top-1, 27/28 top-5. Random or mis-mapped weights get ~0.
    assert top5_hits >= 0.9 * n, f"top-5 right for only {top5_hits}/{n}"
    assert top1_hits >= 0.75 * n, f"top-1 right for only {top1_hits}/{n}"


def _save_jpeg(im: Image.Image, path: Path, orientation: int | None = None) -> str:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    im.save(path, "JPEG", quality=95, subsampling=0, exif=exif.tobytes())
    return str(path)


def test_exif_rotated_copy_embeds_like_the_upright_photo(caltech: Path, tmp_path: Path):
    src = Image.open(sorted((caltech / "grand_piano").iterdir())[0]).convert("RGB")
    upright = _save_jpeg(src, tmp_path / "upright.jpg")
    # Orientation 6: the stored pixels must be turned 90° clockwise to display upright,
    # so they are the upright picture turned 90° counter-clockwise.
    stored = src.transpose(Image.Transpose.ROTATE_90)
    tagged = _save_jpeg(stored, tmp_path / "tagged.jpg", orientation=6)
    untagged = _save_jpeg(stored, tmp_path / "untagged.jpg")

    decoded = [decode_file(p, 224) for p in (upright, tagged, untagged)]
    assert (decoded[1].width, decoded[1].height) == src.size  # displayed size, not stored size
    with torch.inference_mode():
        v = embedder(EmbeddingSpec())(torch.from_numpy(np.stack([d.pixels for d in decoded]))).numpy()
    assert float(v[0] @ v[1]) >= 0.99
    # The control: the same pixels without the tag are a sideways piano, and embed differently.
    assert float(v[0] @ v[2]) < 0.95
