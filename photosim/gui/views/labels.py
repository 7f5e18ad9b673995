"""Every similarity label (pairs and triplets) with thumbnails; delete any; counts at the top."""
from __future__ import annotations

import os

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ...services import labels
from ..shared import Shared

COLUMNS = ["Kind", "Photo", "Similar to", "Not like", "Label"]


class LabelsView(QWidget):
    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.data = labels.Labels([], [])
        self.rows: list[tuple[str, int]] = []  # (kind, id) per table row
        self.counts = QLabel(self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setIconSize(QSize(72, 72))
        self.table.verticalHeader().setDefaultSectionSize(84)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.delete = QPushButton("Delete selected")
        self.delete.clicked.connect(self.delete_selected)
        top = QHBoxLayout()
        top.addWidget(self.counts, 1)
        top.addWidget(self.delete)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(QLabel("Pairs come from ✓/✗ in the similar view; triplets from the triplet panel. "
                             "Fine-tuning (Train tab) learns from both."))
        self._waiting: dict[str, list[QTableWidgetItem]] = {}
        shared.thumbs.ready.connect(self._thumb_ready)
        shared.labels_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.shared.run(self, "list labels", lambda ctx: labels.list_labels(self.shared.lib), self._show)

    def _show(self, data: labels.Labels) -> None:
        self.data = data
        np_, nt = len(data.pairs), len(data.triplets)
        same = sum(p.same for p in data.pairs)
        self.counts.setText(f"<b>{np_}</b> pairs ({same} same, {np_ - same} different) · <b>{nt}</b> triplets")
        self.table.setRowCount(0)
        self.rows = []
        self._waiting.clear()
        for t in data.triplets:
            self._add_row("triplet", t.id, [t.anchor, t.positive, t.negative], "anchor ~ positive ≠ negative")
        for p in data.pairs:
            label = "✓ same" if p.same else "✗ different"
            self._add_row("pair", p.id, [p.a, p.b, None], label)
        self.table.resizeColumnsToContents()

    def _add_row(self, kind: str, label_id: int, paths: list[str | None], text: str) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.rows.append((kind, label_id))
        self.table.setItem(r, 0, QTableWidgetItem(f"{kind} {label_id}"))
        for col, path in enumerate(paths, start=1):
            item = QTableWidgetItem(os.path.basename(path) if path else "")
            if path:
                item.setToolTip(path)
                self._set_icon(item, path)
            self.table.setItem(r, col, item)
        self.table.setItem(r, 4, QTableWidgetItem(text))

    def _set_icon(self, item: QTableWidgetItem, path: str) -> None:
        if not os.path.exists(path):
            return
        st = os.stat(path)
        pix = self.shared.thumbs.get(path, st.st_size, st.st_mtime_ns)
        if pix is None:
            from ..thumbnails import cache_key

            self._waiting.setdefault(cache_key(path, st.st_size, st.st_mtime_ns), []).append(item)
        else:
            item.setIcon(QIcon(pix))

    def _thumb_ready(self, key: str) -> None:
        for item in self._waiting.pop(key, ()):
            self._set_icon(item, item.toolTip())

    def delete_selected(self) -> None:
        chosen = sorted({i.row() for i in self.table.selectedIndexes()})
        targets = [self.rows[r] for r in chosen]
        if not targets:
            self.shared.say("select a label to delete")
            return

        def work(ctx):
            for kind, label_id in targets:
                labels.remove_label(self.shared.lib, label_id, kind)
            return len(targets)

        self.shared.run(self, "delete labels", work,
                        lambda n: (self.shared.say(f"deleted {n} label(s)"), self.shared.labels_changed.emit()))
