"""Remove photos safely: move (never delete) to a quarantine folder, record every move, undo.

The quarantine is ``.photosim-trash`` inside the library folder when that is on
the photo's volume (a rename: instant, nothing copied), otherwise at the top
of the photo's library folder on its own volume. ``send2trash`` cannot tell
where a file went, so the system trash would leave us unable to undo;
our own record can always put a file back.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.paths import is_under
from ..core.types import Photo, PhotoState
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .calibration import duplicate_threshold
from .duplicates import find_duplicates

QUARANTINE = ".photosim-trash"


@dataclass
class Moved:
    original: str
    trashed: str


def trash(lib: Library, paths: list[str], threshold: float | None = None) -> list[Moved]:
    """Move the named photos to quarantine; refuse to take the last copy of a duplicate group."""
    if not paths:
        raise UserError("name at least one photo to move to the trash")
    with lib.db.session() as s:
        photos: list[Photo] = []
        for p in paths:
            photo = repo.photo_by_path(s, os.path.abspath(p))
            if photo is None:
                raise UserError(f"not in the library: {p}")
            if not os.path.exists(photo.path):
                raise UserError(f"file is not there (offline or already removed): {p}")
            photos.append(photo)
    _refuse_last_copies(lib, photos, threshold)
    moved: list[Moved] = []
    with lib.db.session() as s:
        batch = repo.next_trash_batch(s)
    for photo in photos:
        target = _target(lib, photo.path, batch)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(photo.path, target)  # same volume: atomic, bytes untouched
        with lib.db.session() as s:
            repo.record_trash_move(s, batch, photo.id, photo.path, target)
            repo.set_state(s, [photo.id], PhotoState.MISSING)
        moved.append(Moved(photo.path, target))
    return moved


def undo(lib: Library) -> list[Moved]:
    """Put back every file of the most recent removal that is not restored yet."""
    with lib.db.session() as s:
        moves = repo.last_trash_batch(s)
    if not moves:
        raise UserError("nothing to undo")
    restored: list[Moved] = []
    for m in moves:
        if os.path.exists(m.original_path):
            raise UserError(f"cannot restore {m.original_path}: a file of that name exists again")
        if not os.path.exists(m.trashed_path):
            raise UserError(f"cannot restore {m.original_path}: {m.trashed_path} is gone from the quarantine")
        os.makedirs(os.path.dirname(m.original_path), exist_ok=True)
        os.rename(m.trashed_path, m.original_path)
        with lib.db.session() as s:
            repo.mark_restored(s, m)
        restored.append(Moved(m.original_path, m.trashed_path))
        _prune_empty(os.path.dirname(m.trashed_path))
    return restored


def _refuse_last_copies(lib: Library, photos: list[Photo], threshold: float | None) -> None:
    leaving = {p.id for p in photos}
    groups = find_duplicates(lib, threshold or duplicate_threshold(lib).value, only=leaving)
    for g in groups:
        members = {p.id for p in g.photos}
        if members & leaving and members <= leaving:
            raise UserError(
                f"refusing to remove every copy of a duplicate group ({len(members)} photos, keeper "
                f"{g.keep.path}); leave at least one"
            )


def _target(lib: Library, path: str, batch: int) -> str:
    rel = os.path.abspath(path).lstrip(os.sep)
    base = lib.directory
    if _same_volume(base, path):
        return os.path.join(base, QUARANTINE, str(batch), rel)
    root = _volume_top(lib, path)
    return os.path.join(root, QUARANTINE, str(batch), os.path.relpath(path, root))


def _same_volume(a: str, b: str) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _volume_top(lib: Library, path: str) -> str:
    """The highest library folder holding ``path`` on its volume (else the photo's own folder)."""
    with lib.db.session() as s:
        folders = repo.list_folders(s)
    holders = [f for f in folders if is_under(path, f) and _same_volume(f, path)]
    return min(holders, key=len) if holders else os.path.dirname(path)


def _prune_empty(folder: str) -> None:
    while QUARANTINE in folder.split(os.sep):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
