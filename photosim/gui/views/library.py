"""The library: a folder panel (add, remove, rescan) and the grid of every indexed photo."""
from __future__ import annotations

import os

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QVBoxLayout,
                               QWidget)

from ...core.types import Photo, PhotoState
from ...store import repositories as repo
from ..models.photo_list import PathRole, PhotoListModel
from ..shared import Shared
from ..widgets.grid import PhotoGrid


def load_photos(shared: Shared) -> list[Photo]:
    with shared.lib.db.session() as s:
        return repo.all_photos(s, [PhotoState.OK])


def load_folders(shared: Shared) -> list[str]:
    with shared.lib.db.session() as s:
        return repo.list_folders(s)


class FoldersPanel(QWidget):
    """The folders the library watches. Adding one indexes it; rescan picks up changes."""

    index_requested = Signal(list)

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.list = QListWidget(self)
        self.list.setToolTip("Folders in this library")
        self.add = QPushButton("Add a folder…")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Stop watching the selected folder (no file is touched)")
        self.rescan = QPushButton("Rescan")
        self.rescan.setToolTip("Look for new, changed, moved and removed photos in every folder")
        self.add.clicked.connect(self.choose_folder)
        self.remove.clicked.connect(self.remove_selected)
        self.rescan.clicked.connect(self.rescan_all)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<b>Folders</b>"))
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.remove)
        row.addWidget(self.rescan)
        lay.addWidget(self.add)
        lay.addLayout(row)
        shared.photos_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.shared.run(self, "folders", lambda ctx: load_folders(self.shared), self._show)

    def _show(self, folders: list[str]) -> None:
        self.list.clear()
        for f in folders:
            self.list.addItem(f)
            self.list.item(self.list.count() - 1).setToolTip(f)
        self.shared.settings.setValue("folders", folders)

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def choose_folder(self) -> None:
        start = os.path.expanduser("~/Pictures")
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos",
                                                  start if os.path.isdir(start) else os.path.expanduser("~"))
        if folder:
            self.index_requested.emit([folder])

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.shared.say("select a folder to remove first")
            return
        path = item.text()

        def work(ctx):
            with self.shared.lib.db.session() as s:
                repo.remove_folder(s, path)

        self.shared.run(self, "remove folder", work, lambda _: (self.refresh(), self.shared.say(f"no longer watching {path}")))

    def rescan_all(self) -> None:
        folders = [f for f in self.folders() if os.path.isdir(f)]
        if folders:
            self.index_requested.emit(folders)
        else:
            self.shared.say("no folder to rescan: add one first")


class LibraryView(QWidget):
    """Every photo in the library; typing in the filter box narrows by path."""

    photo_selected = Signal(object)  # Photo

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.model = PhotoListModel(shared.thumbs, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(PathRole)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.grid = PhotoGrid(self)
        self.grid.setModel(self.proxy)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by name or folder (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(lambda: self.proxy.setFilterFixedString(self.filter.text()))
        self.filter.textChanged.connect(lambda _: self._debounce.start())
        self.count = QLabel(self)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.grid, 1)
        self.grid.selectionModel().currentChanged.connect(self._current)
        shared.photos_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.shared.run(self, "list photos", lambda ctx: load_photos(self.shared), self._show)

    def _show(self, photos: list[Photo]) -> None:
        current = self.current_photo()
        self.model.set_photos(photos)
        self.count.setText(f"{len(photos):,} photos")
        if current is not None:
            row = self.model.row_of(current.path)
            if row >= 0:
                self.grid.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row)))

    def current_photo(self) -> Photo | None:
        idx = self.grid.currentIndex()
        return self.model.photo(self.proxy.mapToSource(idx).row()) if idx.isValid() else None

    def selected_photos(self) -> list[Photo]:
        return [self.model.photo(r) for r in self.grid.selected_rows()]

    def select_path(self, path: str) -> bool:
        row = self.model.row_of(path)
        if row < 0:
            return False
        self.grid.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row)))
        return True

    def _current(self, current, _previous) -> None:
        if current.isValid():
            self.photo_selected.emit(self.model.photo(self.proxy.mapToSource(current).row()))
