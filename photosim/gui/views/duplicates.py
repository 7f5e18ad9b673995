"""Duplicates: groups (exact, near, bursts with their best shot, RAW + JPEG pairs), the suggested keeper
and why, compare, trash, undo, the keeper-rules pane and "Keep the best in every group".

The view only chooses which files to hand to the services: the keeper rules,
protected folders, the refusal to remove every copy, the removal plan, the
quarantine and the not-duplicate decision all live in services and behave
exactly as in the CLI.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QScrollArea, QSizePolicy,
                               QPushButton, QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from ...core.duplicates import KINDS, DuplicateGroup
from ...core.types import Photo
from ...services import labels
from ...services.calibration import SET_BY_YOU, DupesThreshold, duplicate_threshold, set_duplicate_threshold
from ...services.cleanup import RemovalPlan, plan_removal
from ...services.duplicates import find_duplicates
from ...services.trash import Removal
from ...services.wording import Mark, human_bytes, marks
from ..models.photo_list import PhotoListModel
from ..shared import Shared
from ..widgets.grid import PhotoGrid
from ..widgets.group_strip import LEAST_WIDTH, STRIP_WIDTH, GroupStripDelegate, LineRole, PhotosRole
from .compare import CompareWidget
from .keep_best import SCOPES, KeepTheBest
from .keeper_rules import KeeperRulesPane

#: The compare table's rows a burst's best shot is chosen by (gui/views/compare.facts).
BEST_SHOT_FACTS = ("Sharpness", "Exposure", "Taken")
#: The largest thumbnail of a group's photos: a row of them and the comparison fit a 768-pixel screen.
GROUP_SIDE = 96
#: How a group's kind reads in a sentence.
KIND_WORDS = {"exact": "exact copies (the same bytes)", "near": "near duplicates",
              "burst": "frames of a burst (different moments)", "raw+jpeg": "photos: a RAW and its camera JPEG"}


def group_title(n: int, g: DuplicateGroup) -> str:
    return f"{group_line(n, g)} · {os.path.basename(g.keep.path)}"


def group_line(n: int, g: DuplicateGroup) -> str:
    """The words under a group's strip of thumbnails: kind, count, size."""
    kind = KINDS.get(g.kind, g.kind.capitalize())
    twins = f" ({len(g.same_bytes)} exact)" if g.same_bytes and g.kind != "exact" else ""
    lock = " · protected" if g.protected else ""
    return f"{n}. {kind}{twins} · {len(g.photos)} photos · {human_bytes(g.bytes_to_free)}{lock}"


#: How the window draws each mark of services/wording.py (a keeper is "★ keep" whichever keeper it is).
BADGES = {Mark.KEEP: "★ keep", Mark.BEST_SHOT: "★ best shot", Mark.KEPT: "★ keep", Mark.PROTECTED: "protected",
          Mark.SAME_BYTES: "= same bytes", Mark.COPY: "copy"}


def member_notes(g: DuplicateGroup) -> list[str]:
    """The badge under each photo; a keeper's protection goes without saying."""
    out = []
    for p in g.photos:
        shown = marks(g, p)
        if {Mark.KEEP, Mark.BEST_SHOT, Mark.KEPT} & set(shown):
            shown = [m for m in shown if m is not Mark.PROTECTED]
        out.append(" · ".join(BADGES[m] for m in shown))
    return out


