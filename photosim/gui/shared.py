"""What every view shares: the library, the task runner, the thumbnail loader, settings,
and the signals by which one view tells the others that something changed."""
from __future__ import annotations

import os
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QFileDialog, QWidget

from ..services.library import Library
from .tasks import QtContext, Task, TaskRunner
from .thumbnails import ThumbnailLoader


def ask_for_folder(parent: QWidget) -> str | None:
    """The folder of photos the person picks (the dialog starts in ~/Pictures when there is one)."""
    start = os.path.expanduser("~/Pictures")
    folder = QFileDialog.getExistingDirectory(parent, "Add a folder of photos",
                                              start if os.path.isdir(start) else os.path.expanduser("~"))
    return folder or None


def resize_within_screen(widget: QWidget, width: int, height: int) -> None:
    """Open ``widget`` at ``width`` x ``height``, or smaller where its screen's free area is smaller (a
    1366x768 laptop), never below its own minimum."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        width, height = min(width, free.width() - 16), min(height, free.height() - 40)  # borders, title bar
    least = widget.minimumSizeHint()
    widget.resize(max(width, least.width()), max(height, least.height()))


def error_colour(palette: QPalette) -> QColor:
    """A red that stays readable on the window's background: the light theme's red is too dark on a
    dark palette (contrast about 2.4:1), so dark themes get a lighter one."""
    return QColor("#ff7b72" if palette.color(QPalette.Window).lightness() < 128 else "#c62828")


def error_html(text: str, palette: QPalette) -> str:
    """``text`` in :func:`error_colour`."""
    return f"<span style='color:{error_colour(palette).name()}'>{text}</span>"


def short_name(path: str) -> str:
    """A photo as the status bar names it: its folder and its name ("butterfly/image_0009.jpg": every
    camera folder has an IMG_0001.jpg)."""
    folder = os.path.basename(os.path.dirname(path))
    return f"{folder}/{os.path.basename(path)}" if folder else os.path.basename(path)


class Shared(QObject):
    photos_changed = Signal()   # indexing, trash, undo: photo lists and groups are stale
    labels_changed = Signal()   # a pair, triplet or decision was added or removed
    model_changed = Signal()    # another model version became active
    protection_changed = Signal()  # the protected folders changed: ``protected`` holds them
    notice = Signal(str, bool)  # (one line for the status bar, is it an error?)
    query_requested = Signal(str)  # show photos similar to this path

    def __init__(self, lib: Library, settings: QSettings, thumbs: ThumbnailLoader | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lib = lib
        self.settings = settings
        self.runner = TaskRunner(threads=4, parent=self)
        self.thumbs = thumbs or ThumbnailLoader(parent=self)
        self.protected: list[str] = []  # the protected folders, as the folders panel last read them

    def set_protected(self, folders: list[str]) -> None:
        if folders != self.protected:
            self.protected = list(folders)
            self.protection_changed.emit()

    def follow_locks(self, model) -> None:
        """Keep ``model``'s lock badges on the protected folders' photos."""
        model.set_locked(self.protected)
        self.protection_changed.connect(lambda: model.set_locked(self.protected))

    def run(self, owner: QObject, name: str, fn: Callable[[QtContext], Any],
            on_done: Callable[[Any], None] | None = None, on_error: Callable[[str], None] | None = None,
            on_progress: Callable[[int, int, str], None] | None = None) -> Task:
        """Start ``fn`` on a worker; callbacks run on the GUI thread, and only while ``owner`` exists.

        Errors go to the status bar unless the caller handles them.
        """
        def guard(cb):
            if cb is None:
                return None
            return lambda *a: cb(*a) if shiboken6.isValid(owner) else None

        return self.runner.start(name, fn, guard(on_done), guard(on_error or (lambda m: self.error(m))),
                                 guard(on_progress))

    def say(self, text: str) -> None:
        self.notice.emit(text, False)

    def error(self, text: str) -> None:
        self.notice.emit(text, True)

    def setting(self, key: str, default, kind=None):
        value = self.settings.value(key, default)
        try:
            return kind(value) if kind else value
        except (TypeError, ValueError):
            return default

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.thumbs.shutdown()
