"""The window's thumbnail and zoom readers refuse a decompression bomb through the same guard as
indexing (core/guard.py), instead of decoding it at full size."""
from __future__ import annotations

import resource
from support.fault_corpus import full_bomb_png

import photosim.core.decode  # noqa: F401 - loaded in the window as here (it once turned Pillow's guard off)
from photosim.gui.thumbnails import make_thumbnail
from photosim.gui.widgets.zoom import load_image

ALLOWED_GROWTH_MB = 300


def test_thumbnail_and_zoom_refuse_a_30000_pixel_png(tmp_path, qapp):
    path = tmp_path / "panorama.png"
    full_bomb_png(path, 30000, 30000)  # the release before the guard took 5 GB and 17 s on it here
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert make_thumbnail(str(path), 256).isNull()
    assert load_image(str(path)).isNull()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert after - before < ALLOWED_GROWTH_MB, (before, after)


def test_a_real_photo_still_gets_its_thumbnail_and_zoom(caltech, qapp):
    photo = str(next(caltech.rglob("*.jpg")))
    thumb = make_thumbnail(photo, 128)
    assert not thumb.isNull() and max(thumb.width(), thumb.height()) == 128
    assert not load_image(photo).isNull()
