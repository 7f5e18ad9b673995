"""Start the desktop app: QApplication, settings, the library, the main window."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..services.library import LibraryError, open_library

ORG, APP = "photosim", "photosim"


def icon_path() -> str | None:
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for candidate in (os.path.join(here, "packaging", "photosim.png"), os.path.join(os.path.dirname(__file__), "photosim.png")):
        if os.path.exists(candidate):
            return candidate
    return None


def make_settings() -> QSettings:
    """Per-user settings (INI file); $PHOTOSIM_SETTINGS points them elsewhere (tests, portable use)."""
    path = os.environ.get("PHOTOSIM_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORG, APP)


def preload() -> None:
    """Import the inference runtime before the window shows.

    A C extension's import holds the GIL for its whole initialisation; done
    later on a worker it would freeze the window for ~0.2 s when indexing starts.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        pass


def main(library_dir: str | None = None) -> int:
    # Fractional scale factors (150 %) render crisply instead of being rounded.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setDesktopFileName("photosim")
    icon = icon_path()
    if icon:
        app.setWindowIcon(QIcon(icon))
    settings = make_settings()
    try:
        lib = open_library(library_dir or settings.value("library") or None)
    except LibraryError as exc:
        QMessageBox.critical(None, "photosim", str(exc))
        return 2
    settings.setValue("library", lib.directory)
    from .main_window import MainWindow

    preload()
    window = MainWindow(lib, settings)
    window.show()
    code = app.exec()
    lib.close()
    return int(code)
