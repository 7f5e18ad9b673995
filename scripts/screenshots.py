"""Render every view of the desktop app into docs/screenshots/*.png (offscreen, real library).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py

Builds a throwaway library from the demo photos plus a few Caltech photos
(../shared/data) with generated duplicates, drives the real window, and grabs
each screen with QWidget.grab(). Nothing outside a temporary folder is touched.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from photosim.gui.main_window import MainWindow  # noqa: E402
from photosim.gui.thumbnails import ThumbnailLoader  # noqa: E402
from photosim.store.library import Library  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
CALTECH = os.path.join(os.path.dirname(ROOT), "shared", "data", "caltech101-20")


def sample_folder(dst: str) -> str:
    """Demo photos, 4 Caltech classes, one exact copy and two near-duplicate variants."""
    photos = os.path.join(dst, "Pictures")
    shutil.copytree(os.path.join(ROOT, "resources", "demo"), os.path.join(photos, "demo"),
                    ignore=shutil.ignore_patterns("*.md"))
    if os.path.isdir(CALTECH):
        for cls in sorted(os.listdir(CALTECH))[:4]:
            os.makedirs(os.path.join(photos, cls))
            for f in sorted(os.listdir(os.path.join(CALTECH, cls)))[:12]:
                shutil.copy(os.path.join(CALTECH, cls, f), os.path.join(photos, cls, f))
    first = os.path.join(photos, "demo", "chelsea.jpg")
    os.makedirs(os.path.join(photos, "backup"))
    shutil.copy(first, os.path.join(photos, "backup", "chelsea copy.jpg"))
    with Image.open(os.path.join(photos, "demo", "astronaut.jpg")) as im:
        im.resize((im.width // 2, im.height // 2)).save(os.path.join(photos, "backup", "astronaut small.jpg"), quality=70)
    return photos


def wait(app: QApplication, cond, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")


def settle(app: QApplication, window: MainWindow, seconds: float = 1.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end or window.shared.runner.busy() or window.shared.thumbs.pending():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() > end + 20:
            break


def shot(window, name: str) -> None:
    path = os.path.join(OUT, name + ".png")
    window.grab().save(path)
    print("wrote", os.path.relpath(path, ROOT))


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    tmp = tempfile.mkdtemp(prefix="photosim-shots-")
    try:
        photos = sample_folder(tmp)
        lib = Library(os.path.join(tmp, "library"))
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        thumbs = ThumbnailLoader(os.path.join(tmp, "thumbs"))
        w = MainWindow(lib, settings, thumbs)
        w.resize(1500, 900)
        w.show()
        settle(app, w, 0.5)
        shot(w, "1-welcome")

        w.index([photos])
        wait(app, lambda: w.index_task is None and w.rate.isVisible() is False and w.last_report is not None)
        settle(app, w)
        w.library.select_path(os.path.join(photos, "demo", "chelsea.jpg"))
        settle(app, w, 2.0)
        w.similar.mark(0, True)
        w.similar.mark(2, False)
        settle(app, w)
        shot(w, "2-photos-and-similar")

        w.triplets.slots["anchor"].set_path(os.path.join(photos, "demo", "chelsea.jpg"))
        w.triplets.slots["positive"].set_path(os.path.join(photos, "demo", "chelsea_small.jpg"))
        settle(app, w)
        shot(w, "3-triplet-panel-half-full")
        w.triplets.slots["negative"].set_path(os.path.join(photos, "demo", "rocket.jpg"))
        w.triplets.save_triplet()
        settle(app, w)

        w.tabs.setCurrentIndex(1)
        settle(app, w, 2.0)
        if w.duplicates.list.count() > 1:
            w.duplicates.list.setCurrentRow(1)
        settle(app, w, 2.0)
        shot(w, "4-duplicates")

        w.tabs.setCurrentIndex(2)
        settle(app, w)
        shot(w, "5-labels")

        w.tabs.setCurrentIndex(3)
        w.train.epochs.setValue(30)
        w.train.start()
        wait(app, lambda: w.train.task is None)
        settle(app, w)
        shot(w, "6-train")

        w.tabs.setCurrentIndex(0)
        w.open_compare(w.similar.query_photo, w.similar.model.photo(0))
        settle(app, w)
        w.compare_dialog.compare.left.view.set_scale(1.5)
        settle(app, w, 0.5)
        shot(w.compare_dialog, "7-compare")
        w.compare_dialog.close()
        w.open_viewer(w.similar.model.photo(0))
        settle(app, w)
        shot(w.viewer, "8-viewer")
        w.viewer.close()

        w.library.grid.setCurrentIndex(w.library.proxy.index(3, 0))
        w.index([photos])  # rescan: shows the status bar while it runs
        app.processEvents()
        shot(w, "9-rescanning-status-bar")
        wait(app, lambda: w.index_task is None)
        w.close()
        lib.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
