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

import errno
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from ..core.decode import content_hash
from ..core.paths import QUARANTINE, in_quarantine, is_under, real_path, same_file, under_any
from ..core.types import Photo, PhotoState, TaskContext
from ..store import removals
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library
from . import Refusal, UserError
from .calibration import duplicate_threshold
from .duplicates import find_duplicates
from .folders import protected_folders, protecting_folder
from .library import writing

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
    """The photos undo put back (a list of Moved); ``gone``: files no longer in the quarantine;
    ``blocked``: files still in the quarantine that could not go back (the next undo retries)."""

    def __init__(self, moved=(), gone=(), label: str = "") -> None:
        super().__init__(moved)
        self.gone: list[str] = list(gone)
        self.label = label
        self.blocked: list[tuple[str, str, str]] = []  # (original, where it is now, why it could not go back)


def trash(lib: Library, paths: list[str], threshold: float | None = None,
          ctx: TaskContext | None = None) -> list[Moved]:
    """Move the named photos to quarantine. Refuses a photo in a protected folder, a link (the
    photo is its real file), and the last copy of a duplicate group — also when the other copies
    went in earlier calls. Every check runs under the library lock the moves take, and the copy
    that stays is read again from disk just before the move."""
    if not paths:
        raise UserError("name at least one photo to move to the trash")
    with writing(lib, "moving photos to the quarantine", ctx):
        with lib.db.session() as s:
            photos: list[Photo] = []
            for p in paths:
                real = real_path(p)
                photo = repo.photo_by_path(s, real) or repo.photo_by_path(s, os.path.abspath(p))
                if photo is None:
                    raise UserError(f"not in the library: {p}" + (f" (it is a link to {real})" if real != os.path.abspath(p) else ""))
                if not os.path.exists(photo.path):
                    raise UserError(f"file is not there (offline or already removed): {p}")
                if photo.id not in {q.id for q in photos}:
                    photos.append(photo)
        refuse_protected(lib, photos)
        guard = refuse_last_copies(lib, photos, threshold)
        result = move_to_quarantine(lib, photos, "trash", ctx, guard)
    if result.skipped:
        path, why = result.skipped[0]
        if not result.moved:
            raise UserError(f"nothing moved: could not move {path}: {why}")
        raise UserError(f"moved {len(result.moved)} of {len(photos)} photo(s) ('photosim undo' puts them back); "
                        f"could not move {path}: {why}")
    return result.moved


def refusal(lib: Library, photos: list[Photo]) -> str | None:
    """Why moving ``photos`` to the trash would be refused, as a sentence (None: it would not be). The
    window asks this before it offers the move; `trash` checks again under the lock."""
    if not photos:
        return None
    try:
        refuse_protected(lib, photos)
        refuse_last_copies(lib, photos)
    except Refusal as exc:
        return exc.sentence
    return None


def refuse_protected(lib: Library, photos: list[Photo]) -> None:
    roots = protected_folders(lib)
    for p in photos:
        root = protecting_folder(p.path, roots)
        if root is not None:
            raise Refusal(f"refusing to move {p.path}: it is in the protected folder {root} "
                          f"('photosim folders unprotect {root}' allows it)",
                          f"{os.path.basename(p.path)} is in the protected folder {root}: photos there are never "
                          "moved to the trash (unprotect the folder to allow it).")


