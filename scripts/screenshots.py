"""Render every view of the desktop app into docs/screenshots/*.png (offscreen, real library).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py
    .venv/bin/python scripts/screenshots.py --dark --quick          # docs/screenshots/dark-*.png
    QT_SCALE_FACTOR=2 .venv/bin/python scripts/screenshots.py --quick --out /tmp/hidpi

``--dark`` applies the dark palette a desktop in dark mode hands the app (Fusion
style), to check that nothing is painted in colours that assume a light theme;
``--quick`` skips training and the rescan (welcome, similar, duplicates, compare).

Builds a throwaway library from the demo photos plus a few Caltech photos
(../shared/data) with generated duplicates, a burst of four frames (one sharp,
one shaken, one out of focus, one under-exposed) and a RAW (DNG) with its camera
JPEG, drives the real window, and grabs each screen with QWidget.grab().
Nothing outside a temporary folder is touched.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.join(ROOT, "tests"))  # the burst and RAW makers of the test sets

from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from photosim.gui.main_window import MainWindow  # noqa: E402
from photosim.gui.thumbnails import ThumbnailLoader  # noqa: E402
from photosim.store.library import Library  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
CALTECH = os.path.join(os.path.dirname(ROOT), "shared", "data", "caltech101-20")
#: The Caltech classes copied into the library; the burst and the RAW are made from the next ones.
CLASSES = 4


def sample_folder(dst: str) -> str:
    """Demo photos, 4 Caltech classes, one exact copy and two near-duplicate variants."""
    photos = os.path.join(dst, "Pictures")
    shutil.copytree(os.path.join(ROOT, "resources", "demo"), os.path.join(photos, "demo"),
                    ignore=shutil.ignore_patterns("*.md"))
    if os.path.isdir(CALTECH):
        classes = sorted(os.listdir(CALTECH))
        for cls in classes[:CLASSES]:
            os.makedirs(os.path.join(photos, cls))
            for f in sorted(os.listdir(os.path.join(CALTECH, cls)))[:12]:
                shutil.copy(os.path.join(CALTECH, cls, f), os.path.join(photos, cls, f))
        # Classes not copied above: a burst of one, a RAW + JPEG pair of the other.
        rest = classes[CLASSES:]
        scene = {cls: os.path.join(CALTECH, cls, sorted(os.listdir(os.path.join(CALTECH, cls)))[0]) for cls in rest}
        burst_folder(os.path.join(photos, "burst"), scene["bonsai" if "bonsai" in scene else rest[0]])
        raw_pair(os.path.join(photos, "camera"), scene["grand_piano" if "grand_piano" in scene else rest[1]])
    first = os.path.join(photos, "demo", "chelsea.jpg")
    os.makedirs(os.path.join(photos, "backup"))
    shutil.copy(first, os.path.join(photos, "backup", "chelsea copy.jpg"))
    with Image.open(os.path.join(photos, "demo", "astronaut.jpg")) as im:
        im.resize((im.width // 2, im.height // 2)).save(os.path.join(photos, "backup", "astronaut small.jpg"), quality=70)
    return photos


def _exif(taken: str, subsec: str) -> Image.Exif:
    """What a camera writes: make, model, the capture second and its sub-second digits."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Photosim", "Burst 1"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003], ifd[0x9291] = taken, subsec  # DateTimeOriginal, SubSecTimeOriginal
    return exif


def burst_folder(folder: str, scene_path: str) -> None:
    """Four frames of one scene a tenth of a second apart, as a hand-held camera takes them: the camera
    moves a little between frames; the first is sharp, then one shaken, one out of focus, one dark.
    (The frame makers are the burst test set's: tests/burst_set.py.)"""
    import numpy as np
    from support.burst_set import WINDOW, defocus, exposure, motion_blur

    os.makedirs(folder)
    with Image.open(scene_path) as im:
        scene = np.asarray(im.convert("RGB"))
    h, w = scene.shape[:2]
    fw, fh = round(w * WINDOW), round(h * WINDOW)
    scale = max(fw, fh) / 320  # blur strengths as the duplicate check sees them (320 px)
    frames = [(0, lambda a: a), (1, lambda a: motion_blur(a, max(3, round(7 * scale)) | 1, 20.0)),
              (-1, lambda a: defocus(a, 2.5 * scale)), (2, lambda a: exposure(a, -1.2))]
    for n, (step, moment) in enumerate(frames):
        x0 = (w - fw) // 2 + round(step * 0.02 * w)
        y0 = (h - fh) // 2
        frame = moment(scene[y0:y0 + fh, x0:x0 + fw])
        Image.fromarray(frame).save(os.path.join(folder, f"IMG_31{n + 1:02d}.jpg"), quality=92,
                                    exif=_exif("2024:06:01 10:15:30", f"{12 + 13 * n}"))


