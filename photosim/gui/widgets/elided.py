"""A one-line label that shortens its text to the room it has ("…" in the middle of a path, at the end of a
sentence), with the whole text as its tooltip: the status bar's messages never widen the window, and never
end cut off without a sign."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class ElidedLabel(QWidget):
    def __init__(self, parent=None, mode: Qt.TextElideMode = Qt.ElideRight, least: int = 80) -> None:
        super().__init__(parent)
        self._text = ""
        self._colour = None
        self._mode = mode
        self._least = least
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

    def text(self) -> str:
        return self._text

    def setText(self, text: str, colour=None) -> None:
        self._text, self._colour = text, colour
        self.setToolTip(text)
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.setText("")

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self._text) > self.contentsRect().width()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._text) + 4, self.fontMetrics().height() + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self._least, self.sizeHint().width()), self.fontMetrics().height() + 4)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        r = self.contentsRect()
        p.setPen(self._colour or self.palette().color(QPalette.WindowText))
        p.drawText(r, Qt.AlignVCenter | Qt.AlignLeft, self.fontMetrics().elidedText(self._text, self._mode, r.width()))
