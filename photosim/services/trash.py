"""Remove photos safely: move (never delete) to a quarantine folder, journal every move, undo.

The quarantine is ``.photosim-trash`` inside the library folder when that is on
the photo's volume (a rename: instant, nothing copied), otherwise at the top
of the photo's library folder on its own volume. ``send2trash`` cannot tell
where a file went, so the system trash would leave us unable to undo;
our own record can always put a file back.

Every move is journalled before and after its rename (store/removals.py), so a
crash half way leaves nothing that undo cannot find. One call is one undo step,
however many photos it moves. Undo never overwrites: a file whose name was
taken meanwhile is put back beside it ("name (restored).jpg").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from ..core.paths import QUARANTINE, is_under
from ..core.types import Photo, PhotoState, TaskContext
from ..store import removals
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .calibration import duplicate_threshold
from .duplicates import find_duplicates
from .folders import protected_folders, protecting_folder

#: Moves journalled (committed as pending) together before their renames: one commit per
#: photo would cost more than the renames themselves in a removal of thousands.
CHUNK = 256


@dataclass
class Moved:
    original: str
    trashed: str
    restored_to: str | None = None  # after undo: where it went back (beside the original if that was taken)

    @property
    def beside(self) -> bool:
        return self.restored_to is not None and self.restored_to != self.original


@dataclass
class Removal:
    """What one removal did: moved (one undo step), skipped with a reason, stopped early?"""

    batch: int | None
    moved: list[Moved] = field(default_factory=list)
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    cancelled: bool = False


class Restored(list):
    """The photos undo put back (a list of Moved); ``gone``: files no longer in the quarantine."""

    def __init__(self, moved=(), gone=(), label: str = "") -> None:
        super().__init__(moved)
        self.gone: list[str] = list(gone)
        self.label = label


def trash(lib: Library, paths: list[str], threshold: float | None = None) -> list[Moved]:
    """Move the named photos to quarantine. Refuses a photo in a protected folder, and the last
    copy of a duplicate group — also when the other copies went in earlier calls."""
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
    refuse_protected(lib, photos)
    refuse_last_copies(lib, photos, threshold)
    result = move_to_quarantine(lib, photos, "trash")
    if result.skipped:
        path, why = result.skipped[0]
        raise UserError(f"moved {len(result.moved)} of {len(photos)} photo(s) ('photosim undo' puts them back); "
                        f"could not move {path}: {why}")
    return result.moved


def refuse_protected(lib: Library, photos: list[Photo]) -> None:
    roots = protected_folders(lib)
    for p in photos:
        root = protecting_folder(p.path, roots)
        if root is not None:
            raise UserError(f"refusing to move {p.path}: it is in the protected folder {root} "
                            f"('photosim folders unprotect {root}' allows it)")


def refuse_last_copies(lib: Library, photos: list[Photo], threshold: float | None = None) -> None:
    """Refuse if, after moving ``photos``, a duplicate group they belong to would have no copy left
    in place. The groups include the photos already in the quarantine, so removing the copies one
    call at a time is refused at the last one, as removing them all in one call is."""
    leaving = {p.id for p in photos}
    groups = find_duplicates(lib, threshold or duplicate_threshold(lib).value, only=leaving, with_removed=True)
    for g in groups:
        members = {p.id for p in g.photos}
        if not members & leaving:
            continue
        staying = [p for p in g.photos if p.id not in leaving and p.state == PhotoState.OK]
        if staying:
            continue
        # A burst loses its moment with its last frame, a RAW + JPEG pair its capture with its last file.
        what = {"burst": "every frame of a burst", "raw+jpeg": "both files of a RAW + JPEG pair"}.get(
            g.kind, "every copy of a duplicate group")
        earlier = [p for p in g.photos if p.id not in leaving]
        if earlier:
            last = next(p for p in g.photos if p.id in leaving)
            raise UserError(f"refusing to remove {what}: {last.path} is the last one "
                            f"in place ({len(earlier)} other photo(s) already in the quarantine; 'photosim undo' "
                            "brings them back)")
        raise UserError(f"refusing to remove {what} ({len(members)} photos, keeper "
                        f"{g.keep.path}); leave at least one")


def unchanged(p: Photo) -> str | None:
    """None if the file is as indexed, else why not (a removal moves only what the person saw)."""
    try:
        st = os.stat(p.path)
    except FileNotFoundError:
        return "the file is not there any more"
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    if st.st_size != p.size or st.st_mtime_ns != p.mtime_ns:
        return "the file changed since it was indexed"
    return None


def move_to_quarantine(lib: Library, photos: list[Photo], label: str, ctx: TaskContext | None = None,
                       precondition: Callable[[Photo], str | None] | None = None) -> Removal:
    """Move ``photos`` to the quarantine as one undo step, journalled so that a crash at any point
    leaves each photo in place or in the quarantine with its record.

    ``precondition(photo)`` is asked just before each chunk is journalled: a reason skips the
    photo (reported, not moved). ``ctx`` gets progress and can stop between photos; what moved
    until then stays one undo step.
    """
    out = Removal(batch=None)
    if not photos:
        return out
    places = _Quarantine(lib)
    with removals.RemovalLock(lib.directory):
        removals.recover(lib.db, locked=True)
        with lib.db.session() as s:
            out.batch = removals.new_batch(s, label)
        done_count = 0
        for chunk in repo.chunks(photos, CHUNK):
            if ctx is not None and ctx.cancelled():
                out.cancelled = True
                break
            ready = []
            for p in chunk:
                why = precondition(p) if precondition is not None else None
                if why is None:
                    ready.append((p, places.target(p.path, out.batch)))
                else:
                    out.skipped.append((p.path, why))
            with lib.db.session() as s:  # committed before any of these files moves
                ids = removals.add_pending(s, out.batch, [(p.id, p.path, t, p.size) for p, t in ready])
            moved, failed = [], []
            for (p, target), move_id in zip(ready, ids):
                if ctx is not None and ctx.cancelled():
                    out.cancelled = True
                    failed.append(move_id)
                    continue
                try:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.rename(p.path, target)  # same volume: atomic, bytes untouched
                except OSError as exc:
                    failed.append(move_id)
                    out.skipped.append((p.path, exc.strerror or str(exc)))
                    continue
                moved.append((move_id, p))
                out.moved.append(Moved(p.path, target))
                out.bytes += p.size
            with lib.db.session() as s:
                removals.mark_done(s, [m for m, _ in moved], [p.id for _, p in moved])
                removals.drop(s, failed)
            done_count += len(chunk)
            if ctx is not None:
                ctx.progress(done_count, len(photos), "moving to the quarantine")
    return out


def undo(lib: Library, ctx: TaskContext | None = None) -> Restored:
    """Put back every photo of the most recent removal still in the quarantine, as one step.

    A photo whose name is taken again is restored beside it, never over it.
    """
    with removals.RemovalLock(lib.directory):
        removals.recover(lib.db, locked=True)
        with lib.db.session() as s:
            batch = removals.last_batch(s)
            if batch is None:
                raise UserError("nothing to undo")
            moves = removals.moves_of(s, batch)
            label = removals.batch_label(s, batch)
        restored, gone = [], []
        claimed: set[str] = set()
        for n, chunk in enumerate(repo.chunks(moves, CHUNK)):
            here = [m for m in chunk if os.path.lexists(m.trashed)]
            gone += [m for m in chunk if not os.path.lexists(m.trashed)]
            targets = {m.id: _free_name(m.original, claimed) for m in here}
            with lib.db.session() as s:  # committed before any file moves back
                removals.mark_restoring(s, list(targets.items()))
                removals.mark_gone(s, [m.id for m in gone])
            back = []
            for m in here:
                target = _put_back(m.trashed, targets[m.id], claimed)
                back.append(removals.JournalMove(m.id, m.batch, m.photo_id, m.original, m.trashed,
                                                 removals.RESTORING, target, m.size))
                restored.append(Moved(m.original, m.trashed, target))
            with lib.db.session() as s:
                removals.mark_restoring(s, [(m.id, m.restored_path) for m in back if m.restored_path != targets[m.id]])
                removals.mark_restored(s, back)
            if ctx is not None:
                ctx.progress(min((n + 1) * CHUNK, len(moves)), len(moves), "putting back")
        for folder in {os.path.dirname(m.trashed) for m in moves}:
            _prune_empty(folder)
    if gone and not restored:
        raise UserError(f"cannot restore {gone[0].original}: {gone[0].trashed} is gone from the quarantine")
    return Restored(restored, [m.original for m in gone], label)


def _free_name(path: str, claimed: set[str]) -> str:
    """``path`` if nothing is there, else "name (restored).ext", "name (restored 2).ext", ..."""
    if not os.path.lexists(path) and path not in claimed:
        claimed.add(path)
        return path
    stem, ext = os.path.splitext(path)
    n = 1
    while True:
        candidate = f"{stem} (restored{'' if n == 1 else f' {n}'}){ext}"
        if not os.path.lexists(candidate) and candidate not in claimed:
            claimed.add(candidate)
            return candidate
        n += 1


def _put_back(trashed: str, target: str, claimed: set[str]) -> str:
    """Move ``trashed`` to ``target`` without ever replacing a file that appeared there meanwhile:
    a hard link fails if the name exists (then the next free name is taken). Where links are not
    supported, a checked rename. Returns where the file went."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    while True:
        try:
            os.link(trashed, target)
        except FileExistsError:
            target = _free_name(target, claimed)
            continue
        except OSError:  # no hard links here (some network or FAT volumes)
            if os.path.lexists(target):
                target = _free_name(target, claimed)
                continue
            os.rename(trashed, target)
            return target
        os.unlink(trashed)
        return target


class _Quarantine:
    """Where each photo goes: the library's quarantine on the same volume, else the top of the
    photo's library folder on its own volume (a rename never copies). Stats are cached per folder."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        with lib.db.session() as s:
            self.folders = repo.list_folders(s)
        self._dev: dict[str, int | None] = {}

    def dev(self, folder: str) -> int | None:
        if folder not in self._dev:
            try:
                self._dev[folder] = os.stat(folder).st_dev
            except OSError:
                self._dev[folder] = None
        return self._dev[folder]

    def target(self, path: str, batch: int) -> str:
        here = self.dev(os.path.dirname(path))
        if here is not None and here == self.dev(self.lib.directory):
            return os.path.join(self.lib.directory, QUARANTINE, str(batch), os.path.abspath(path).lstrip(os.sep))
        holders = [f for f in self.folders if is_under(path, f) and f != path and self.dev(f) == here]
        root = min(holders, key=len) if holders else os.path.dirname(path)
        return os.path.join(root, QUARANTINE, str(batch), os.path.relpath(path, root))


def _prune_empty(folder: str) -> None:
    while QUARANTINE in folder.split(os.sep):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
