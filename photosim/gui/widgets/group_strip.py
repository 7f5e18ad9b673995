"""A duplicate group as a list row: a strip of its thumbnails over one line of kind, count and size (as
Apple Photos and Immich list them), so the list is read by its pictures and never needs sideways scrolling."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

#: Item data: the group's photos as (path, size, mtime_ns), best first; its line of words; is it protected.
PhotosRole, LineRole, LockedRole = Qt.UserRole + 10, Qt.UserRole + 11, Qt.UserRole + 12
SIDE = 56
GAP = 4
SHOWN = 4  # thumbnails a row shows at its width; more are counted ("+3"), and a narrow list shows fewer
LEAST = 3  # thumbnails a row shows at least
COUNT = 16  # room for "+9"
STRIP_WIDTH = SHOWN * (SIDE + GAP) + 2 * GAP + COUNT
LEAST_WIDTH = LEAST * (SIDE + GAP) + 2 * GAP + COUNT


class GroupStripDelegate(QStyledItemDelegate):
    def __init__(self, thumbs, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbs

    def sizeHint(self, option, index) -> QSize:
        return QSize(LEAST_WIDTH, SIDE + option.fontMetrics.height() + 3 * GAP + 2)

    def paint(self, p: QPainter, option, index) -> None:
        pal: QPalette = option.palette
        r = option.rect
        p.save()
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            p.fillRect(r, pal.color(QPalette.Highlight))
        if option.state & QStyle.State_HasFocus:
            p.setPen(pal.color(QPalette.Highlight).darker(140))
            p.drawRect(r.adjusted(1, 1, -2, -2))
        photos = index.data(PhotosRole) or []
        shown = max(1, (r.width() - 2 * GAP - COUNT) // (SIDE + GAP))
        x = r.x() + GAP
        for path, size, mtime in photos[:shown]:
            box = QRect(x, r.y() + GAP, SIDE, SIDE)
            pix = self._thumbs.get(path, size, mtime) or self._thumbs.placeholder
            fitted = pix.size() / pix.devicePixelRatio()
            fitted.scale(box.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, fitted.width(), fitted.height())
            target.moveCenter(box.center())
            p.drawPixmap(target, pix)
            x += SIDE + GAP
        if len(photos) > shown:
            p.setPen(pal.color(QPalette.HighlightedText if selected else QPalette.Text))
            p.drawText(QRect(x, r.y() + GAP, r.right() - x, SIDE), Qt.AlignVCenter | Qt.AlignLeft,
                       f"+{len(photos) - shown}")
        line = index.data(LineRole) or ""
        text = QRect(r.x() + GAP, r.y() + SIDE + 2 * GAP, r.width() - 2 * GAP, option.fontMetrics.height())
        p.setPen(pal.color(QPalette.HighlightedText if selected else QPalette.Text))
        p.drawText(text, Qt.AlignLeft | Qt.AlignVCenter, option.fontMetrics.elidedText(line, Qt.ElideRight, text.width()))
        p.restore()
