"""The photo grid every view uses: thumbnails at the size the person sets, names, scores, badges (copies,
a lock for protected photos), optional ✓/✗ buttons.

A QListView in icon mode with uniform item sizes: Qt lays out 100,000 items
without measuring each one, reflows them to the width, and the delegate only
paints what is visible.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.photo_list import CopiesRole, MarkRole, NoteRole, ProtectedRole, ScoreRole
from ..thumbnails import THUMB

BUTTON = 26
#: The thumbnail sides a person can choose (logical pixels): the cached thumbnails are 2 x THUMB, so
#: every size up to THUMB stays sharp on a high-DPI screen.
SIDES = (80, 256)
SIDE_STEP = 16
#: The side a new window starts with: five columns of the photo grid at 1280 pixels.
DEFAULT_SIDE = 128


def cell_size(side: int) -> QSize:
    """A cell for a thumbnail of ``side``: the picture, its name, and a line for score, note and ✓/✗."""
    return QSize(side + 24, side + 56)


CELL = cell_size(THUMB)


def _bold(font: QFont) -> QFont:
    font = QFont(font)
    font.setBold(True)
    return font


def _draw_lock(p: QPainter, where: QRect, pal: QPalette) -> None:
    """A padlock on a round badge: this photo is in a protected folder (never proposed for removal)."""
    p.setPen(Qt.NoPen)
    p.setBrush(pal.color(QPalette.Window))
    p.drawEllipse(where)
    c = where.center()
    p.setPen(QPen(pal.color(QPalette.WindowText), 1.6))
    p.setBrush(Qt.NoBrush)
    p.drawArc(QRect(c.x() - 4, c.y() - 7, 8, 9), 0, 180 * 16)
    p.setPen(Qt.NoPen)
    p.setBrush(pal.color(QPalette.WindowText))
    p.drawRoundedRect(QRect(c.x() - 6, c.y() - 2, 12, 8), 1.5, 1.5)


class PhotoDelegate(QStyledItemDelegate):
    """Paints one cell; with ``buttons`` on, a ✓ and a ✗ under the thumbnail record a label.
    A row that stands for several copies has a "3 copies ▸" badge: a click on it shows them."""

    marked = Signal(int, bool)
    copies_clicked = Signal(int)

    def __init__(self, parent=None, buttons: bool = False) -> None:
        super().__init__(parent)
        self.buttons = buttons
        self.side = THUMB

    def sizeHint(self, option, index) -> QSize:
        return cell_size(self.side)

    def button_rect(self, cell: QRect, same: bool) -> QRect:
        """Where the ✓ (same) or ✗ (different) button of a cell is, in view coordinates."""
        y = cell.bottom() - BUTTON - 4
        x = cell.right() - 2 * BUTTON - 10 if same else cell.right() - BUTTON - 4
        return QRect(x, y, BUTTON, BUTTON)

    def _line_rect(self, cell: QRect) -> QRect:
        """The line under the name (score and note), clear of the ✓/✗ buttons."""
        right = 2 * BUTTON + 14 if self.buttons else 0
        return QRect(cell.x() + 8, cell.y() + self.side + 29, cell.width() - 16 - right, 22)

    def badge_rect(self, cell: QRect, index: QModelIndex, font: QFont) -> QRect | None:
        """Where the "N copies" badge of a cell is (on the thumbnail's lower right corner, in view
        coordinates); None when the row stands for no copies."""
        if not index.data(CopiesRole):
            return None
        width = QFontMetrics(_bold(font)).horizontalAdvance(index.data(NoteRole)) + 12
        return QRect(cell.x() + 12 + self.side - width - 2, cell.y() + 8 + self.side - 24, width, 22)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        pal: QPalette = option.palette
        r = option.rect
        p.save()
        p.setRenderHint(QPainter.Antialiasing)
        if option.state & QStyle.State_Selected:
            p.setBrush(pal.color(QPalette.Highlight))
            p.setPen(Qt.NoPen)
            p.drawRoundedRect(r.adjusted(2, 2, -2, -2), 6, 6)
            text = pal.color(QPalette.HighlightedText)
        else:
            text = pal.color(QPalette.Text)
        if option.state & QStyle.State_HasFocus:  # where the keyboard is, visible on any theme
            p.setPen(QPen(pal.color(QPalette.Highlight), 2, Qt.DashLine))
            p.setBrush(Qt.NoBrush)
            p.drawRoundedRect(r.adjusted(3, 3, -3, -3), 6, 6)
        box = QRect(r.x() + 12, r.y() + 8, self.side, self.side)
        self._paint_picture(p, box, index, pal)
        p.setPen(text)
        name = p.fontMetrics().elidedText(index.data(Qt.DisplayRole) or "", Qt.ElideMiddle, r.width() - 12)
        p.drawText(QRect(r.x() + 6, box.bottom() + 4, r.width() - 12, 18), Qt.AlignHCenter, name)
        self._paint_line(p, option, index)
        if self.buttons:
            self._paint_buttons(p, r, index.data(MarkRole), pal)
        p.restore()

    def _paint_picture(self, p: QPainter, box: QRect, index: QModelIndex, pal: QPalette) -> None:
        pix = index.data(Qt.DecorationRole)
        if pix is not None and not pix.isNull():
            size = pix.size() / pix.devicePixelRatio()
            size.scale(box.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            p.drawPixmap(target, pix)
        if index.data(ProtectedRole):
            _draw_lock(p, QRect(box.x() + 4, box.y() + 4, 22, 22), pal)

    def _paint_line(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        """Score and note under the name; a row of copies has its badge on the thumbnail instead."""
        r, pal = option.rect, option.palette
        line = []
        score = index.data(ScoreRole)
        if score is not None:
            line.append(f"{score:.3f}")
        badge = self.badge_rect(r, index, option.font)
        note = index.data(NoteRole)
        if note and badge is None:
            line.append(note)
        p.setFont(_bold(option.font))
        where = self._line_rect(r)
        if len(line) == 2 and p.fontMetrics().horizontalAdvance("  ".join(line)) > where.width():
            line = line[1:]  # a narrow cell keeps the note ("★ keep"); the score is in the tooltip
        if line:
            p.drawText(where, Qt.AlignLeft | Qt.AlignVCenter,
                       p.fontMetrics().elidedText("  ".join(line), Qt.ElideRight, where.width()))
        if badge is not None:  # a pill on the thumbnail: stands out, and clicks on it open the copies
            p.setPen(Qt.NoPen)
            p.setBrush(pal.color(QPalette.Highlight))
            p.drawRoundedRect(badge, 9, 9)
            p.setPen(pal.color(QPalette.HighlightedText))
            p.drawText(badge, Qt.AlignCenter, note)

    def _paint_buttons(self, p: QPainter, r: QRect, mark: bool | None, pal: QPalette) -> None:
        for same, glyph, colour in ((True, "✓", QColor(46, 160, 67)), (False, "✗", QColor(207, 34, 46))):
            b = self.button_rect(r, same)
            chosen = mark is same
            p.setPen(colour)
            p.setBrush(colour if chosen else pal.color(QPalette.Base))
            p.drawRoundedRect(b, 5, 5)
            p.setPen(QColor("white") if chosen else colour)
            p.drawText(b, Qt.AlignCenter, glyph)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if event.type() == QEvent.MouseButtonRelease and event.button() == Qt.LeftButton:
            pos = event.position().toPoint()
            for same in (True, False) if self.buttons else ():
                if self.button_rect(option.rect, same).contains(pos):
                    self.marked.emit(index.row(), same)
                    return True
            badge = self.badge_rect(option.rect, index, option.font)
            if badge is not None and badge.contains(pos):
                self.copies_clicked.emit(index.row())
                return True
        return super().editorEvent(event, model, option, index)


class PhotoGrid(QListView):
    """Arrows move, Space or double-click opens, Delete asks to move the selection to the trash."""

    open_requested = Signal(QModelIndex)
    trash_requested = Signal()
    drag_started = Signal()  # the triplet slots open for the drop

    def __init__(self, parent=None, buttons: bool = False) -> None:
        super().__init__(parent)
        self.delegate = PhotoDelegate(self, buttons)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        # Lay out big lists a batch at a time between events, not all at once.
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(5000)
        self.setGridSize(CELL)
        self.setSpacing(0)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setDefaultDropAction(Qt.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.verticalScrollBar().setSingleStep(24)
        self.doubleClicked.connect(self.open_requested)
        self.largest = SIDES[1]
        self.wanted = THUMB  # the side the person chose; a narrow pane shows less (_spread)
        self.one_row = False  # keep one whole row of cells in sight, whatever the thumbnail size
        # One column of the smallest cells, always: the cells reflow, they never scroll sideways.
        self.setMinimumWidth(cell_size(SIDES[0]).width() + self.verticalScrollBar().sizeHint().width()
                             + 2 * self.frameWidth())

    def set_side(self, side: int) -> None:
        """Show thumbnails ``side`` pixels across (at most ``largest``); the cells reflow to the width."""
        self.wanted = min(side, self.largest)
        if self.one_row:
            self.setMinimumHeight(cell_size(self.wanted).height() + 2 * self.frameWidth() + 8)
        self._spread()

    def _spread(self) -> None:
        """As many columns as fit, the spare width shared between them: the grid fills its width. A pane
        narrower than one cell gets smaller thumbnails (down to the smallest size), never a sideways scroll."""
        width = self.viewport().width()
        side = max(SIDES[0], min(self.wanted, width - (cell_size(0).width())))
        if side != self.delegate.side:
            self.delegate.side = side
        cell = cell_size(side)
        columns = max(1, width // cell.width())
        grid = QSize(max(cell.width(), width // columns), cell.height())
        if grid != self.gridSize():
            self.setGridSize(grid)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._spread()

    def startDrag(self, actions) -> None:
        self.drag_started.emit()
        super().startDrag(actions)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        if event.key() == Qt.Key_Delete and self.selectionModel().hasSelection():
            self.trash_requested.emit()
            return
        super().keyPressEvent(event)

    def selected_rows(self) -> list[int]:
        model = self.model()
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        if hasattr(model, "mapToSource"):
            rows = sorted(model.mapToSource(model.index(r, 0)).row() for r in rows)
        return rows

    def button_center(self, row: int, same: bool):
        """Centre of a ✓/✗ button in viewport coordinates (what a click there hits)."""
        return self.delegate.button_rect(self.visualRect(self.model().index(row, 0)), same).center()

    def badge_center(self, row: int):
        """Centre of a row's "N copies" badge in viewport coordinates (None: it has none)."""
        index = self.model().index(row, 0)
        badge = self.delegate.badge_rect(self.visualRect(index), index, self.font())
        return badge.center() if badge is not None else None
