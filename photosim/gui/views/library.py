"""The library: a folder panel (add, remove, rescan, protect) and the grid of every indexed photo."""
from __future__ import annotations

import os

from PySide6.QtCore import QPointF, QRectF, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from ...core.types import Photo
from ...services import folders as folder_service
from ...services.folders import Removal, ScanPlan
from ...services.library import readable_photos
from ..models.photo_list import Item, PathRole, PhotoListModel, make_items
from ..shared import Shared, ask_for_folder
from ..widgets.grid import PhotoGrid


#: Item data in the folder list: the folder's path, and whether the library watches it.
FolderRole, WatchedRole, ProtectedRole = Qt.UserRole, Qt.UserRole + 1, Qt.UserRole + 2


def lock_icon(colour: QColor) -> QIcon:
    """A small padlock, drawn (an emoji lock is a blank box where the font lacks it)."""
    pix = QPixmap(16, 16)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QPen(colour, 1.6))
    p.setBrush(Qt.NoBrush)
    p.drawArc(QRectF(4.5, 1.5, 7, 9), 0, 180 * 16)
    p.drawLine(QPointF(4.5, 6), QPointF(4.5, 8))
    p.drawLine(QPointF(11.5, 6), QPointF(11.5, 8))
    p.setPen(Qt.NoPen)
    p.setBrush(colour)
    p.drawRoundedRect(QRectF(2.5, 7.5, 11, 7.5), 1.5, 1.5)
    p.end()
    return QIcon(pix)


class FoldersPanel(QWidget):
    """The folders the library watches. Adding one indexes it; rescan picks up changes; the lock
    protects a folder: its photos are never proposed for removal and the trash refuses them."""

    index_requested = Signal(list)

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.locked: list[str] = []  # the folders shown with a lock, outermost first
        self.list = QListWidget(self)
        self.list.setToolTip("Folders in this library")
        # Long paths lose their middle, not their end: the folder's own name (which one is locked) stays.
        self.list.setTextElideMode(Qt.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.add = QPushButton("Add a folder…")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Stop watching the selected folder (no file is touched)")
        self.rescan = QPushButton("Rescan")
        self.rescan.setToolTip("Look for new, changed, moved and removed photos in every folder")
        self.lock_icon = lock_icon(self.palette().color(QPalette.WindowText))
        self.lock = QPushButton(self.lock_icon, "Protect")
        self.lock.setCheckable(True)
        self.lock.setEnabled(False)
        self.lock.setToolTip("Protect the selected folder: its photos are never proposed for removal, "
                             "and moving them to the trash is refused")
        self.lock.clicked.connect(self.toggle_protection)
        self.list.currentItemChanged.connect(lambda *_: self._current_changed())
        self.add.clicked.connect(self.choose_folder)
        self.remove.clicked.connect(self.remove_selected)
        self.rescan.clicked.connect(self.rescan_all)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<b>Folders</b>"))
        lay.addWidget(self.list, 1)
        # One button a row: the pane stays narrow enough to leave the photos their room at 1024 pixels.
        for b in (self.add, self.rescan, self.remove, self.lock):
            lay.addWidget(b)
        shared.photos_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.shared.run(self, "folders", lambda ctx: folder_service.panel_folders(self.shared.lib), self._show)

    def _show(self, rows: list[tuple[str, bool, bool]]) -> None:
        current = self.current_folder()
        self.list.clear()
        for path, watched, protected in rows:
            item = QListWidgetItem(path)
            if protected:
                item.setIcon(self.lock_icon)
            item.setData(FolderRole, path)
            item.setData(WatchedRole, watched)
            item.setData(ProtectedRole, protected)
            tip = path + ("\nprotected: never proposed for removal" if protected else "")
            item.setToolTip(tip if watched else tip + "\n(not a watched folder itself)")
            self.list.addItem(item)
            if path == current:
                self.list.setCurrentItem(item)
        self.shared.settings.setValue("folders", [path for path, watched, _ in rows if watched])
        self.locked = sorted((path for path, _, protected in rows if protected), key=len)
        self.shared.set_protected(self.locked)
        self._current_changed()

    def add_lock_action(self, menu: QMenu, photo_path: str) -> QAction:
        """The lock for a photo's own folder, in a photo's menu: protect that folder (a subfolder of a
        library folder too), or lift the lock that covers it. The same service as `photosim folders
        protect`; the folder is then listed here with its lock."""
        folder = os.path.dirname(photo_path)
        # The outermost locked folder that holds the photo is one that was protected itself (a watched
        # folder inside it is listed as locked too).
        lock = folder_service.protecting_folder(folder, self.locked)
        if lock is None:
            action = menu.addAction(self.lock_icon, f"Protect the folder “{os.path.basename(folder) or folder}”")
            action.setToolTip(f"{folder}: its photos are never proposed for removal, and the trash refuses them")
            action.triggered.connect(lambda: self.set_protected(folder, True))
        else:
            action = menu.addAction(self.lock_icon, f"Unprotect the folder “{os.path.basename(lock) or lock}”")
            action.setToolTip(f"{lock} is protected; this photo is in it")
            action.triggered.connect(lambda: self.set_protected(lock, False))
        menu.setToolTipsVisible(True)
        return action

    def folders(self) -> list[str]:
        items = [self.list.item(i) for i in range(self.list.count())]
        return [it.data(FolderRole) for it in items if it.data(WatchedRole)]

    def current_folder(self) -> str | None:
        item = self.list.currentItem()
        return item.data(FolderRole) if item is not None else None

    def _current_changed(self) -> None:
        item = self.list.currentItem()
        self.lock.setEnabled(item is not None)
        protected = bool(item is not None and item.data(ProtectedRole))
        self.lock.setChecked(protected)
        self.lock.setText("Unprotect" if protected else "Protect")

    def toggle_protection(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.shared.say("select a folder to protect first")
            return
        self.set_protected(item.data(FolderRole), not item.data(ProtectedRole))

    def set_protected(self, path: str, protect: bool) -> None:
        """The folders service keeps the lock; duplicate groups are found again with it."""
        def work(ctx):
            return folder_service.protect(self.shared.lib, path) if protect else \
                folder_service.unprotect(self.shared.lib, path)

        def done(folder: str) -> None:
            self.shared.say(f"protected {folder}: its photos are never proposed for removal" if protect else
                            f"{folder} is no longer protected")
            self.shared.photos_changed.emit()

        self.shared.run(self, "protect folder", work, done, on_error=lambda m: (self.shared.error(m), self.refresh()))

    def choose_folder(self) -> None:
        folder = ask_for_folder(self)
        if folder:
            self.index_requested.emit([folder])

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.shared.say("select a folder to remove first")
            return
        path = item.data(FolderRole)
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
        shared.follow_locks(self.model)
        self.grid = PhotoGrid(self)
        self.grid.setModel(self.proxy)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by name or folder (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self._filter)
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

    def _filter(self) -> None:
        self.proxy.setFilterFixedString(self.filter.text())
        self._count()

    def _count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown:,} of {total:,} photos" if self.filter.text() else f"{total:,} photos")

    def _show(self, items: list[Item]) -> None:
        current = self.current_photo()
        self.model.set_items(items)
        self._count()
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
