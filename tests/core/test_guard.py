"""Every decode of a person's file passes one size guard (core/guard.py): a small-on-disk PNG that
declares 30000×30000 pixels (2.7 GB decoded) is refused by indexing's decode and by the preview the
window shows, without the allocation (the window's own readers: tests/gui/test_decode_guard.py)."""
from __future__ import annotations

import resource
from pathlib import Path
from support.fault_corpus import full_bomb_png

from photosim.core.decode import decode_file
from photosim.core.guard import MAX_DECODED_PIXELS, refusal
from photosim.core.preview import preview
from photosim.core.types import DecodeError

#: Far below the 2.7 GB the image would take decoded, far above what reading a header costs.
ALLOWED_GROWTH_MB = 300


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bomb(tmp_path: Path) -> Path:
    path = tmp_path / "panorama.png"
    full_bomb_png(path, 30000, 30000)
    assert path.stat().st_size < 1 << 20 and 30000 * 30000 > MAX_DECODED_PIXELS
    return path


def test_indexing_and_the_preview_refuse_the_bomb_without_allocating_it(tmp_path):
    path = bomb(tmp_path)
    before = peak_mb()
    assert "30000×30000" in refusal(str(path))
    decoded = decode_file(str(path))
    assert isinstance(decoded, DecodeError) and "too large" in decoded.reason
    assert preview(str(path), 256) is None
    assert peak_mb() - before < ALLOWED_GROWTH_MB, (before, peak_mb())


def test_a_real_photo_passes_the_guard(caltech):
    photo = next(caltech.rglob("*.jpg"))
    assert refusal(str(photo)) is None
    im = preview(str(photo), 128)
    assert im is not None and max(im.size) == 128