def refuse_last_copies(lib: Library, photos: list[Photo], threshold: float | None = None
                       ) -> Callable[[Photo], str | None]:
    """Refuse if, after moving ``photos``, a duplicate group they belong to would have no copy left
    in place. The groups include the photos already in the quarantine, so removing the copies one
    call at a time is refused at the last one, as removing them all in one call is.

    Returns the check to make again just before each photo moves: a copy that stays for it must
    still be on disk with what the library knows of it (another file, not a link to this one)."""
    leaving = {p.id for p in photos}
    groups = find_duplicates(lib, threshold or duplicate_threshold(lib).value, only=leaving, with_removed=True)
    stays_for: dict[int, list[Photo]] = {}
    for g in groups:
        members = {p.id for p in g.photos}
        if not members & leaving:
            continue
        staying = [p for p in g.photos if p.id not in leaving and p.state == PhotoState.OK]
        for p in g.photos:
            if p.id in leaving:
                stays_for[p.id] = staying
        if staying:
            continue
        # A burst loses its moment with its last frame, a RAW + JPEG pair its capture with its last file.
        what = {"burst": "every frame of a burst", "raw+jpeg": "both files of a RAW + JPEG pair"}.get(
            g.kind, "every copy of a duplicate group")
        earlier = [p for p in g.photos if p.id not in leaving]
        last = next(p for p in g.photos if p.id in leaving)
        one = {"burst": "the last frame of its burst", "raw+jpeg": "the last file of its RAW + JPEG pair"}.get(
            g.kind, "the last copy of this photo")
        if earlier:
            raise Refusal(f"refusing to remove {what}: {last.path} is the last one "
                          f"in place ({len(earlier)} other photo(s) already in the quarantine; 'photosim undo' "
                          "brings them back)",
                          f"{os.path.basename(last.path)} is {one} still in place: the others are in the "
                          "trash (Undo brings them back).")
        raise Refusal(f"refusing to remove {what} ({len(members)} photos, keeper "
                      f"{g.keep.path}); leave at least one",
                      f"these are {what} ({len(members)} photos): keep at least one.")

    def still_a_copy(p: Photo) -> str | None:
        why = unchanged(p)
        if why is not None:
            return why
        others = stays_for.get(p.id)
        if others is None:
            return None  # in no group: nothing else holds its picture
        if not any(kept_copy(k, p) is None for k in others):
            reason = kept_copy(others[0], p) if others else "no copy stays"
            return f"the copy that would stay is not there as indexed ({reason}): nothing moved, rescan first"
        return None

    return still_a_copy


def kept_copy(k: Photo, leaving: Photo) -> str | None:
    """None if ``k`` is still, on disk, the photo the library knows and another file than
    ``leaving``; else why not. Size and mtime first, the bytes' hash when those differ."""
    if same_file(k.path, leaving.path):
        return f"{k.path} is the same file by another name"
    if os.path.islink(k.path):
        return f"{k.path} is a link, not a copy"
    why = unchanged(k)
    if why != "the file changed since it was indexed":
        return why
    try:
        with open(k.path, "rb") as fh:
            digest = content_hash(fh.read())
    except (OSError, MemoryError):
        return f"{k.path} cannot be read"
    return None if digest == k.content_hash else f"{k.path} no longer holds the bytes it was indexed with"


def unchanged(p: Photo) -> str | None:
    """None if the file is as indexed, else why not (a removal moves only what the person saw)."""
    if os.path.islink(p.path):
        return "it is a link, not the photo's file"
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
    delay = float(os.environ.get(TEST_DELAY, "0") or 0)
    with writing(lib, f"moving photos to the quarantine ({label})", ctx):
        removals.recover(lib.db, locked=True)
        protected = protected_folders(lib)  # read under the lock: a folder protected meanwhile is honoured

        def allowed(p: Photo) -> str | None:
            root = protecting_folder(p.path, protected)
            if root is not None:
                return f"in the protected folder {root}"
            real = real_path(p.path)
            if in_quarantine(real) or (real != os.path.abspath(p.path) and not under_any(real, places.real_folders)):
                return f"its file is at {real}, outside the library's folders: photosim moves nothing there"
            return precondition(p) if precondition is not None else None

        try:
            with lib.db.session() as s:
                out.batch = removals.new_batch(s, label)
            _move_all(lib, photos, places, allowed, out, ctx, delay)
        except WRITE_ERRORS as exc:
            raise UserError(_cannot_write(lib, exc, out)) from exc
    return out


#: Seconds to wait before each rename: lets a test put a second process inside a removal.
TEST_DELAY = "PHOTOSIM_TEST_MOVE_DELAY"


def _cannot_write(lib: Library, exc: BaseException, out: Removal) -> str:
    text = str(getattr(exc, "orig", exc))
    why = "the disk is full" if "full" in text.lower() else "the library cannot be written (read-only?)"
    done = (f"{len(out.moved)} photo(s) had moved and are in the quarantine, recorded for 'photosim undo'"
            if out.moved else "nothing was moved")
    return f"{why}: {lib.db.path}; {done}. Free space or make it writable, then try again"


