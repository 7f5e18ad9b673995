"""The main window: welcome or tabs (Photos, Duplicates, Labels, Train), the triplet panel,
and a status bar with indexing progress, photos/s, ETA and Cancel."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QPushButton,
                               QSplitter, QStackedWidget, QTabWidget, QToolBar)

from ..core.scan import is_photo_name
from ..core.types import Photo
from ..services import folders as folder_service
from ..services import trash as trash_service
from ..services.index_events import AdaptEnded
from ..services.indexing import IndexReport
from ..services.library import Library
from .indexer import IndexProcess
from ..services.wording import human_bytes
from .models.photo_list import paths_from_mime
from .shared import Shared, error_html, resize_within_screen
from .thumbnails import ThumbnailLoader
from .views.compare import CompareDialog, ViewerDialog
from .views.duplicates import DuplicatesView
from .views.labels import LabelsView
from .views.library import FoldersPanel, LibraryView
from .views.similar import SimilarView
from .views.train import TrainView
from .views.welcome import WelcomeView
from .widgets.triplets import TripletPanel

TABS = ("Photos", "Duplicates", "Labels", "Train")


class MainWindow(QMainWindow):
    def __init__(self, lib: Library, settings: QSettings, thumbs: ThumbnailLoader | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"photosim — {lib.directory}")
        self.setAcceptDrops(True)
        self.shared = Shared(lib, settings, thumbs, self)
        self.shared.notice.connect(self._notice)
        self.index_task: IndexProcess | None = None
        self._index_started, self._index_text = 0.0, ""
        self._cancel_at = 0.0
        self.cancel_seconds: float | None = None  # how long the last Cancel took to stop the indexer
        self.last_report: IndexReport | None = None

        self._build_views()
        self._build_status_bar()
        self._build_actions()
        self._wire()
        self.tabs.setCurrentIndex(self.shared.setting("last_view", 0, int))
        geometry = self.shared.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            resize_within_screen(self, 1400, 860)
        self.stack.setCurrentIndex(1)
        self.library.grid.setFocus()  # so Ctrl+Z means "undo the trash", not "undo typing"
        self.shared.run(self, "folders", lambda ctx: folder_service.folder_paths(self.shared.lib),
                        lambda fs: self.stack.setCurrentIndex(1 if fs or self.index_task is not None else 0))

    def _build_views(self) -> None:
        self.welcome = WelcomeView(self)
        self.folders = FoldersPanel(self.shared, self)
        self.library = LibraryView(self.shared, self)
        self.similar = SimilarView(self.shared, self)
        self.duplicates = DuplicatesView(self.shared, self)
        self.labels = LabelsView(self.shared, self)
        self.train = TrainView(self.shared, self)
        photos = QSplitter(Qt.Horizontal, self)
        for w in (self.folders, self.library, self.similar):
            photos.addWidget(w)
        photos.setSizes([220, 640, 560])
        self.tabs = QTabWidget(self)
        for w, name in zip((photos, self.duplicates, self.labels, self.train), TABS):
            self.tabs.addTab(w, name)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)
        self.triplets = TripletPanel(self.shared, self)
        dock = QDockWidget("Triplet (drag photos here)", self)
        dock.setObjectName("triplets")
        dock.setWidget(self.triplets)
        dock.setMaximumWidth(420)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.triplet_dock = dock

    def _build_status_bar(self) -> None:
        self.notice = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.rate = QLabel(self)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop indexing (everything finished so far is kept) or adapting (the library keeps its version)")
        self.cancel.clicked.connect(self.cancel_indexing)
        self.model_label = QLabel(self)  # which model version answers `similar`
        sb = self.statusBar()
        sb.addWidget(self.notice, 1)
        sb.addPermanentWidget(self.model_label)
        for w in (self.rate, self.progress, self.cancel):
            sb.addPermanentWidget(w)
            w.hide()

    def _build_actions(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("main-toolbar")
        self.addToolBar(bar)
        self.undo_action = self._action(bar, "Undo", QKeySequence.Undo, self.undo,
                                        "Put back the photos of the last move to trash (Ctrl+Z)")
        self._action(bar, "Add a folder…", QKeySequence("Ctrl+O"), self.folders.choose_folder, "Add and index a folder")
        self._action(bar, "Rescan", QKeySequence("F5"), self.folders.rescan_all, "Look for new and changed photos")
        self._action(bar, "Compare", QKeySequence("Ctrl+D"), self.compare_library_selection,
                     "Compare two selected photos side by side")
        self._action(bar, "Find", QKeySequence.Find, self.focus_filter, "Filter the photos by name (Ctrl+F)")
        self._action(bar, "Adapt", QKeySequence(), self.adapt_now,
                     "Adapt similarity to this library now (indexing does it by itself when the library has grown)")

    def _wire(self) -> None:
        self.welcome.folder_chosen.connect(lambda p: self.index([p]))
        self.folders.index_requested.connect(self.index)
        self.library.photo_selected.connect(lambda p: self.similar.set_query(p.path, p))
        self.shared.query_requested.connect(self.show_similar_to)
        for grid in (self.library.grid, self.similar.grid, self.duplicates.grid):
            grid.open_requested.connect(lambda idx, g=grid: self.open_viewer(g.model().data(idx, Qt.UserRole + 1)))
            grid.setContextMenuPolicy(Qt.CustomContextMenu)
            grid.customContextMenuRequested.connect(lambda pos, g=grid: self._photo_menu_at(g, pos))
        self.library.grid.trash_requested.connect(lambda: self.confirm_trash(self.library.selected_photos()))
        self.similar.grid.trash_requested.connect(
            lambda: self.confirm_trash([self.similar.model.photo(r) for r in self.similar.grid.selected_rows()]))
        self.duplicates.trash_requested.connect(self.confirm_trash)
        self.similar.compare_requested.connect(self.open_compare)
        self.tabs.currentChanged.connect(lambda i: self.shared.settings.setValue("last_view", i))
        self.shared.model_changed.connect(self.show_model)
        self.show_model()
    def _action(self, bar: QToolBar, text: str, keys, slot, tip: str) -> QAction:
        a = QAction(text, self)
        a.setShortcut(keys)
        a.setToolTip(tip)
        a.triggered.connect(slot)
        bar.addAction(a)
        return a

    # --- indexing -----------------------------------------------------------------------
    def index(self, paths: list[str], command: list[str] | None = None) -> None:
        if self.index_task is not None:
            self.shared.say("indexing or adapting is already running")
            return
        self.stack.setCurrentIndex(1)
        self.tabs.setCurrentIndex(0)
        self._index_started, self._index_text = 0.0, ""
        for w in (self.rate, self.progress, self.cancel):
            w.show()
        self.cancel.setEnabled(True)
        self.progress.setRange(0, 0)
        self.rate.setText("scanning…")
        self._cancel_at = 0.0
        self.index_task = IndexProcess(self.shared.lib.directory, paths, self, command=command)
        self.index_task.progress.connect(self._index_progress)
        self.index_task.finished.connect(self._index_ended)

    def adapt_now(self) -> None:
        """`photosim adapt` in a child, like indexing: browsing goes on, progress and Cancel below."""
        self.index([], command=["adapt"])

    def show_model(self) -> None:
        """The version that answers `similar`, read on a worker (no database work on this thread); a
        failure to read it is said in the status bar like any other."""
        from ..services.models import active_model

        self.shared.run(self, "model", lambda ctx: active_model(self.shared.lib), self._show_model)

    def _show_model(self, active) -> None:
        self.model_label.setText(f"similar: {active.name} (version {active.id})")
        self.model_label.setToolTip("The model version that answers 'similar'; 'photosim models use 0' "
                                    "goes back to the plain vectors")

    def _index_progress(self, done: int, total: int, text: str) -> None:
        adapting = text.startswith("adapting")
        if adapting and text != self._index_text:  # each step of adapting counts the photos again: its own rate
            self._index_text, self._index_started = text, 0.0
        if total <= 0:
            self.progress.setRange(0, 0)
            self.rate.setText(text or "working…")
            return
        now = time.monotonic()
        if not self._index_started:
            self._index_started, self._index_base = now, done
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        elapsed = now - self._index_started
        rate = (done - self._index_base) / elapsed if elapsed > 0.5 else 0.0
        eta = f", about {_duration((total - done) / rate)} left" if rate > 0 else ""
        unit = "steps" if text.endswith(": training") else "photos"  # learning further counts its steps
        self.rate.setText(f"{text} {done:,}/{total:,} · {rate:.1f} {unit}/s{eta}")
        if done and done % 256 < 32 and not adapting:
            self.shared.photos_changed.emit()  # let the grid fill while indexing runs

    def _index_ended(self, report: IndexReport | AdaptEnded | None, message: str) -> None:
        if self._cancel_at:
            self.cancel_seconds = time.monotonic() - self._cancel_at
        if isinstance(report, AdaptEnded):
            self._adapt_ended(report)
        elif report is not None:
            self._indexed(report)
        else:
            self._index_failed(message)

    def _adapt_ended(self, ended: AdaptEnded) -> None:
        adapted = self.index_task.adapted if self.index_task is not None else None
        self._index_end()
        if adapted is not None:
            self.shared.model_changed.emit()
            self.shared.say(f"Adapted to this library's {adapted.photos:,} photos (version {adapted.model}).")
        elif ended.cancelled:
            self.shared.say("Adapting stopped: the library keeps the version it had.")

    def _index_end(self) -> None:
        self.index_task = None
        self.shared.lib.drop_cached_index()  # the child saved a newer HNSW file; load it on next use
        for w in (self.rate, self.progress, self.cancel):
            w.hide()
        self.show_model()
        self.shared.photos_changed.emit()

    def _indexed(self, report: IndexReport) -> None:
        self.last_report = report
        adapted = self.index_task.adapted if self.index_task is not None else None
        self._index_end()
        if adapted is not None:
            self.shared.model_changed.emit()
            self.shared.say(f"Adapted to this library's {adapted.photos:,} photos (version {adapted.model}).")
            if not report.scanned:
                return
        state = "Stopped" if report.cancelled else "Done"
        text = (f"{state}: {report.scanned:,} files, {report.embedded:,} new ({report.rate:.1f} photos/s), "
                f"{report.unchanged:,} unchanged, {report.failed} unreadable")
        if report.engine_note:  # ONNX Runtime failed in the indexer: slower, and said so
            text += f"; {report.engine_note}"
        if report.offline_folders or report.engine_note:  # said as the CLI says it, and it stays on screen
            self.shared.error(text + "".join(f"; {folder_service.OFFLINE}: {f}" for f in report.offline_folders))
        else:
            self.shared.say(text)

    def _index_failed(self, message: str) -> None:
        self._index_end()
        self.shared.error(message)

    def cancel_indexing(self) -> None:
        if self.index_task is not None:
            self._cancel_at = time.monotonic()
            self.index_task.cancel()
            self.cancel.setEnabled(False)
            self.rate.setText("stopping…")

    # --- trash and undo ------------------------------------------------------------------
    def confirm_trash(self, photos: list[Photo]) -> None:
        if not photos:
            return
        total = sum(p.size for p in photos)
        answer = QMessageBox.question(
            self, "Move to trash",
            f"Move {len(photos)} photo(s) ({human_bytes(total)}) to the trash?\n\n"
            "They go to a quarantine folder in the library; Undo (Ctrl+Z) puts them back.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        paths = [p.path for p in photos]
        self.shared.run(self, "trash", lambda ctx: trash_service.trash(self.shared.lib, paths, ctx=ctx), self._trashed)

    def _trashed(self, moved) -> None:
        self.shared.say(f"moved {len(moved)} photo(s) to the trash — Ctrl+Z puts them back")
        self.shared.photos_changed.emit()

    def undo(self) -> None:
        self.shared.run(self, "undo", lambda ctx: trash_service.undo(self.shared.lib, ctx), self._undone)

    def _undone(self, restored) -> None:
        blocked = getattr(restored, "blocked", [])
        if blocked:
            original, now, why = blocked[0]
            QMessageBox.warning(
                self, "Some photos could not go back",
                f"Restored {len(restored)} photo(s); {len(blocked)} could not go back yet.\n\n"
                f"{original}: {why}.\nIt is safe in the quarantine at {now}.\n\n"
                "Fix that and press Undo (Ctrl+Z) again: only what is left is tried.")
        self.shared.say(f"restored {len(restored)} photo(s)"
                        + (f"; {len(blocked)} could not go back yet (Undo again retries)" if blocked else ""))
        self.shared.photos_changed.emit()

    # --- viewing ------------------------------------------------------------------------
    def open_viewer(self, photo: Photo | None) -> None:
        if photo is not None:
            self.viewer = ViewerDialog(photo, self.shared, self)
            self.viewer.show()

    def photo_menu(self, photo: Photo) -> QMenu:
        """What a right click on a photo offers: its folder's lock (a subfolder can be protected here
        without adding it to the library)."""
        menu = QMenu(self)
        self.folders.add_lock_action(menu, photo.path)
        return menu

    def _photo_menu_at(self, grid, pos) -> None:
        photo = grid.model().data(grid.indexAt(pos), Qt.UserRole + 1)
        if isinstance(photo, Photo):
            self.photo_menu(photo).exec(grid.viewport().mapToGlobal(pos))

    def open_compare(self, a: Photo, b: Photo) -> None:
        self.compare_dialog = CompareDialog(a, b, self.shared, self)
        self.compare_dialog.show()

    def compare_library_selection(self) -> None:
        photos = self.library.selected_photos()
        if len(photos) == 2:
            self.open_compare(*photos)
        else:
            self.similar.compare_selected()

    def focus_filter(self) -> None:
        self.stack.setCurrentIndex(1)
        self.tabs.setCurrentIndex(0)
        self.library.filter.setFocus(Qt.ShortcutFocusReason)
        self.library.filter.selectAll()

    def show_similar_to(self, path: str) -> None:
        self.stack.setCurrentIndex(1)
        self.tabs.setCurrentIndex(0)
        if not self.library.select_path(os.path.abspath(path)):
            self.similar.set_query(path)

    # --- drops from the file manager ------------------------------------------------------
    def _dropped_image(self, mime) -> str | None:
        for p in paths_from_mime(mime):
            if is_photo_name(p) and os.path.isfile(p):  # what the indexer reads, no more, no less
                return p
        return None

    def dragEnterEvent(self, event) -> None:
        if self._dropped_image(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped_image(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.shared.query_requested.emit(path)

    # --- status and shutdown --------------------------------------------------------------
    def _notice(self, text: str, error: bool) -> None:
        self.notice.setText(error_html(text, self.palette()) if error else text)
        self.notice.setToolTip(text)
        if not error:
            QTimer.singleShot(15000, self.notice, lambda t=text: self.notice.text() == t and self.notice.clear())

    def closeEvent(self, event) -> None:
        self.shared.settings.setValue("geometry", self.saveGeometry())
        self.shared.settings.setValue("last_view", self.tabs.currentIndex())
        self.shared.settings.sync()
        if self.index_task is not None:
            self.index_task.shutdown()
            self.index_task = None
        self.shared.shutdown()
        super().closeEvent(event)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"