class DuplicatesView(KeepTheBest, QWidget):
    trash_requested = Signal(list)  # [Photo] chosen for removal

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.groups: list[DuplicateGroup] = []
        self._build_finding()
        self._build_group()
        self._build_actions()
        self._lay_out()
        self._stale = True
        shared.photos_changed.connect(self._changed)
        shared.labels_changed.connect(self._changed)

    def _build_finding(self) -> None:
        """The threshold, where it comes from, and the search."""
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
        self.find = QPushButton("Find again")
        self.find.setToolTip("Find the duplicate groups again at this similarity")
        self.find.clicked.connect(lambda: self.refresh())
        self.summary = QLabel("Looking for duplicates…")
        self.summary.setWordWrap(True)  # beside the button it describes; a long one wraps, never widens the window

    def _build_group(self) -> None:
        """The list of groups and the chosen group's photos."""
        self.list = QListWidget(self)
        self.list.setItemDelegate(GroupStripDelegate(self.shared.thumbs, self.list))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        self.list.setMinimumWidth(LEAST_WIDTH + self.list.verticalScrollBar().sizeHint().width()
                                  + 2 * self.list.frameWidth())
        self.shared.thumbs.ready.connect(lambda _key: self.list.viewport().update())
        self.list.currentRowChanged.connect(self._group_selected)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.reason.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # A burst's reason can run to five lines: it scrolls in a box of about three, so the group's photos
        # and the comparison keep their room.
        self.reason_box = QScrollArea(self)
        self.reason_box.setWidget(self.reason)
        self.reason_box.setWidgetResizable(True)
        self.reason_box.setFrameShape(QFrame.NoFrame)
        self.reason_box.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        lines = self.reason.fontMetrics().lineSpacing()
        self.reason_box.setMinimumHeight(2 * lines + 4)
        self.reason_box.setMaximumHeight(3 * lines + 6)
        self.model = PhotoListModel(self.shared.thumbs, self)
        self.shared.follow_locks(self.model)
        self.grid = PhotoGrid(self)
        self.grid.setModel(self.model)
        # One whole row of cells (thumbnail, name, the ★ keep / = same bytes note) always shows, small
        # enough that the comparison below has the room.
        self.grid.largest, self.grid.one_row = GROUP_SIDE, True
        self.grid.set_side(GROUP_SIDE)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.grid.trash_requested.connect(self.trash_selected)
        self.trash = QPushButton("Move selected to trash…")
        self.trash.setToolTip("Moves the selected copies to the quarantine; Undo (Ctrl+Z) brings them back")
        self.trash.clicked.connect(self.trash_selected)
        self.not_dupes = QPushButton("Not duplicates")
        self.not_dupes.setToolTip("These photos only look alike: never show this group again")
        self.not_dupes.clicked.connect(self.mark_not_duplicates)

    def _build_actions(self) -> None:
        self.compare_box = QVBoxLayout()
        self.compare: CompareWidget | None = None
        self.rules_pane = KeeperRulesPane(self.shared, self)
        self.rules_pane.applied.connect(self.refresh)
        self.show_rules = QPushButton("Rules…")
        self.show_rules.setCheckable(True)
        self.show_rules.setToolTip("Choose and order the rules that pick the photo to keep "
                                   "(shown in place of the comparison, beside the group's ★)")
        self.scope = QComboBox(self)
        self.scope.addItems(list(SCOPES))
        # Shown whole when open; closed, it need not widen the window to its longest choice.
        self.scope.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.scope.setMinimumContentsLength(12)
        self.scope.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.scope.setMaximumWidth(max(self.scope.fontMetrics().horizontalAdvance(t) for t in SCOPES) + 48)
        self.scope.setToolTip("What 'Keep the best in every group' may take; the figure to free follows it")
        self.scope.currentTextChanged.connect(lambda _: self._replan())
        self.keep_best = QPushButton("Keep the best…")
        self.keep_best.setToolTip("Keep the best in every group: move every photo that is not kept to the "
                                  "quarantine, in all groups at once; asks once, and Ctrl+Z puts them all back")
        self.keep_best.clicked.connect(self.keep_best_everywhere)
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Stop moving; what moved so far stays one undo step (Ctrl+Z)")
        self.stop.hide()
        self.stop.clicked.connect(self.stop_removal)
        self.last_plan: RemovalPlan | None = None
        self.last_removal: Removal | None = None
        self._removal_task = None
        self._removal_started = 0.0

    def _lay_out(self) -> None:
        # One row of how groups are found and kept, so the comparison has the height of a 600-pixel screen;
        # what "Keep the best" would free heads the list of groups.
        top = QHBoxLayout()
        at_least = QLabel("Similarity ≥")
        at_least.setToolTip(self.threshold.toolTip())
        top.addWidget(at_least)
        top.addWidget(self.threshold)
        top.addWidget(self.threshold_source)
        top.addWidget(self.reset_threshold)
        top.addWidget(self.find)
        top.addStretch(1)
        top.addWidget(self.scope, 3)  # whole where the window is wide; a narrow one shows it whole when open
        top.addWidget(self.keep_best)
        top.addWidget(self.stop)
        top.addWidget(self.show_rules)
        split = QSplitter(Qt.Horizontal, self)
        split.addWidget(self._groups_pane())
        split.addWidget(self._group_pane())
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([STRIP_WIDTH + 24, 1000])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)

    def _groups_pane(self) -> QWidget:
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.summary)  # the groups by kind and what "Keep the best" would free, over the list
        ll.addWidget(self.list, 1)
        return left

    def _group_pane(self) -> QWidget:
        """The chosen group's photos over the comparison (or the keeper rules), the split between them
        the person's to move."""
        members = QWidget(self)
        rl = QVBoxLayout(members)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.reason_box)
        rl.addWidget(self.grid, 1)
        self.grid.setToolTip("The selected photos are the ones to remove; ★ marks the suggested keeper")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.not_dupes)
        buttons.addWidget(self.trash)
        rl.addLayout(buttons)
        holder = QWidget(self)
        self.compare_box.setContentsMargins(0, 0, 0, 0)
        holder.setLayout(self.compare_box)
        # The keeper rules open in the comparison's place: the window stays as tall (a 768-pixel screen),
        # and the group's ★ stays in sight above them while the rules change.
        self.detail = QStackedWidget(self)
        self.detail.addWidget(holder)
        self.detail.addWidget(self.rules_pane)
        self.show_rules.toggled.connect(lambda on: self.detail.setCurrentWidget(self.rules_pane if on else holder))
        right = QSplitter(Qt.Vertical, self)
        right.addWidget(members)
        right.addWidget(self.detail)
        right.setChildrenCollapsible(False)
        right.setStretchFactor(0, 0)
        right.setStretchFactor(1, 1)
        right.setSizes([1, 10_000])  # the group's row at its least, the comparison the rest
        self.right = right
        return right

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
        kinds = SCOPES[self.scope.currentText()]
        self.summary.setText("Looking for duplicates…")

        def work(ctx) -> tuple[DupesThreshold, list[DuplicateGroup], RemovalPlan]:
            if edited is not None or forget_threshold:
                set_duplicate_threshold(lib, edited)  # None: back to calibrated/default
            used = duplicate_threshold(lib)
            groups = find_duplicates(lib, used.value, ctx)
            # The figure to free is the plan "Keep the best" would carry out (and `dupes --remove-copies
            # --dry-run` prints): copies only by default, never a burst frame.
            return used, groups, plan_removal(groups, kinds)

        self.shared.run(self, "duplicates", work, self._found)

    def _replan(self) -> None:
        """The scope changed: the figure to free follows it."""
        groups, kinds = list(self.groups), SCOPES[self.scope.currentText()]
        self.shared.run(self, "plan removal", lambda ctx: plan_removal(groups, kinds), self._show_free)

    def _found(self, result: tuple[DupesThreshold, list[DuplicateGroup], RemovalPlan]) -> None:
        used, groups, plan = result
        self.used_threshold = used
        self.threshold.blockSignals(True)  # showing the library's value is not an edit
        self.threshold.setValue(used.value)
        self.threshold.blockSignals(False)
        # The box shows two decimals within its range; a calibrated 0.8137 is shown in full beside it.
        shown = abs(self.threshold.value() - used.value) < 1e-6
        self.threshold_source.setText(f"({used.source})" if shown else f"= {used.value:.4g} ({used.source})")
        self.reset_threshold.setEnabled(used.source == SET_BY_YOU)
        self._show(groups)
        self._show_free(plan)

    def _show_free(self, plan: RemovalPlan) -> None:
        """The summary line: the groups by kind, and what "Keep the best" in the chosen scope would free."""
        count = {k: sum(g.kind == k for g in self.groups) for k in KINDS}
        kinds = ", ".join(f"{n} {k}" for k, n in count.items() if n or k in ("exact", "near"))
        self.summary.setText(f"{len(self.groups)} groups ({kinds}) · up to {human_bytes(plan.bytes)} to free "
                             f"({len(plan.photos)} photo{'s' if len(plan.photos) != 1 else ''})")
        self.summary.setToolTip(f"What 'Keep the best in every group' would move now ({self.scope.currentText()}); "
                                "each group's own figure is what its suggestion selects")
        self.keep_best.setEnabled(bool(plan.photos) and self._removal_task is None)

    def _show(self, groups: list[DuplicateGroup]) -> None:
        previous = self.current_group()
        self.groups = groups
        self.list.clear()
        for n, g in enumerate(groups, 1):
            item = QListWidgetItem(group_title(n, g))
            item.setData(PhotosRole, [(p.path, p.size, p.mtime_ns) for p in g.photos])
            item.setData(LineRole, group_line(n, g))
            item.setToolTip(f"{group_title(n, g)}\n{g.reason}")
            self.list.addItem(item)
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
        kind = KIND_WORDS.get(g.kind, g.kind)
        extra = ""
        if g.same_bytes and g.kind != "exact":
            n = len(g.same_bytes)
            extra += f" {n} of them repeat{'s' if n == 1 else ''} another's bytes (= same bytes)."
        if g.protected:
            extra += f" {len(g.protected)} in a protected folder (always kept)."
        if not g.removable:
            extra += " Nothing here will be removed."
        # The reason names the keeper (★ in the grid) itself: said once.
        self.reason.setText(f"<b>{len(g.photos)} {kind}.</b> Suggestion (★): {g.reason}.{extra}")
        self.model.set_photos(g.photos, g.similarities, member_notes(g))
        sel = self.grid.selectionModel()
        sel.clear()
        rows = [r for r, p in enumerate(g.photos) if not g.kept(p)]
        for r in rows:  # the suggestion: every member that is not kept (nothing of a RAW + JPEG pair)
            sel.select(self.model.index(r), sel.SelectionFlag.Select)
        if rows:
            self.grid.setCurrentIndex(self.model.index(rows[0]))
        self._selection_changed()

    def set_trash_refusal(self, why: str | None) -> None:
        """The trash's rules about the selection (asked by the window): the button says why it is off."""
        self._refusal = why
        self.trash.setEnabled(bool(self.grid.selected_rows()) and why is None)
        self.trash.setToolTip(why or "Moves the selected copies to the quarantine; Undo (Ctrl+Z) brings them back")

    def _selection_changed(self) -> None:
        g = self.current_group()
        rows = self.grid.selected_rows()
        self.trash.setEnabled(bool(rows) and getattr(self, "_refusal", None) is None)
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
            g = self.current_group()
            burst = g is not None and g.kind == "burst"
            # A photo that stays too (a RAW's camera JPEG, a protected copy) is not called a copy.
            captions = ("Best shot:", "Frame:") if burst else \
                ("Kept:", "Also kept:") if g is not None and g.kept(b) else ("Keeper:", "Copy:")
            # A best shot is chosen by sharpness and exposure: those rows first, in sight without scrolling.
            self.compare = CompareWidget(a, b, self.shared, captions, self, BEST_SHOT_FACTS if burst else ())
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

