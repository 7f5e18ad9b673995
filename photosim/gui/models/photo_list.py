"""A list model over Photo values, cheap per row so a grid of 100,000 stays smooth.

Nothing is computed for a row until a view paints it: the thumbnail is asked
for then, and when it arrives only that row is repainted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, QUrl

from ...core.types import Photo
from ...services.folders import protecting_folder
from ...services.wording import human_bytes
from ..thumbnails import ThumbnailLoader, cache_key

PhotoRole = Qt.UserRole + 1
ScoreRole = Qt.UserRole + 2
PathRole = Qt.UserRole + 3
NoteRole = Qt.UserRole + 4   # a short badge: "keep", "✓ same", …
MarkRole = Qt.UserRole + 5   # True (same) / False (different) / None, for the ✓/✗ buttons
CopiesRole = Qt.UserRole + 6  # how many other copies a row stands for (0: none): its badge can be clicked
ProtectedRole = Qt.UserRole + 7  # the protected folder that holds the photo (None: not protected)

#: Mime type of a drag out of any photo grid: one absolute path per line.
PATHS_MIME = "application/x-photosim-paths"


@dataclass(eq=False)  # compared by identity: a row is found again by its item after rows move
class Item:
    photo: Photo
    score: float | None = None
    note: str = ""
    mark: bool | None = None
    copies: list["Item"] = field(default_factory=list)  # the other copies this row stands for, best first
    expanded: bool = False  # its copies are shown as the rows right after it


def make_items(photos: list[Photo], scores: list[float] | None = None, notes: list[str] | None = None) -> list[Item]:
    """The rows of a PhotoListModel; plain Python, so it can run off the GUI thread."""
    return [Item(p, scores[i] if scores else None, notes[i] if notes else "") for i, p in enumerate(photos)]


def describe(p: Photo) -> str:
    """One line a person can read: size in pixels and bytes, format, date."""
    parts = []
    if p.width and p.height:
        parts.append(f"{p.width}×{p.height}")
    parts.append(human_bytes(p.size))
    if p.format:
        parts.append(p.format)
    if p.taken_at:
        parts.append(p.taken_at)
    return " · ".join(parts)


class PhotoListModel(QAbstractListModel):
    def __init__(self, thumbs: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbs
        self._items: list[Item] = []
        self._rows_by_key: dict[str, list[QPersistentModelIndex]] = {}
        self._locked: list[str] = []
        self._lock_of: dict[str, str | None] = {}  # path -> its protected folder, asked once a path
        thumbs.ready.connect(self._thumbnail_ready)

    def set_locked(self, folders: list[str]) -> None:
        """The protected folders: their photos carry a lock."""
        self._locked, self._lock_of = list(folders), {}
        if self._items:
            self.dataChanged.emit(self.index(0), self.index(len(self._items) - 1), [ProtectedRole])

    def lock_of(self, path: str) -> str | None:
        if path not in self._lock_of:
            self._lock_of[path] = protecting_folder(path, self._locked) if self._locked else None
        return self._lock_of[path]

    # --- content ------------------------------------------------------------------------
    def set_photos(self, photos: list[Photo], scores: list[float] | None = None,
                   notes: list[str] | None = None) -> None:
        self.set_items(make_items(photos, scores, notes))

    def set_items(self, items: list[Item]) -> None:
        """Show ``items`` (from ``make_items``, built on a worker for big lists: ~1 s for 100,000)."""
        self.beginResetModel()
        self._items = items
        self._rows_by_key.clear()
        self.endResetModel()

    def photo(self, row: int) -> Photo:
        return self._items[row].photo

    def photos(self) -> list[Photo]:
        return [it.photo for it in self._items]

    def item(self, row: int) -> Item:
        return self._items[row]

    def all_items(self) -> list[Item]:
        """Every item, the copies of collapsed rows too (each once)."""
        out, seen = [], set()
        for it in self._items:
            for x in (it, *it.copies):
                if id(x) not in seen:
                    seen.add(id(x))
                    out.append(x)
        return out

    def set_item_mark(self, item: Item, mark: bool | None) -> None:
        """Mark ``item`` wherever it is now (rows move when copies are shown or hidden)."""
        item.mark = mark
        for row, it in enumerate(self._items):
            if it is item:
                self.dataChanged.emit(self.index(row), self.index(row), [MarkRole])

    def set_marks(self, marks: dict[int, bool]) -> None:
        """The recorded mark of every item, by photo id (None where there is none), shown or collapsed."""
        for it in self.all_items():
            it.mark = marks.get(it.photo.id)
        if self._items:
            self.dataChanged.emit(self.index(0), self.index(len(self._items) - 1), [MarkRole])

    def insert_items(self, row: int, items: list[Item]) -> None:
        if not items:
            return
        self.beginInsertRows(QModelIndex(), row, row + len(items) - 1)
        self._items[row:row] = items
        self.endInsertRows()

    def remove_items(self, row: int, count: int) -> None:
        if count <= 0:
            return
        self.beginRemoveRows(QModelIndex(), row, row + count - 1)
        del self._items[row:row + count]
        self.endRemoveRows()

    def toggle_copies(self, row: int) -> None:
        """Show the copies a row stands for right after it, or hide them again."""
        it = self._items[row]
        if not it.copies:
            return
        if it.expanded:
            self.remove_items(row + 1, len(it.copies))
        else:
            self.insert_items(row + 1, it.copies)
        it.expanded = not it.expanded
        self.dataChanged.emit(self.index(row), self.index(row), [NoteRole])

    def row_of(self, path: str) -> int:
        for n, it in enumerate(self._items):
            if it.photo.path == path:
                return n
        return -1

    # --- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._items):
            return None
        it = self._items[index.row()]
        p = it.photo
        if role == Qt.DisplayRole:
            return os.path.basename(p.path)
        if role == Qt.DecorationRole:
            pix = self._thumbs.get(p.path, p.size, p.mtime_ns)
            if pix is None:
                key = cache_key(p.path, p.size, p.mtime_ns)
                self._rows_by_key.setdefault(key, []).append(QPersistentModelIndex(index))
                return self._thumbs.placeholder
            return pix
        if role == Qt.ToolTipRole:
            score = f"\nsimilarity {it.score:.3f}" if it.score is not None else ""
            copies = (f"\n{len(it.copies) + 1} copies of this photo: click the badge to "
                      f"{'hide' if it.expanded else 'show'} the others") if it.copies else ""
            lock = self.lock_of(p.path)
            locked = f"\nprotected (in {lock}): never proposed for removal" if lock else ""
            return f"{os.path.basename(p.path)}\nin {os.path.dirname(p.path)}\n{describe(p)}{score}{copies}{locked}"
        simple = _SIMPLE.get(role)
        if simple is not None:
            return simple(self, it)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlags:
        base = super().flags(index)
        return base | Qt.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [PATHS_MIME, "text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:
        paths = [self._items[i.row()].photo.path for i in indexes if i.isValid()]
        return paths_mime(paths)

    def supportedDragActions(self) -> Qt.DropActions:
        return Qt.CopyAction

    def _thumbnail_ready(self, key: str) -> None:
        for idx in self._rows_by_key.pop(key, ()):
            if idx.isValid():
                i = self.index(idx.row())
                self.dataChanged.emit(i, i, [Qt.DecorationRole])


#: The roles read straight off a row.
_SIMPLE = {
    PhotoRole: lambda m, it: it.photo,
    ScoreRole: lambda m, it: it.score,
    PathRole: lambda m, it: it.photo.path,
    NoteRole: lambda m, it: f"{len(it.copies) + 1} copies {'▾' if it.expanded else '▸'}" if it.copies else it.note,
    MarkRole: lambda m, it: it.mark,
    CopiesRole: lambda m, it: len(it.copies),
    ProtectedRole: lambda m, it: m.lock_of(it.photo.path),
}


def paths_mime(paths: list[str]) -> QMimeData:
    """What a grid hands to a drag: our own list of paths plus file URLs for other programs."""
    mime = QMimeData()
    mime.setData(PATHS_MIME, "\n".join(paths).encode("utf-8", "surrogateescape"))
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    return mime


def paths_from_mime(mime: QMimeData) -> list[str]:
    """Paths from our own drag, or local files dropped from a file manager."""
    if mime.hasFormat(PATHS_MIME):
        raw = bytes(mime.data(PATHS_MIME).data()).decode("utf-8", "surrogateescape")
        return [p for p in raw.split("\n") if p]
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
