"""The main window: welcome or tabs (Photos, Duplicates, Labels, Train), the triplet panel,
and a status bar with indexing progress, photos/s, ETA and Cancel."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QMainWindow, QMenu, QProgressBar, QPushButton,
                               QSizePolicy, QSlider, QSplitter, QStackedWidget, QTabWidget, QWidget)

from ..core.types import Photo
from ..services import folders as folder_service
from ..services.index_events import AdaptEnded
from ..services.indexing import IndexReport
from ..services.library import Library
from .indexer import IndexProcess, duration, tuned_line
from .shared import Shared, error_colour, resize_within_screen
from . import window_log
from .thumbnails import ThumbnailLoader
from .views.compare import CompareDialog, ViewerDialog
from .views.duplicates import DuplicatesView
from .views.labels import LabelsView
from .views.library import FoldersPanel, LibraryView
from .views.similar import SimilarView
from .views.train import TrainView
from .views.welcome import WelcomeView
from .trash_actions import FileDrops, TrashActions
from .widgets.elided import ElidedLabel
from .widgets.grid import DEFAULT_SIDE, SIDE_STEP, SIDES
from .widgets.triplets import TripletPanel

TABS = ("Photos", "Duplicates", "Labels", "Train")


class MainWindow(TrashActions, FileDrops, QMainWindow):
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
        self._notice_clear = QTimer(self, singleShot=True)
        self._notice_clear.timeout.connect(lambda: self.notice.clear())

        self._build_views()
        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._wire()
        self._restore_layout()
        self.stack.setCurrentIndex(1)
        self.library.grid.setFocus()  # so Ctrl+Z means "undo the trash", not "undo typing"
        self.shared.run(self, "folders", lambda ctx: folder_service.folder_paths(self.shared.lib),
                        lambda fs: self.stack.setCurrentIndex(1 if fs or self.index_task is not None else 0))
        if window_log.enabled():
            self._places = window_log.Places(self, self)

    def _build_views(self) -> None:
        self.welcome = WelcomeView(self)
        self.folders = FoldersPanel(self.shared, self)
        self.library = LibraryView(self.shared, self)
        self.similar = SimilarView(self.shared, self)
        self.duplicates = DuplicatesView(self.shared, self)
        self.labels = LabelsView(self.shared, self)
        self.train = TrainView(self.shared, self)
        # Photos: folders | every photo | photos like the selected one. Panes, not fixed columns: each
        # can be hidden from the View menu, and the grids reflow into the room left.
        self.photos_split = QSplitter(Qt.Horizontal, self)
        for w in (self.folders, self.library, self.similar):
            self.photos_split.addWidget(w)
        self.photos_split.setStretchFactor(1, 3)
        self.photos_split.setStretchFactor(2, 2)
        self.photos_split.setChildrenCollapsible(False)
        self.photos_split.setSizes([200, 600, 500])
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        for w, name in zip((self.photos_split, self.duplicates, self.labels, self.train), TABS):
            self.tabs.addTab(w, name)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)
        self.triplets = TripletPanel(self.shared, self)
        dock = QDockWidget("Triplet", self)
        dock.setObjectName("triplets")
        dock.setWidget(self.triplets)
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        dock.hide()  # opens by itself when a photo is dragged, or from View > Triplet slots
        self.triplet_dock = dock

    def _build_status_bar(self) -> None:
        self.notice = ElidedLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)  # the counts beside it are the one figure
        self.rate = ElidedLabel(self, least=160)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop indexing (everything finished so far is kept) or tuning (the library keeps its version)")
        self.cancel.clicked.connect(self.cancel_indexing)
        self.model_label = ElidedLabel(self, least=90)  # which model version answers `similar`
        self.model_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.thumb_size = QSlider(Qt.Horizontal, self)
        self.thumb_size.setRange(*SIDES)
        self.thumb_size.setSingleStep(SIDE_STEP)
        self.thumb_size.setPageStep(SIDE_STEP)
        self.thumb_size.setFixedWidth(110)
        self.thumb_size.setToolTip("Thumbnail size (Ctrl+plus, Ctrl+minus)")
        self.thumb_size.setValue(self.shared.setting("view/thumb", DEFAULT_SIDE, int))
        self.thumb_size.valueChanged.connect(self.set_thumb_size)
        sb = self.statusBar()
        sb.addWidget(self.notice, 1)
        sb.addPermanentWidget(self.model_label)
        for w in (self.rate, self.progress, self.cancel):
            sb.addPermanentWidget(w)
            w.hide()
        sb.addPermanentWidget(self.thumb_size)

    def _build_actions(self) -> None:
        # No toolbar: the menus carry every action, and a 600-pixel-high screen keeps its 33 pixels for photos.
        bar = None
        self.add_action = self._action("Add a folder…", QKeySequence("Ctrl+O"), self.folders.choose_folder,
                                       "Add a folder of photos and index it", bar)
        self.rescan_action = self._action("Rescan", QKeySequence("F5"), self.folders.rescan_all,
                                          "Look for new, changed and removed photos in every folder", bar)
        self.undo_action = self._action("Undo", QKeySequence.Undo, self.undo,
                                        "Put back the photos of the last move to trash (Ctrl+Z)", bar)
        self.trash_action = self._action("Move to trash…\tDel", QKeySequence(), self.trash_selection,
                                         "Move the selected photos to the trash (Undo puts them back)")
        self.compare_action = self._action("Compare", QKeySequence("Ctrl+D"), self.compare_library_selection,
                                           "Compare two selected photos side by side (Ctrl+D)", bar)
        self.find_action = self._action("Find", QKeySequence.Find, self.focus_filter,
                                        "Filter the photos by name or folder (Ctrl+F)")
        self.tune_action = self._action(
            "Tune to this library", QKeySequence(), self.adapt_now,
            "Re-learn what makes this library's photos alike, from its own photos (no marks needed; about a "
            "minute for 10,000 photos). Indexing does it by itself when the library has grown; the Train tab "
            "lists the versions to go back to.", bar)
        self.bigger = self._action("Larger thumbnails", QKeySequence.ZoomIn, lambda: self.step_thumbs(1),
                                   "Larger thumbnails in every grid (Ctrl+plus)")
        self.smaller = self._action("Smaller thumbnails", QKeySequence.ZoomOut, lambda: self.step_thumbs(-1),
                                    "Smaller thumbnails in every grid (Ctrl+minus)")

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file = menus.addMenu("&File")
        file.addActions([self.add_action, self.rescan_action])
        file.addSeparator()
        file.addAction(self._action("Quit", QKeySequence.Quit, self.close, "Close photosim"))
        edit = menus.addMenu("&Edit")
        edit.addActions([self.undo_action, self.trash_action, self.find_action])
        view = menus.addMenu("&View")
        self.pane_actions = {}
        for key, text, pane in (("folders", "Folders", self.folders), ("similar", "Similar photos", self.similar)):
            a = view.addAction(text)
            a.setCheckable(True)
            a.setChecked(True)
            a.toggled.connect(lambda on, p=pane, k=key: (p.setVisible(on), self.shared.settings.setValue(f"view/{k}", on)))
            self.pane_actions[key] = a
        slots = self.triplet_dock.toggleViewAction()
        slots.setText("Triplet slots")
        slots.setToolTip("Anchor, positive and negative slots to drag photos into (they open by themselves when a drag starts)")
        view.addAction(slots)
        view.addSeparator()
        view.addActions([self.bigger, self.smaller])
        library = menus.addMenu("&Library")
        library.addActions([self.compare_action, self.tune_action])
        for m in (file, edit, view, library):
            m.setToolTipsVisible(True)

    def _restore_layout(self) -> None:
        settings = self.shared.settings
        self.tabs.setCurrentIndex(self.shared.setting("last_view", 0, int))
        for key, a in self.pane_actions.items():
            a.setChecked(str(settings.value(f"view/{key}", True)).lower() != "false")
        state = settings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = settings.value("photos/split")
        if isinstance(split, QByteArray):
            self.photos_split.restoreState(split)
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            resize_within_screen(self, 1366, 860)
        self.set_thumb_size(self.thumb_size.value())

    def _wire(self) -> None:
        self.welcome.folder_chosen.connect(lambda p: self.index([p]))
        self.folders.index_requested.connect(self.index)
        self.library.photo_selected.connect(lambda p: self.similar.set_query(p.path, p))
        self.shared.query_requested.connect(self.show_similar_to)
        for grid in self.grids():
            grid.open_requested.connect(lambda idx, g=grid: self.open_viewer_at(g, idx))
            grid.setContextMenuPolicy(Qt.CustomContextMenu)
            grid.customContextMenuRequested.connect(lambda pos, g=grid: self._photo_menu_at(g, pos))
            grid.drag_started.connect(self.open_triplets)
            grid.trash_requested.connect(lambda g=grid: self.confirm_trash(self.selected_in(g)))
            grid.selectionModel().selectionChanged.connect(lambda *_, g=grid: self._check_trash(g))
        self.duplicates.trash_requested.connect(self.confirm_trash)
        self.similar.compare_requested.connect(self.open_compare)
        self.tabs.currentChanged.connect(lambda i: self.shared.settings.setValue("last_view", i))
        self.shared.model_changed.connect(self.show_model)
        self.show_model()
        # Tab goes through the Photos tab as it reads: folders, filter, photos, then the similar controls and
        # results.
        order = [self.folders.list, self.library.filter, self.library.grid, self.similar.how_many,
                 self.similar.min_sim, self.similar.compare, self.similar.grid]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)

    def grids(self) -> list:
        return [self.library.grid, self.similar.grid, self.duplicates.grid]

    def selected_in(self, grid) -> list[Photo]:
        model = grid.model()
        return [model.data(i, Qt.UserRole + 1) for i in sorted(grid.selectionModel().selectedIndexes(),
                                                               key=lambda i: i.row())]

    def _action(self, text: str, keys, slot, tip: str, bar=None) -> QAction:
        a = QAction(text, self)
        a.setShortcut(keys)
        a.setToolTip(tip)
        a.setStatusTip("")
        a.triggered.connect(slot)
        self.addAction(a)  # its shortcut works with the menu bar closed
        if bar is not None:
            bar.addAction(a)
        return a

    # --- layout -------------------------------------------------------------------------
    def set_thumb_size(self, side: int) -> None:
        for grid in self.grids():
            grid.set_side(side)
        self.shared.settings.setValue("view/thumb", side)
        if self.thumb_size.value() != side:
            self.thumb_size.setValue(side)

    def step_thumbs(self, steps: int) -> None:
        self.thumb_size.setValue(self.thumb_size.value() + steps * SIDE_STEP)

    def open_triplets(self) -> None:
        """A drag began in a grid: the slots it can go to are in sight."""
        if not self.triplet_dock.isVisible():
            self.triplet_dock.show()
            self.triplet_dock.raise_()

    # --- indexing -----------------------------------------------------------------------
    def index(self, paths: list[str], command: list[str] | None = None) -> None:
        if self.index_task is not None:
            self.shared.say("indexing or tuning is already running")
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
        eta = f", about {duration((total - done) / rate)} left" if rate > 0 else ""
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
            self.shared.say(tuned_line(adapted, asked=True))
        elif ended.cancelled:
            self.shared.say("Tuning stopped: the library keeps the version it had.")

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
            self.shared.say(tuned_line(adapted, asked=False))
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

    # --- viewing ------------------------------------------------------------------------
    def open_viewer(self, photo: Photo | None, photos: list[Photo] | None = None) -> None:
        if photo is not None:
            self.viewer = ViewerDialog(photo, self.shared, self, photos)
            self.viewer.show()

    def open_viewer_at(self, grid, index) -> None:
        """The viewer on a grid's photo; Left and Right go through that grid's photos."""
        model = grid.model()
        photos = [model.data(model.index(r, 0), Qt.UserRole + 1) for r in range(model.rowCount())]
        self.open_viewer(model.data(index, Qt.UserRole + 1), [p for p in photos if isinstance(p, Photo)])

    def photo_menu(self, photo: Photo, grid=None) -> QMenu:
        """What a right click on a photo offers: open it, photos like it, the move to the trash (shown
        disabled with the reason when the trash's rules refuse it), and its folder's lock (a subfolder
        can be protected here without adding it to the library)."""
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        menu.addAction("Open", lambda: self.open_viewer(photo))
        menu.addAction("Show similar photos", lambda: self.show_similar_to(photo.path))
        trash = menu.addAction("Move to trash…", lambda: self.confirm_trash(self.selected_in(grid) if grid else [photo]))
        why = getattr(self, "trash_refusal", None)
        if why:
            trash.setEnabled(False)
            trash.setToolTip(why)
        menu.addSeparator()
        self.folders.add_lock_action(menu, photo.path)
        return menu

    def _photo_menu_at(self, grid, pos) -> None:
        photo = grid.model().data(grid.indexAt(pos), Qt.UserRole + 1)
        if isinstance(photo, Photo):
            self.photo_menu(photo, grid).exec(grid.viewport().mapToGlobal(pos))

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

    # --- status and shutdown --------------------------------------------------------------
    def _notice(self, text: str, error: bool) -> None:
        """One line in the status bar; it goes after a while (an error stays longer), never cut without
        its whole text in the tooltip."""
        self.notice.setText(text, error_colour(self.palette()) if error else None)
        window_log.log(f"notice {text}")
        self._notice_clear.start(30000 if error else 15000)

    def closeEvent(self, event) -> None:
        self.shared.settings.setValue("geometry", self.saveGeometry())
        self.shared.settings.setValue("state", self.saveState())
        self.shared.settings.setValue("photos/split", self.photos_split.saveState())
        self.shared.settings.setValue("last_view", self.tabs.currentIndex())
        self.shared.settings.sync()
        if self.index_task is not None:
            self.index_task.shutdown()
            self.index_task = None
        self.shared.shutdown()
        super().closeEvent(event)

