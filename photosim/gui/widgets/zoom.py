"""A zoomable, pannable image view; two of them can be linked so zoom and pan move together."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from ...core.guard import refusal
from ...core.raw import is_raw
from ..thumbnails import _pillow_thumbnail


def load_image(path: str, limit: int = 8192) -> QImage:
    """The photo at full size (up to ``limit`` px a side), EXIF orientation applied; null if refused
    by the size guard every decode passes (core/guard.py). Run off the GUI thread."""
    if refusal(path):
        return QImage()
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    image = reader.read() if not is_raw(path) else QImage()  # a RAW goes through LibRaw (core/raw.py)
    if image.isNull():
        image = _pillow_thumbnail(path, limit)
    return image


class ZoomView(QGraphicsView):
    """Wheel zooms about the cursor, drag pans; ``zoomed`` tells a linked partner."""

    zoomed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setRenderHint(QPainter.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setMinimumSize(160, 110)  # small enough for the Duplicates view to fit a 1366x768 laptop screen
        self._fit = True

    def set_image(self, image: QImage) -> None:
        self._item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(self._item.boundingRect())
        self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def scale_factor(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit = True
        if self.has_image():
            self.fitInView(self._item, Qt.KeepAspectRatio)
        self.zoomed.emit(self.scale_factor())

    def set_scale(self, factor: float) -> None:
        """Absolute zoom (1.0 = one image pixel per screen pixel)."""
        self._fit = False
        factor = max(0.02, min(factor, 32.0))
        self.resetTransform()
        self.scale(factor, factor)
        self.zoomed.emit(self.scale_factor())

    def zoom_by(self, step: float) -> None:
        self.set_scale(self.scale_factor() * step)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()


class ZoomLink(QObject):
    """Keeps two views at the same zoom (relative to their image widths) and the same pan position.

    Photos of different resolutions line up: zooming the 4000-px copy to 50% zooms
    the 2000-px copy to 100%, so the same detail is under both cursors.
    """

    def __init__(self, a: ZoomView, b: ZoomView) -> None:
        super().__init__(a)
        self.views = (a, b)
        self._busy = False
        for src, dst in ((a, b), (b, a)):
            src.zoomed.connect(lambda _f, s=src, d=dst: self._zoom(s, d))
            src.horizontalScrollBar().valueChanged.connect(lambda _v, s=src, d=dst: self._pan(s, d))
            src.verticalScrollBar().valueChanged.connect(lambda _v, s=src, d=dst: self._pan(s, d))

    def _ratio(self, src: ZoomView, dst: ZoomView) -> float:
        ws, wd = src.sceneRect().width(), dst.sceneRect().width()
        return ws / wd if ws > 0 and wd > 0 else 1.0

    def _zoom(self, src: ZoomView, dst: ZoomView) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            if src._fit:
                dst.fit()
            else:
                dst.set_scale(src.scale_factor() * self._ratio(src, dst))
            self._pan_now(src, dst)
        finally:
            self._busy = False

    def _pan(self, src: ZoomView, dst: ZoomView) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self._pan_now(src, dst)
        finally:
            self._busy = False

    @staticmethod
    def _pan_now(src: ZoomView, dst: ZoomView) -> None:
        for s, d in ((src.horizontalScrollBar(), dst.horizontalScrollBar()),
                     (src.verticalScrollBar(), dst.verticalScrollBar())):
            frac = (s.value() - s.minimum()) / (s.maximum() - s.minimum()) if s.maximum() > s.minimum() else 0.5
            d.setValue(round(d.minimum() + frac * (d.maximum() - d.minimum())))
