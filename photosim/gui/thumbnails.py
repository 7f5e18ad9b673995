"""Thumbnails: made on pool threads as QImage, cached on disk and in memory, newest request first.

Only the items a view paints ask for a thumbnail, so a 100,000-photo grid asks
for a screenful at a time. Requests go on a stack (last in, first out): after a
fast scroll the photos now on screen are made first, and requests that fell far
behind are dropped. QImage is safe to build off the GUI thread; the QPixmap is
made on the GUI thread when the image arrives (Qt's own threading advice).
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPixmap

from ..core.paths import cache_dir
from ..core.guard import refusal
from ..core.preview import preview
from ..core.raw import is_raw
from .tasks import lower_thread_priority

THUMB = 160        # longest side, in device-independent pixels (x2 stored for high-DPI screens)
MAX_PENDING = 600  # requests older than this many are dropped (they scrolled away long ago)


def thumb_cache_dir() -> str:
    return os.path.join(cache_dir(), "thumbs")


def cache_key(path: str, size: int, mtime_ns: int) -> str:
    """Changes when the file does, so an edited photo gets a fresh thumbnail."""
    return hashlib.sha1(f"{path}\0{size}\0{mtime_ns}\0{THUMB}".encode("utf-8", "surrogateescape")).hexdigest()


def make_thumbnail(path: str, side: int) -> QImage:
    """A QImage no larger than side×side, EXIF orientation applied; null if unreadable or refused
    by the size guard every decode passes (core/guard.py)."""
    if refusal(path):
        return QImage()
    if is_raw(path):  # Qt would read a DNG as a TIFF and show the undeveloped sensor data
        return _pillow_thumbnail(path, side)
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > side or size.height() > side):
        # JPEG decodes straight to the reduced size: the cheap path for camera photos.
        reader.setScaledSize(size.scaled(side, side, Qt.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        image = _pillow_thumbnail(path, side)  # HEIC and anything Qt has no plugin for
    elif image.width() > side or image.height() > side:
        image = image.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    return image


def _pillow_thumbnail(path: str, side: int) -> QImage:
    """What Qt does not decode itself (core/preview.py), as a QImage; null if unreadable or refused."""
    im = preview(path, side)
    if im is None:
        return QImage()
    return QImage(im.tobytes(), im.width, im.height, im.width * 3, QImage.Format_RGB888).copy()


class _Signals(QObject):
    ready = Signal(str, QImage)


class _Job(QRunnable):
    def __init__(self, owner: "ThumbnailLoader") -> None:
        super().__init__()
        self._owner = owner

    def run(self) -> None:
        lower_thread_priority()
        item = self._owner._pop()
        if item is None:
            return
        key, path = item
        image = self._owner._load(key, path)
        self._owner._signals.ready.emit(key, image)


class ThumbnailLoader(QObject):
    """Hands out thumbnails by photo; emits ``ready(key)`` when one that was missing arrives."""

    ready = Signal(str)

    def __init__(self, directory: str | None = None, threads: int = 2, memory_items: int = 3000,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.directory = directory or thumb_cache_dir()
        os.makedirs(self.directory, exist_ok=True)
        self.side = THUMB * 2
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._signals = _Signals()
        self._signals.ready.connect(self._arrived, Qt.QueuedConnection)
        self._lock = threading.Lock()
        self._stack: OrderedDict[str, str] = OrderedDict()  # key -> path, newest last
        self._wanted: set[str] = set()
        self._memory: OrderedDict[str, QPixmap] = OrderedDict()
        self._memory_items = memory_items
        self.failed: set[str] = set()
        self.placeholder = _tile(self.side, "#8884", "")
        self.broken = _tile(self.side, "#c4444433", "cannot read")

    def get(self, path: str, size: int, mtime_ns: int) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None, and it is requested."""
        key = cache_key(path, size, mtime_ns)
        pix = self._memory.get(key)
        if pix is not None:
            self._memory.move_to_end(key)
            return pix
        if key in self.failed:
            return self.broken
        with self._lock:
            if key in self._wanted:
                if key in self._stack:
                    self._stack.move_to_end(key)  # asked again: it is on screen now
                return None
            self._stack[key] = path
            self._wanted.add(key)
            while len(self._stack) > MAX_PENDING:
                dropped, _ = self._stack.popitem(last=False)
                self._wanted.discard(dropped)  # asked for again if it scrolls back into view
        self._pool.start(_Job(self))  # each job takes the newest request, whichever that is then
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._stack)

    def shutdown(self) -> None:
        with self._lock:
            self._stack.clear()
        self._pool.waitForDone()

    # --- pool side ----------------------------------------------------------------------
    def _pop(self) -> tuple[str, str] | None:
        with self._lock:
            if not self._stack:
                return None
            return self._stack.popitem(last=True)

    def _load(self, key: str, path: str) -> QImage:
        file = os.path.join(self.directory, key[:2], key + ".jpg")
        image = QImage(file) if os.path.exists(file) else QImage()
        if image.isNull():
            image = make_thumbnail(path, self.side)
            if not image.isNull():
                os.makedirs(os.path.dirname(file), exist_ok=True)
                tmp = f"{file}.{threading.get_ident()}.tmp"
                if image.save(tmp, "JPG", 85):
                    os.replace(tmp, file)
        return image

    # --- GUI side -----------------------------------------------------------------------
    @Slot(str, QImage)
    def _arrived(self, key: str, image: QImage) -> None:
        with self._lock:
            self._wanted.discard(key)
        if image.isNull():
            self.failed.add(key)
        else:
            pix = QPixmap.fromImage(image)
            pix.setDevicePixelRatio(2.0)
            self._memory[key] = pix
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        self.ready.emit(key)


def _tile(side: int, colour: str, text: str) -> QPixmap:
    """A flat square shown while a thumbnail loads (or when a file cannot be read)."""
    pix = QPixmap(QSize(side, side))
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.fillRect(pix.rect().adjusted(8, 8, -8, -8), QColor(colour))
    if text:
        p.setPen(QColor("#c44"))
        f = p.font()
        f.setPixelSize(side // 10)
        p.setFont(f)
        p.drawText(pix.rect(), Qt.AlignCenter, text)
    p.end()
    pix.setDevicePixelRatio(2.0)
    return pix
