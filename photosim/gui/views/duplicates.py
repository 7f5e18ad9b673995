"""Duplicates: groups (exact first, then near), the suggested keeper and why, compare, trash, undo.

The view only chooses which files to hand to the services: the keeper rule,
the refusal to remove every copy, the quarantine and the not-duplicate
decision all live in services and behave exactly as in the CLI.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QToolButton, QVBoxLayout, QWidget)

from ...core.duplicates import DuplicateGroup
from ...core.types import Photo
from ...services import labels
from ...services.calibration import SET_BY_YOU, DupesThreshold, duplicate_threshold, set_duplicate_threshold
from ...services.duplicates import find_duplicates
from ..models.photo_list import PhotoListModel, human_bytes
from ..shared import Shared
from ..widgets.grid import PhotoGrid
from .compare import CompareWidget


def group_title(n: int, g: DuplicateGroup) -> str:
    kind = "Exact copies" if g.kind == "exact" else "Near duplicates"
    spare = sum(p.size for p in g.photos[1:])
    return f"{n}. {kind} · {len(g.photos)} photos · {human_bytes(spare)} to free · {os.path.basename(g.keep.path)}"


class DuplicatesView(QWidget):
    trash_requested = Signal(list)  # [Photo] chosen for removal

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.groups: list[DuplicateGroup] = []
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.50, 1.00)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setToolTip("How alike two photos must be to count as near duplicates (1.00 = identical); "
                                  "kept in the library, so `photosim dupes` uses it too")
        # The library's threshold (services/calibration.py), the one the trash protects groups with;
        # the box only shows it until the person edits it.
        self.used_threshold: DupesThreshold | None = None
        self._edited = False
        self.threshold.valueChanged.connect(self._threshold_edited)
        self.threshold_source = QLabel(self)
        self.reset_threshold = QToolButton(self)
        self.reset_threshold.setText("Reset")
        self.reset_threshold.setToolTip("Forget your threshold: use the calibrated one, else the default")
        self.reset_threshold.clicked.connect(self._reset_threshold)
        self.find = QPushButton("Find duplicates")
        self.find.clicked.connect(lambda: self.refresh())
        self.summary = QLabel("Looking for duplicates…")
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._group_selected)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.model = PhotoListModel(shared.thumbs, self)
        self.grid = PhotoGrid(self)
        self.grid.setModel(self.model)
        self.grid.setMinimumHeight(240)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.grid.trash_requested.connect(self.trash_selected)
        self.trash = QPushButton("Move selected to trash…")
        self.trash.setToolTip("Moves the selected copies to the quarantine; Undo (Ctrl+Z) brings them back")
        self.trash.clicked.connect(self.trash_selected)
        self.not_dupes = QPushButton("Not duplicates")
        self.not_dupes.setToolTip("These photos only look alike: never show this group again")
        self.not_dupes.clicked.connect(self.mark_not_duplicates)
        self.compare_box = QVBoxLayout()
        self.compare: CompareWidget | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel("Near-duplicate similarity ≥"))
        top.addWidget(self.threshold)
        top.addWidget(self.threshold_source)
        top.addWidget(self.reset_threshold)
        top.addWidget(self.find)
        top.addWidget(self.summary, 1)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Groups</b> (exact copies first)"))
        ll.addWidget(self.list)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.reason)
        rl.addWidget(self.grid, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Selected copies are the ones to remove; ★ marks the suggested keeper."))
        buttons.addStretch(1)
        buttons.addWidget(self.not_dupes)
        buttons.addWidget(self.trash)
        rl.addLayout(buttons)
        holder = QWidget(self)
        holder.setLayout(self.compare_box)
        rl.addWidget(holder, 3)
        split = QSplitter(Qt.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([380, 900])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._stale = True
        shared.photos_changed.connect(self._changed)
        shared.labels_changed.connect(self._changed)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _changed(self) -> None:
        """Search again now if the view is on screen, else when it is next shown (saves work while indexing)."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def _threshold_edited(self) -> None:
        self._edited = True

    def _reset_threshold(self) -> None:
        self._edited = False
        self.refresh(forget_threshold=True)

    def refresh(self, forget_threshold: bool = False) -> None:
        self._stale = False
        lib = self.shared.lib
        edited = self.threshold.value() if self._edited else None
        self._edited = False
        self.summary.setText("Looking for duplicates…")

        def work(ctx) -> tuple[DupesThreshold, list[DuplicateGroup]]:
            if edited is not None or forget_threshold:
                set_duplicate_threshold(lib, edited)  # None: back to calibrated/default
            used = duplicate_threshold(lib)
            return used, find_duplicates(lib, used.value, ctx)

        self.shared.run(self, "duplicates", work, self._found)

    def _found(self, result: tuple[DupesThreshold, list[DuplicateGroup]]) -> None:
        used, groups = result
        self.used_threshold = used
        self.threshold.blockSignals(True)  # showing the library's value is not an edit
        self.threshold.setValue(used.value)
        self.threshold.blockSignals(False)
        # The box shows two decimals within its range; a calibrated 0.8137 is shown in full beside it.
        shown = abs(self.threshold.value() - used.value) < 1e-6
        self.threshold_source.setText(f"({used.source})" if shown else f"= {used.value:.4g} ({used.source})")
        self.reset_threshold.setEnabled(used.source == SET_BY_YOU)
        self._show(groups)

    def _show(self, groups: list[DuplicateGroup]) -> None:
        previous = self.current_group()
        self.groups = groups
        self.list.clear()
        for n, g in enumerate(groups, 1):
            item = QListWidgetItem(group_title(n, g))
            item.setToolTip(g.reason)
            self.list.addItem(item)
        exact = sum(g.kind == "exact" for g in groups)
        spare = sum(p.size for g in groups for p in g.photos[1:])
        self.summary.setText(f"{len(groups)} groups ({exact} exact, {len(groups) - exact} near) · "
                             f"up to {human_bytes(spare)} to free")
        if not groups:
            self.reason.setText("No duplicates found. Lower the similarity to look for looser matches.")
            self.model.set_photos([])
            self._set_compare(None, None)
            return
        keys = [frozenset(p.id for p in g.photos) for g in groups]
        row = 0
        if previous is not None:
            prev = frozenset(p.id for p in previous.photos)
            row = next((i for i, k in enumerate(keys) if k & prev), 0)
        self.list.setCurrentRow(row)

    def current_group(self) -> DuplicateGroup | None:
        row = self.list.currentRow()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def _group_selected(self, row: int) -> None:
        g = self.current_group()
        if g is None:
            return
        kind = "exact copies (the same bytes)" if g.kind == "exact" else "near duplicates"
        self.reason.setText(f"<b>{len(g.photos)} {kind}.</b> Suggested keeper ★ <b>{os.path.basename(g.keep.path)}</b>"
                            f" — {g.reason}.")
        notes = ["★ keep"] + [""] * (len(g.photos) - 1)
        self.model.set_photos(g.photos, g.similarities, notes)
        sel = self.grid.selectionModel()
        sel.clear()
        for r in range(1, len(g.photos)):  # the suggestion: every copy but the keeper
            sel.select(self.model.index(r), sel.SelectionFlag.Select)
        self.grid.setCurrentIndex(self.model.index(1)) if len(g.photos) > 1 else None
        self._selection_changed()

    def _selection_changed(self) -> None:
        g = self.current_group()
        rows = self.grid.selected_rows()
        self.trash.setEnabled(bool(rows))
        self.trash.setText(f"Move {len(rows)} selected to trash…" if rows else "Move selected to trash…")
        if g is None:
            return
        other = g.photos[rows[0]] if rows and rows[0] != 0 else (g.photos[1] if len(g.photos) > 1 else None)
        if other is not None and (self.compare is None or self.compare.right.photo.id != other.id
                                  or self.compare.left.photo.id != g.keep.id):
            self._set_compare(g.keep, other)

    def _set_compare(self, a: Photo | None, b: Photo | None) -> None:
        if self.compare is not None:
            self.compare.setParent(None)
            self.compare.deleteLater()
            self.compare = None
        if a is not None and b is not None:
            self.compare = CompareWidget(a, b, self.shared, ("Keeper:", "Copy:"), self)
            self.compare_box.addWidget(self.compare)

    def selected_photos(self) -> list[Photo]:
        g = self.current_group()
        return [g.photos[r] for r in self.grid.selected_rows()] if g else []

    def trash_selected(self) -> None:
        photos = self.selected_photos()
        if photos:
            self.trash_requested.emit(photos)

    def mark_not_duplicates(self) -> None:
        g = self.current_group()
        if g is None:
            return
        paths = [p.path for p in g.photos]

        def done(_):
            self.shared.say(f"recorded: these {len(paths)} photos are not duplicates; the group will not come back")
            self.shared.labels_changed.emit()

        self.shared.run(self, "not duplicates", lambda ctx: labels.not_duplicate(self.shared.lib, paths), done)