def _move_all(lib: Library, photos: list[Photo], places: "_Quarantine", allowed, out: Removal,  # noqa: PLR0913 - the move's plan, its places and its report, one each
              ctx: TaskContext | None, delay: float) -> None:
    done_count = 0
    for chunk in repo.chunks(photos, CHUNK):
        if ctx is not None and ctx.cancelled():
            out.cancelled = True
            break
        ready = []
        for p in chunk:
            why = allowed(p)
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
            if delay:
                time.sleep(delay)
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.rename(p.path, target)  # same volume: atomic, bytes untouched
            except OSError as exc:
                failed.append(move_id)
                out.skipped.append((p.path, exc.strerror or str(exc)))
                _prune_empty(os.path.dirname(target))
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


def undo(lib: Library, ctx: TaskContext | None = None) -> Restored:
    """Put back every photo of the most recent removal still in the quarantine, as one step.

    A photo whose name is taken again is restored beside it, never over it. A photo
    that cannot go back (its folder became a file, or a link to another volume) stays
    in the quarantine, reported in ``blocked``; the rest go back, and the next undo
    tries only what is left.
    """
    with writing(lib, "putting photos back", ctx):
        removals.recover(lib.db, locked=True)
        with lib.db.session() as s:
            batch = removals.last_batch(s)
            if batch is None:
                raise UserError("nothing to undo")
            moves = removals.moves_of(s, batch)
            label = removals.batch_label(s, batch)
        restored, gone, blocked = [], [], []
        claimed: set[str] = set()
        for n, chunk in enumerate(repo.chunks(moves, CHUNK)):
            here = [m for m in chunk if os.path.lexists(m.trashed)]
            gone += [m for m in chunk if not os.path.lexists(m.trashed)]
            targets = {m.id: _free_name(m.original, claimed) for m in here}
            with lib.db.session() as s:  # committed before any file moves back
                removals.mark_restoring(s, list(targets.items()))
                removals.mark_gone(s, [m.id for m in gone])
            back, stuck = [], []
            for m in here:
                try:
                    target = _put_back(m.trashed, targets[m.id], claimed)
                except OSError as exc:
                    stuck.append(m.id)
                    blocked.append((m.original, m.trashed, _why_blocked(m.original, exc)))
                    continue
                back.append(removals.JournalMove(m.id, m.batch, m.photo_id, m.original, m.trashed,
                                                 removals.RESTORING, target, m.size))
                restored.append(Moved(m.original, m.trashed, target))
            with lib.db.session() as s:
                removals.mark_restoring(s, [(m.id, m.restored_path) for m in back if m.restored_path != targets[m.id]])
                removals.mark_restored(s, back)
                removals.back_to_done(s, stuck)  # still in the quarantine: the next undo tries again
            if ctx is not None:
                ctx.progress(min((n + 1) * CHUNK, len(moves)), len(moves), "putting back")
        for folder in {os.path.dirname(m.trashed) for m in moves}:
            _prune_empty(folder)
    if gone and not restored and not blocked:
        raise UserError(f"cannot restore {gone[0].original}: {gone[0].trashed} is gone from the quarantine")
    out = Restored(restored, [m.original for m in gone], label)
    out.blocked = blocked
    return out


def _why_blocked(original: str, exc: OSError) -> str:
    folder = os.path.dirname(original)
    probe = folder
    while probe and not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if probe and os.path.lexists(probe) and not os.path.isdir(probe):
        return f"{probe} is now a file, not a folder"
    if probe and os.path.islink(probe):
        return f"its folder {probe} is now a link (to {os.path.realpath(probe)})"
    if exc.errno == errno.EXDEV:
        return f"its folder {folder} is now on another volume"
    return exc.strerror or str(exc)


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
    supported, a checked rename. A folder on the way that became a link is refused (the photo
    would land elsewhere than where it was). Returns where the file went."""
    folder = os.path.dirname(target)
    probe = folder
    while probe and probe != os.sep and not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if os.path.islink(probe):
        raise OSError(errno.EXDEV, f"{probe} is now a link to {os.path.realpath(probe)}")
    os.makedirs(folder, exist_ok=True)
    while True:
        try:
            os.link(trashed, target)
        except FileExistsError:
            target = _free_name(target, claimed)
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise  # a folder on the way is a file, another volume, ...: this photo stays in the quarantine
            if os.path.lexists(target):  # no hard links here (some network or FAT volumes)
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
        self.real_folders = [real_path(f) for f in self.folders]
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