def raw_pair(folder: str, picture_path: str) -> None:
    """A camera's RAW (a DNG written from a real photo, tests/raw_samples.py) and the JPEG it wrote beside it."""
    from support.raw_samples import SRGB_MATRIX, write_dng

    os.makedirs(folder)
    with Image.open(picture_path) as im:
        picture = im.convert("RGB")
    write_dng(picture, Path(folder) / "IMG_2041.dng", preview=True, taken="2024:06:02 09:00:00", subsec="40",
              colour_matrix=SRGB_MATRIX)
    picture.save(os.path.join(folder, "IMG_2041.jpg"), quality=92, exif=_exif("2024:06:02 09:00:00", "40"))


def similar_query(photos: str) -> str:
    """A photo with others of its kind in the library (a Caltech class), else a demo photo."""
    for cls in sorted(os.listdir(photos)):
        files = sorted(os.listdir(os.path.join(photos, cls)))
        if cls not in ("demo", "backup", "burst", "camera") and files:
            return os.path.join(photos, cls, files[0])
    return os.path.join(photos, "demo", "chelsea.jpg")


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


def dark_palette() -> QPalette:
    """Roughly what KDE's Breeze Dark / GNOME's dark style give a Qt app."""
    pal = QPalette()
    colours = {QPalette.Window: "#2b2d30", QPalette.WindowText: "#e6e6e6", QPalette.Base: "#1e1f22",
               QPalette.AlternateBase: "#26282b", QPalette.Text: "#e6e6e6", QPalette.Button: "#35373b",
               QPalette.ButtonText: "#e6e6e6", QPalette.Highlight: "#3d6fb6", QPalette.HighlightedText: "#ffffff",
               QPalette.ToolTipBase: "#35373b", QPalette.ToolTipText: "#e6e6e6", QPalette.PlaceholderText: "#8a8d91",
               QPalette.Link: "#6ea8ff", QPalette.Mid: "#4a4d52", QPalette.Dark: "#18191b", QPalette.Light: "#45484d",
               QPalette.Midlight: "#3c3f44", QPalette.Shadow: "#000000", QPalette.BrightText: "#ffffff"}
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#7a7d82"))
    return pal


OPTIONS = argparse.Namespace(out=OUT, dark=False, quick=False, size="1280x720")


def shot(window, name: str) -> None:
    if OPTIONS.dark:
        name = "dark-" + name.split("-", 1)[1].replace("photos-and-", "")
    path = os.path.join(OPTIONS.out, name + ".png")
    window.grab().save(path)
    print("wrote", path)


def shot_next_box(name: str, seen: list) -> None:
    """Grab the next modal message box (a confirmation), then answer Cancel: nothing is moved."""
    def go():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            QApplication.processEvents()
            shot(box, name)
            seen.append(name)
            box.button(QMessageBox.Cancel).click()
        else:
            QTimer.singleShot(100, go)
    QTimer.singleShot(300, go)


def cleanup_scenes(app: QApplication, w: MainWindow, photos: str) -> None:
    """The keeper-rules pane, the one confirmation of "Keep the best in every group", the folder lock."""
    dv = w.duplicates
    dv.show_rules.setChecked(True)
    dv.rules_pane.set_order(["resolution", "format", "folder", "name", "date"])
    dv.rules_pane.edits["dupes.folder_priority"].setText(os.path.join(photos, "demo"))
    settle(app, w)
    shot(w, "10-keeper-rules")
    dv.rules_pane.load()  # nothing applied: the library keeps its rules
    dv.show_rules.setChecked(False)
    settle(app, w, 0.3)
    seen: list = []
    shot_next_box("11-keep-the-best-confirm", seen)
    dv.keep_best.click()
    wait(app, lambda: seen)
    settle(app, w)
    w.tabs.setCurrentIndex(0)
    w.folders.set_protected(os.path.join(photos, "backup"), True)  # what the lock button does
    settle(app, w)
    w.folders.list.setCurrentRow(w.folders.list.count() - 1)
    settle(app, w)
    shot(w, "12-folder-lock")
    w.tabs.setCurrentIndex(1)
    dv.list.setCurrentRow(0)
    settle(app, w, 2.0)
    shot(w, "13-duplicates-protected")
    w.folders.set_protected(os.path.join(photos, "backup"), False)
    settle(app, w)
    group_scene(app, w, "burst", "14-burst-best-shot")
    group_scene(app, w, "raw+jpeg", "15-raw-jpeg-pair")


