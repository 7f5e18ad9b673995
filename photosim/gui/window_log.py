"""What the window says and where its controls are, one line at a time, to the file named by
``PHOTOSIM_WINDOW_LOG`` (off when unset). The real-window test drives `photosim gui` on an X server with
xdotool from outside the process: it reads here where to click and what the window answered.

Lines: ``notice TEXT``, ``asked TEXT`` (a question box), ``similar N PATH`` (results shown),
``place NAME X Y`` (a control's centre on the screen, logged again when it moves), ``gone NAME`` (out of
sight now)."""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt, QTimer

ENV = "PHOTOSIM_WINDOW_LOG"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def log(line: str) -> None:
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(line.replace("\n", " ") + "\n")


class Places(QObject):
    """Logs the screen centre of each named control every 300 ms, when it changed and is in sight."""

    def __init__(self, window, parent=None) -> None:
        super().__init__(parent)
        self.window = window
        self._last: dict[str, tuple[int, int]] = {}
        self._timer = QTimer(self, interval=300)
        self._timer.timeout.connect(self._report)
        self._timer.start()

    def _widgets(self) -> dict:
        w = self.window
        out = {f"slot-{role}": slot for role, slot in w.triplets.slots.items()}
        out["triplet-save"] = w.triplets.save
        return out

    def _report(self) -> None:
        places = {}
        for name, widget in self._widgets().items():
            if widget.isVisible():
                c = widget.mapToGlobal(widget.rect().center())
                places[name] = (c.x(), c.y())
        grid = self.window.library.grid
        if grid.isVisible():
            model = grid.model()
            for row in range(min(model.rowCount(), 40)):
                index = model.index(row, 0)
                rect = grid.visualRect(index)
                if rect.isValid() and grid.viewport().rect().contains(rect.center()):
                    c = grid.viewport().mapToGlobal(rect.center())
                    places[f"photo {model.data(index, Qt.UserRole + 3)}"] = (c.x(), c.y())
        for name, xy in places.items():
            if self._last.get(name) != xy:
                log(f"place {name} {xy[0]} {xy[1]}")
        for name in self._last.keys() - places.keys():
            log(f"gone {name}")
        self._last = places
