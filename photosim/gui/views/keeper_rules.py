"""The Duplicates view's keeper-rules pane: which photo of a group to keep, in the person's order.

The pane only edits the library's settings (services/settings.py), the same
ones `photosim config dupes.keep_rules` and `photosim dupes --keep-rules` set,
so the window and the command line always choose the same keeper.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout)

from ...core.keeper import RULES
from ...services import settings
from ..shared import Shared

#: The pane's fields: setting key -> label.
FIELDS = {"dupes.format_order": "Formats, best first", "dupes.folder_priority": "Folders, best first",
          "dupes.name_patterns": "Names to avoid"}


class KeeperRulesPane(QGroupBox):
    """Tick the rules to use, drag (or Up/Down) them into order, set their parameters, Apply."""

    applied = Signal()

    def __init__(self, shared: Shared, parent=None) -> None:  # noqa: PLR0915 - builds the pane; the window redesign (issue 20) splits it
        super().__init__("Keeper rules — which photo of a group to keep", parent)
        self.shared = shared
        self.rules = QListWidget(self)
        self.rules.setDragDropMode(QAbstractItemView.InternalMove)
        self.rules.setToolTip("Ticked rules decide in this order (drag to reorder). Added borders, upscaled, "
                              "greyscale and re-encoded copies are never kept over their original, whatever the rules")
        self.rules.setMaximumHeight(190)
        self.up = QPushButton("Up")
        self.down = QPushButton("Down")
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(+1))
        self.date = QComboBox(self)
        self.date.addItems(["oldest", "newest"])
        self.edits = {key: QLineEdit(self) for key in FIELDS}
        for key, edit in self.edits.items():
            edit.setToolTip(settings.SETTINGS[key].help)
        self.add_folder = QPushButton("Add a folder…")
        self.add_folder.clicked.connect(self._choose_folder)
        self.apply = QPushButton("Apply")
        self.apply.setToolTip("Keep these rules in the library (the command line uses them too) and group again")
        self.apply.clicked.connect(self.save)

        order = QVBoxLayout()
        order.addWidget(self.up)
        order.addWidget(self.down)
        order.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.rules, 1)
        top.addLayout(order)
        form = QFormLayout()
        form.addRow("Date", self.date)
        for key, label in FIELDS.items():
            if key == "dupes.folder_priority":
                row = QHBoxLayout()
                row.addWidget(self.edits[key], 1)
                row.addWidget(self.add_folder)
                form.addRow(label, row)
            else:
                form.addRow(label, self.edits[key])
        # The ordered list beside its parameters, so the pane stays low and every rule is in sight.
        rules = QVBoxLayout()
        rules.addWidget(QLabel("Rules, in order (tick to use):"))
        rules.addLayout(top)
        rules.addStretch(1)  # taller than it needs (in the comparison's place): the list stays under its title
        params = QVBoxLayout()
        params.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.apply)
        params.addLayout(buttons)
        params.addStretch(1)
        lay = QHBoxLayout(self)
        lay.addLayout(rules, 3)  # the rules' descriptions are the longer text
        lay.addLayout(params, 2)
        self.load()
        rows = self.rules.count() * self.rules.sizeHintForRow(0) + 2 * self.rules.frameWidth() + 2
        self.rules.setMinimumHeight(min(rows, self.rules.maximumHeight()))

    def load(self) -> None:
        lib = self.shared.lib
        chosen = list(settings.get(lib, "dupes.keep_rules"))
        self.rules.clear()
        for name in chosen + [r for r in RULES if r not in chosen]:
            item = QListWidgetItem(f"{name} — {RULES[name].help}")
            item.setData(Qt.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsDragEnabled)
            item.setCheckState(Qt.Checked if name in chosen else Qt.Unchecked)
            self.rules.addItem(item)
        self.date.setCurrentText(settings.get(lib, "dupes.keep_date"))
        for key, edit in self.edits.items():
            edit.setText(settings.SETTINGS[key].show(settings.get(lib, key)))

    def chosen(self) -> list[str]:
        items = [self.rules.item(i) for i in range(self.rules.count())]
        return [it.data(Qt.UserRole) for it in items if it.checkState() == Qt.Checked]

    def set_order(self, names: list[str]) -> None:
        """Tick exactly ``names``, in this order, above the others (what a person does by hand)."""
        items = {self.rules.item(i).data(Qt.UserRole): self.rules.takeItem(i) for i in reversed(range(self.rules.count()))}
        for name in names + [n for n in RULES if n not in names]:
            item = items[name]
            item.setCheckState(Qt.Checked if name in names else Qt.Unchecked)
            self.rules.addItem(item)

    def _move(self, step: int) -> None:
        row = self.rules.currentRow()
        if row < 0 or not 0 <= row + step < self.rules.count():
            return
        item = self.rules.takeItem(row)
        self.rules.insertItem(row + step, item)
        self.rules.setCurrentRow(row + step)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder whose photos to keep first")
        if folder:
            edit = self.edits["dupes.folder_priority"]
            edit.setText(os.pathsep.join([t for t in edit.text().split(os.pathsep) if t] + [folder]))

    def save(self) -> None:
        values = {"dupes.keep_rules": ",".join(self.chosen()), "dupes.keep_date": self.date.currentText()}
        values.update({key: edit.text() for key, edit in self.edits.items()})
        for key, text in values.items():  # all checked first: a bad one changes nothing
            try:
                settings.SETTINGS[key].parse(text)
            except ValueError as exc:
                self.shared.error(f"{FIELDS.get(key, 'rules')}: {exc}")
                return
        lib, chosen = self.shared.lib, self.chosen()

        def write(ctx) -> None:  # on a worker: the database may be busy for seconds (indexing)
            for key, text in values.items():
                settings.set_value(lib, key, text)

        def written(_) -> None:
            self.shared.say(f"keeper rules: {', '.join(chosen)}")
            self.applied.emit()

        self.shared.run(self, "keeper rules", write, written)
