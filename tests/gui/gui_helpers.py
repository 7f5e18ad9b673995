"""Helpers for the GUI tests: open a real window, wait for its workers."""
from __future__ import annotations

import os
from pathlib import Path


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
