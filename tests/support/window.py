"""Helpers for the GUI tests: open a real window, wait for its workers, answer its boxes, drop files."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox


def make_window(qtbot, home: Path, library: str = "library"):
    """The window over the library ``home/library``, opened the way the app opens it (its indexing
    runs in a child `photosim index`, which finds the ONNX graph the `engine` fixture exported)."""
    from PySide6.QtCore import QSettings

    from photosim.gui.main_window import MainWindow
    from photosim.gui.thumbnails import ThumbnailLoader
    from photosim.services.library import open_library

    lib = open_library(str(home / library))
    settings = QSettings(os.environ["PHOTOSIM_SETTINGS"], QSettings.IniFormat)
    w = MainWindow(lib, settings, ThumbnailLoader(str(home / "thumbs")))
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    return w


def wait_idle(qtbot, w, timeout: int = 60000) -> None:
    """Until no task is running (indexing, queries, thumbnails queued are allowed to continue)."""
    qtbot.waitUntil(lambda: not w.shared.runner.busy(), timeout=timeout)


def index_and_wait(qtbot, w, folder: Path) -> None:
    w.index([str(folder)])
    qtbot.waitUntil(lambda: w.index_task is None and w.last_report is not None, timeout=120000)
    wait_idle(qtbot, w)


def answer_next_box(button) -> None:
    """Press ``button`` in the next modal message box (the confirmation is shown for real)."""
    def press():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(button).click()
        else:
            QTimer.singleShot(50, press)
    QTimer.singleShot(50, press)


def drop(qtbot, target, mime: QMimeData) -> bool:
    """Deliver the drag-enter and drop events a real drag would (Qt's test tools cannot drag)."""
    pos = QPointF(target.rect().center())
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def accepts_drag(target, path: str) -> bool:
    """Whether ``target`` takes a file dragged over it from a file manager (the drag-enter alone)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    enter = QDragEnterEvent(QPointF(target.rect().center()).toPoint(), Qt.CopyAction, mime, Qt.LeftButton,
                            Qt.NoModifier)
    QApplication.sendEvent(target, enter)
    return enter.isAccepted()