def group_scene(app: QApplication, w: MainWindow, kind: str, name: str) -> None:
    """The Duplicates view on the first group of ``kind``, its keeper compared with the next member."""
    dv = w.duplicates
    w.tabs.setCurrentIndex(1)
    settle(app, w)
    row = next((n for n, g in enumerate(dv.groups) if g.kind == kind), None)
    if row is None:
        print(f"no {kind} group was found: {name}.png not written", file=sys.stderr)
        return
    dv.list.setCurrentRow(row)
    settle(app, w, 2.0)
    shot(w, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=OUT, help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--dark", action="store_true", help="dark palette; files are named dark-*.png")
    parser.add_argument("--quick", action="store_true", help="welcome, similar, duplicates and compare only")
    parser.add_argument("--size", default="1280x720", help="the window's size, WIDTHxHEIGHT (default 1280x720)")
    parser.parse_args(namespace=OPTIONS)
    os.makedirs(OPTIONS.out, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    if OPTIONS.dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    tmp = tempfile.mkdtemp(prefix="photosim-shots-")
    try:
        photos = sample_folder(tmp)
        lib = Library(os.path.join(tmp, "library"))
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        thumbs = ThumbnailLoader(os.path.join(tmp, "thumbs"))
        w = MainWindow(lib, settings, thumbs)
        width, height = (int(v) for v in OPTIONS.size.split("x"))
        w.resize(width, height)
        w.show()
        app.processEvents()
        settle(app, w, 0.5)
        shot(w, "1-welcome")

        w.index([photos])
        wait(app, lambda: w.index_task is None and w.rate.isVisible() is False and w.last_report is not None)
        settle(app, w)
        w.library.select_path(similar_query(photos))
        settle(app, w, 2.0)
        wait(app, lambda: w.similar.model.rowCount() >= 3, 60)
        w.similar.mark(0, True)
        w.similar.mark(2, False)
        settle(app, w)
        shot(w, "2-photos-and-similar")

        w.open_triplets()  # what a drag out of a grid does
        settle(app, w, 0.3)
        w.triplets.slots["anchor"].set_path(os.path.join(photos, "demo", "chelsea.jpg"))
        w.triplets.slots["positive"].set_path(os.path.join(photos, "demo", "chelsea_small.jpg"))
        settle(app, w)
        shot(w, "3-triplet-panel-half-full")
        w.triplets.slots["negative"].set_path(os.path.join(photos, "demo", "rocket.jpg"))
        w.triplets.save_triplet()
        settle(app, w)
        w.triplet_dock.hide()

        w.tabs.setCurrentIndex(1)
        settle(app, w, 2.0)
        if w.duplicates.list.count() > 1:
            w.duplicates.list.setCurrentRow(1)
        settle(app, w, 2.0)
        shot(w, "4-duplicates")
        if not OPTIONS.dark:  # the dark set checks colours on the main views only
            cleanup_scenes(app, w, photos)

        if OPTIONS.quick:
            w.tabs.setCurrentIndex(0)
            w.open_compare(w.similar.query_photo, w.similar.model.photo(0))
            w.compare_dialog.resize(1100, 760)  # its size on a large screen (the offscreen one is 800 px)
            settle(app, w)
            shot(w.compare_dialog, "7-compare")
            w.compare_dialog.close()
            w.close()
            lib.close()
            return 0

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
        w.compare_dialog.resize(1100, 760)  # its size on a large screen (the offscreen one is 800 px)
        settle(app, w)
        w.compare_dialog.compare.left.view.set_scale(1.5)
        settle(app, w, 0.5)
        shot(w.compare_dialog, "7-compare")
        w.compare_dialog.close()
        w.open_viewer(w.similar.model.photo(0))
        w.viewer.resize(900, 700)
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
