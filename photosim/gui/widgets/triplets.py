"""The triplet panel: anchor, positive, negative slots that accept library photos dropped from any grid
(a photo from elsewhere is refused on the drop, saying why) and show each one's name and folder."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...services import labels
from ..models.photo_list import PATHS_MIME, paths_from_mime
from ..shared import short_name
from ..thumbnails import cache_key
from .elided import ElidedLabel

#: A slot's picture, a side (logical pixels): three slots and the views beside them fit a 1366-pixel screen.
PICTURE = 90

ROLES = (("anchor", "Anchor", "the photo to judge"),
         ("positive", "Positive", "looks MORE like the anchor"),
         ("negative", "Negative", "looks LESS like the anchor"))


class Slot(QFrame):
    """One slot: shows the dropped photo's thumbnail and name."""

    changed = Signal()
    refused = Signal(str)  # why a dropped photo cannot be marked

    def __init__(self, role: str, title: str, hint: str, shared, parent=None) -> None:
        super().__init__(parent)
        self.role = role
        self.path: str | None = None
        self.shared = shared
        thumbs = self._thumbs = shared.thumbs
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.StyledPanel)
        self.setMinimumSize(PICTURE + 10, 150)
        self.setMaximumHeight(210)
        self.setToolTip(f"{title}: {hint}. Drag a photo here from any grid.")
        self.image = QLabel(f"drop the\n{title.lower()}\nhere", self)
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setMinimumSize(PICTURE, PICTURE)
        self.caption = QLabel(f"<b>{title}</b><br><small>{hint}</small>", self)
        self.caption.setAlignment(Qt.AlignCenter)
        self.caption.setWordWrap(True)
        self.name = ElidedLabel(self, Qt.ElideMiddle, least=PICTURE)  # the photo's folder/name
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.name)
        lay.addWidget(self.caption)
        thumbs.ready.connect(self._ready)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if paths_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = paths_from_mime(event.mimeData())
        if not paths:
            return
        event.acceptProposedAction()
        path = paths[0]
        if event.mimeData().hasFormat(PATHS_MIME):  # from one of our grids: a library photo
            self.set_path(path)
            return
        lib = self.shared.lib  # from a file manager: only a photo of the library can be marked
        self.shared.run(self, "library photo", lambda ctx: labels.library_photo(lib, path),
                        lambda photo: self.set_path(photo.path), on_error=self.refused.emit)

    def set_path(self, path: str | None) -> None:
        self.path = path
        self._render()
        self.changed.emit()

    def _key(self) -> str | None:
        if not self.path or not os.path.exists(self.path):
            return None
        st = os.stat(self.path)
        return cache_key(self.path, st.st_size, st.st_mtime_ns)

    def _render(self) -> None:
        self.name.setText(short_name(self.path) if self.path else "")
        if not self.path:
            self.image.clear()
            self.image.setText("drop a photo\nhere")
            return
        st = os.stat(self.path) if os.path.exists(self.path) else None
        pix = self._thumbs.get(self.path, st.st_size, st.st_mtime_ns) if st else None
        if pix is None:
            self.image.setText(os.path.basename(self.path))
        else:
            scaled = pix.scaled(PICTURE * 2, PICTURE * 2, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            scaled.setDevicePixelRatio(2.0)
            self.image.setPixmap(scaled)
        self.image.setToolTip(self.path)

    def _ready(self, key: str) -> None:
        if key == self._key():
            self._render()


class TripletPanel(QWidget):
    """Fill three slots, then one click saves the triplet through the labels service."""

    def __init__(self, shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.slots = {role: Slot(role, title, hint, shared, self) for role, title, hint in ROLES}
        self.save = QPushButton("Save triplet")
        self.save.setToolTip("Records: the anchor looks more like the positive than like the negative")
        self.clear = QPushButton("Clear")
        self.save.clicked.connect(self.save_triplet)
        self.clear.clicked.connect(self.clear_slots)
        row = QHBoxLayout()
        for s in self.slots.values():
            row.addWidget(s)
            s.changed.connect(self._update)
            s.refused.connect(shared.error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear)
        buttons.addWidget(self.save)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        intro = QLabel("Teach what <i>similar</i> means: drag photos from any grid into the three slots.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        lay.addLayout(row)
        lay.addLayout(buttons)
        lay.addStretch(1)
        self._update()

    def _update(self) -> None:
        self.save.setEnabled(all(s.path for s in self.slots.values()))

    def clear_slots(self) -> None:
        for s in self.slots.values():
            s.set_path(None)

    def save_triplet(self) -> None:
        a, p, n = (self.slots[r].path for r, _, _ in ROLES)
        if not (a and p and n):
            return

        def done(label_id):
            self.shared.say(f"triplet {label_id} saved: {short_name(a)} is more like {short_name(p)} "
                            f"than {short_name(n)}")
            self.clear_slots()
            self.shared.labels_changed.emit()

        self.shared.run(self, "save triplet", lambda ctx: labels.add_triplet(self.shared.lib, a, p, n), done)
