"""The library: a folder panel (add, remove, rescan) and the grid of every indexed photo."""
from __future__ import annotations


from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from ...core.types import Photo
from ...services import folders as folder_service
from ...services.folders import Removal, ScanPlan
from ...services.library import readable_photos
from ..models.photo_list import Item, PathRole, PhotoListModel, make_items
from ..shared import Shared, ask_for_folder
from ..widgets.grid import PhotoGrid


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
        self.shared.run(self, "folders", lambda ctx: folder_service.folder_paths(self.shared.lib), self._show)

    def _show(self, folders: list[str]) -> None:
        self.list.clear()
        for f in folders:
            self.list.addItem(f)
            self.list.item(self.list.count() - 1).setToolTip(f)
        self.shared.settings.setValue("folders", folders)

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def choose_folder(self) -> None:
        folder = ask_for_folder(self)
        if folder:
            self.index_requested.emit([folder])

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.shared.say("select a folder to remove first")
            return
        path = item.text()
        box = QMessageBox(QMessageBox.Question, "Remove a folder",
                          f"Stop watching {path}?\n\nNo file on disk is touched. Its photos stay in the library "
                          "as offline (with their labels) unless you choose to remove them from the library too.",
                          QMessageBox.Cancel, self)
        keep = box.addButton("Stop watching", QMessageBox.AcceptRole)
        forget = box.addButton("Also remove its photos from the library", QMessageBox.DestructiveRole)
        box.setDefaultButton(keep)
        box.exec()
        if box.clickedButton() not in (keep, forget):
            return
        self.remove_folder(path, forget=box.clickedButton() is forget)

    def remove_folder(self, path: str, forget: bool = False) -> None:
        """The folders service does the work; the panel only says what happened."""
        self.shared.run(self, "remove folder", lambda ctx: folder_service.remove_folder(self.shared.lib, path, forget),
                        self._removed)

    def _removed(self, r: Removal) -> None:
        kept = (f"its photos stay: {r.still_watched_by} still covers them" if r.still_watched_by else
                f"{r.forgotten} photo(s) removed from the library" if r.forgotten else
                f"{r.offline} photo(s) kept as offline")
        self.shared.say(f"no longer watching {r.folder}; {kept}")
        self.shared.photos_changed.emit()

    def rescan_all(self) -> None:
        """What `photosim index` does with no path: every library folder; offline ones are reported."""
        self.shared.run(self, "rescan", lambda ctx: folder_service.scan_plan(self.shared.lib, []), self._rescan)

    def _rescan(self, plan: ScanPlan) -> None:
        if not plan.roots and not plan.offline:
            self.shared.say("no folder to rescan: add one first")
            return
        # No paths: the indexer asks scan_plan itself, marks the offline folders' photos and reports them.
        self.index_requested.emit([])


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
        # The rows are built on the worker too: for 100,000 photos that is most of a second.
        self.shared.run(self, "list photos", lambda ctx: make_items(readable_photos(self.shared.lib)), self._show)

    def _show(self, items: list[Item]) -> None:
        current = self.current_photo()
        self.model.set_items(items)
        self.count.setText(f"{len(items):,} photos")
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
