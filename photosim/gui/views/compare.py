"""Side-by-side compare with synchronised zoom, and the single-photo viewer.

The differences table lists the facts the keeper rule weighs (resolution, file
size, date, format, compression, colour, border) and those the best shot of a
burst is chosen by (capture instant, sharpness, exposure), with the rows that
differ in bold, so a person can see why one photo was suggested over the other.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from ...core.types import Photo
from ...services.wording import human_bytes
from ..shared import resize_within_screen
from ..widgets.zoom import ZoomLink, ZoomView, load_image


def facts(p: Photo) -> list[tuple[str, str]]:
    return [
        ("Resolution", f"{p.width}×{p.height} ({(p.width or 0) * (p.height or 0) / 1e6:.2f} MP)" if p.width else "?"),
        ("File size", human_bytes(p.size)),
        ("Date taken", p.taken_at or "unknown"),
        ("Format", p.format or "?"),
        ("JPEG quality", f"≈{p.jpeg_quality}" if p.jpeg_quality is not None else "lossless / n.a."),
        ("Colour", "greyscale" if p.grey else "colour"),
        ("Added border", f"{p.border:.0%}" if p.border > 0.04 else "none"),
        ("EXIF tags", str(p.exif_tags)),
        ("Taken", _instant(p)),
        ("Sharpness", f"{p.sharpness:.2f}" if p.sharpness is not None else "not measured"),
        ("Exposure", f"{p.exposure:+.2f} stops" if p.exposure is not None else "not measured"),
        ("Folder", os.path.dirname(p.path)),
    ]


def _instant(p: Photo) -> str:
    """Capture time to the sub-second and camera: what tells a burst frame from a copy."""
    if not p.taken_at:
        return "unknown"
    when = p.taken_at.replace("T", " ") + (f".{p.taken_subsec}" if p.taken_subsec else "")
    return f"{when} · {p.camera}" if p.camera else when


class _Zoomable(QWidget):
    """A ZoomView with its caption, loading its photo on a worker."""

    def __init__(self, photo: Photo, shared, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.photo = photo
        self.view = ZoomView(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{caption}</b> {os.path.basename(photo.path)}")
        title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        title.setToolTip(photo.path)
        lay.addWidget(title)
        lay.addWidget(self.view, 1)
        shared.run(self, "load image", lambda ctx: load_image(photo.path), self.view.set_image)


class CompareWidget(QWidget):
    def __init__(self, a: Photo, b: Photo, shared, captions=("Left:", "Right:"), parent=None,
                 first: tuple[str, ...] = ()) -> None:
        """``first``: facts to list at the top of the table (what this choice was made by)."""
        super().__init__(parent)
        self.left = _Zoomable(a, shared, captions[0], self)
        self.right = _Zoomable(b, shared, captions[1], self)
        self.link = ZoomLink(self.left.view, self.right.view)
        pics = QHBoxLayout()
        pics.addWidget(self.left, 1)
        pics.addWidget(self.right, 1)
        tools = QHBoxLayout()
        for text, slot, tip in (("Fit", self.left.view.fit, "Show both photos whole"),
                                ("100%", lambda: self.left.view.set_scale(1.0), "One image pixel per screen pixel"),
                                ("Zoom in", lambda: self.left.view.zoom_by(1.5), "Or use the mouse wheel"),
                                ("Zoom out", lambda: self.left.view.zoom_by(1 / 1.5), "Or use the mouse wheel")):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip + "; zoom and pan move both photos")
            button.clicked.connect(slot)
            tools.addWidget(button)
        tools.addStretch(1)
        note = QLabel("bold rows differ")
        note.setToolTip("Zoom and pan move both photos; the rows in bold are the facts that differ")
        tools.addWidget(note)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["", captions[0].rstrip(":"), captions[1].rstrip(":")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        def order(row: tuple[str, str]) -> int:
            return first.index(row[0]) if row[0] in first else len(first)

        fa, fb = (sorted(facts(p), key=order) for p in (a, b))
        self.differences: list[str] = []
        for (name, va), (_, vb) in zip(fa, fb):
            r = self.table.rowCount()
            self.table.insertRow(r)
            cells = [QTableWidgetItem(name), QTableWidgetItem(va), QTableWidgetItem(vb)]
            if va != vb:
                self.differences.append(name)
                bold = QFont()
                bold.setBold(True)
                for c in cells:
                    c.setFont(bold)
            for col, c in enumerate(cells):
                self.table.setItem(r, col, c)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        height = self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 6
        rows = min(self.table.rowCount(), 2)  # it scrolls; a burst's best-shot rows (sharpness, exposure) lead
        self.table.setMinimumHeight(min(height, self.table.horizontalHeader().height() + 6
                                        + rows * self.table.verticalHeader().defaultSectionSize()))
        self.table.setMaximumHeight(height)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)  # where it is put gives the margins (a dialog, the Duplicates view)
        lay.addLayout(pics, 1)
        lay.addLayout(tools)
        lay.addWidget(self.table)


class CompareDialog(QDialog):
    def __init__(self, a: Photo, b: Photo, shared, parent=None, captions=("Left:", "Right:")) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare side by side")
        self.compare = CompareWidget(a, b, shared, captions, self)
        lay = QVBoxLayout(self)
        lay.addWidget(self.compare)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        lay.addWidget(close, 0, Qt.AlignRight)
        resize_within_screen(self, 1100, 760)


class ViewerDialog(QDialog):
    """One photo, zoomable: Left/Right the previous/next photo of the grid it was opened from, + and -
    zoom, 0 fits; Space or Escape closes it again."""

    def __init__(self, photo: Photo, shared, parent=None, photos: list[Photo] | None = None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.photos = photos or [photo]
        self.at = next((i for i, p in enumerate(self.photos) if p.path == photo.path), 0)
        if self.photos[self.at].path != photo.path:
            self.photos, self.at = [photo], 0
        self.view = ZoomView(self)
        self.view.setFocusPolicy(Qt.NoFocus)  # the keys below are the viewer's, not the scroll area's
        self.info = QLabel(self)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.info.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.info)
        for keys, slot in (((Qt.Key_Space,), self.accept), ((Qt.Key_Left,), lambda: self.go(-1)),
                           ((Qt.Key_Right,), lambda: self.go(1)), ((Qt.Key_Plus, Qt.Key_Equal), lambda: self.view.zoom_by(1.25)),
                           ((Qt.Key_Minus,), lambda: self.view.zoom_by(0.8)), ((Qt.Key_0,), self.view.fit)):
            for key in keys:
                QShortcut(QKeySequence(key), self, slot)
        self._show()
        resize_within_screen(self, 900, 700)

    @property
    def photo(self) -> Photo:
        return self.photos[self.at]

    def go(self, step: int) -> None:
        """The previous or next photo (stays at the ends)."""
        at = min(max(self.at + step, 0), len(self.photos) - 1)
        if at != self.at:
            self.at = at
            self._show()

    def _show(self) -> None:
        photo = self.photo
        self.setWindowTitle(f"{os.path.basename(photo.path)} ({self.at + 1} of {len(self.photos)})")
        self.info.setText(" · ".join(v for _, v in facts(photo)[:4]) + f"<br><small>{photo.path}</small><br>"
                          "<small>← → previous / next · + − zoom · 0 fit · Space closes</small>")
        path = photo.path
        self.shared.run(self, "load image", lambda ctx: load_image(path),
                        lambda image: self.view.set_image(image) if path == self.photo.path else None)
