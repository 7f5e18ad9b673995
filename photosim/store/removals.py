"""The removal journal and the protected folders: what may leave the user's folders, and a record
of every move that survives a crash.

A move is written as *pending* (and committed) before its file is renamed, and
marked *done* after; undo writes *restoring* with the path it will use before
renaming back, and *restored* after. A process killed between the two steps
leaves a record naming both paths, and ``recover`` settles it from what is on
disk: a file found in the quarantine is a finished move, a file still at its
place is a move that never happened. So every photo ends up either in its
folder or in the quarantine with a record that undo can use — never lost,
never in both.

Recovery runs when a library is opened and before every removal and undo. The
library lock (store/locks.py, held by every writer while it works) keeps it
from touching the records of a removal another process is making right now;
the operating system drops the lock when a process dies.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..core.types import PhotoState
from .locks import LibraryLock, LockBusy
from .repositories import chunks
from .schema import PhotoRow, ProtectedFolder, RemovalBatch, TrashMove

PENDING, DONE, RESTORING, RESTORED, GONE = "pending", "done", "restoring", "restored", "gone"


@dataclass(frozen=True)
class JournalMove:
    id: int
    batch: int
    photo_id: int | None
    original: str
    trashed: str
    state: str
    restored_path: str | None = None
    size: int | None = None


def _move(r: TrashMove) -> JournalMove:
    return JournalMove(r.id, r.batch, r.photo_id, r.original_path, r.trashed_path, r.state, r.restored_path, r.size)


# --- protected folders ------------------------------------------------------------------------
def protected_folders(s: Session) -> list[str]:
    return list(s.scalars(select(ProtectedFolder.path).order_by(ProtectedFolder.path)))


def protect(s: Session, path: str) -> bool:
    """Protect ``path``; False if it already was."""
    if s.get(ProtectedFolder, path) is not None:
        return False
    s.add(ProtectedFolder(path=path, added_at=time.time()))
    return True


def unprotect(s: Session, path: str) -> bool:
    return s.execute(delete(ProtectedFolder).where(ProtectedFolder.path == path)).rowcount > 0


# --- writing the journal ----------------------------------------------------------------------
def new_batch(s: Session, label: str) -> int:
    """A new undo step. Its id comes from an insert, so two processes never share one."""
    row = RemovalBatch(label=label, at=time.time())
    s.add(row)
    s.flush()
    return row.id


def add_pending(s: Session, batch: int, moves: Sequence[tuple[int, str, str, int]]) -> list[int]:
    """Record (photo id, original, quarantine path, size) moves as pending; their ids, in order.
    The caller commits before renaming anything."""
    now = time.time()
    rows = [TrashMove(batch=batch, photo_id=pid, original_path=orig, trashed_path=dest, method="quarantine",
                      at=now, restored=False, state=PENDING, size=size) for pid, orig, dest, size in moves]
    s.add_all(rows)
    s.flush()
    return [r.id for r in rows]


def mark_done(s: Session, move_ids: Iterable[int], photo_ids: Iterable[int]) -> None:
    """The files are in the quarantine: their photos are no longer in place."""
    for part in chunks(move_ids):
        s.execute(update(TrashMove).where(TrashMove.id.in_(part)).values(state=DONE))
    for part in chunks(photo_ids):
        s.execute(update(PhotoRow).where(PhotoRow.id.in_(part)).values(state=PhotoState.MISSING.value))


def drop(s: Session, move_ids: Iterable[int]) -> None:
    """Moves that did not happen (the rename failed, or a crash came before it)."""
    for part in chunks(move_ids):
        s.execute(delete(TrashMove).where(TrashMove.id.in_(part)))


def mark_restoring(s: Session, targets: Sequence[tuple[int, str]]) -> None:
    """(move id, path it will be restored to), written before the files are moved back."""
    if targets:  # one executemany by primary key
        s.execute(update(TrashMove), [{"id": i, "state": RESTORING, "restored_path": p} for i, p in targets])


def mark_restored(s: Session, moves: Sequence[JournalMove]) -> None:
    """The files are back (each at ``restored_path``): their photos are in place again. A photo put
    beside its old name takes the new path, unless its record was reused meanwhile (a rescan
    found another file at the old path)."""
    for part in chunks(moves):
        s.execute(update(TrashMove).where(TrashMove.id.in_([m.id for m in part]))
                  .values(state=RESTORED, restored=True))
    in_place = [m.photo_id for m in moves if m.photo_id is not None and m.restored_path in (None, m.original)]
    for part in chunks(in_place):
        s.execute(update(PhotoRow).where(PhotoRow.id.in_(part)).values(state=PhotoState.OK.value))
    for m in moves:
        if m.photo_id is not None and m.restored_path not in (None, m.original):
            taken = s.scalar(select(func.count()).select_from(PhotoRow).where(PhotoRow.path == m.restored_path))
            if not taken:
                s.execute(update(PhotoRow).where(PhotoRow.id == m.photo_id, PhotoRow.path == m.original,
                                                 PhotoRow.state != PhotoState.OK.value)
                          .values(path=m.restored_path, state=PhotoState.OK.value))


def back_to_done(s: Session, move_ids: Iterable[int]) -> None:
    for part in chunks(move_ids):
        s.execute(update(TrashMove).where(TrashMove.id.in_(part)).values(state=DONE, restored_path=None))


def mark_gone(s: Session, move_ids: Iterable[int]) -> None:
    """The file is neither in the quarantine nor at its place any more (removed by hand)."""
    for part in chunks(move_ids):
        s.execute(update(TrashMove).where(TrashMove.id.in_(part)).values(state=GONE))


# --- reading it -------------------------------------------------------------------------------
def last_batch(s: Session) -> int | None:
    """The most recent removal that still has photos in the quarantine."""
    return s.scalar(select(func.max(TrashMove.batch)).where(TrashMove.state == DONE))


def batch_label(s: Session, batch: int) -> str:
    row = s.get(RemovalBatch, batch)
    return row.label if row else "trash"


def moves_of(s: Session, batch: int, states: Sequence[str] = (DONE,)) -> list[JournalMove]:
    q = select(TrashMove).where(TrashMove.batch == batch, TrashMove.state.in_(states)).order_by(TrashMove.id)
    return [_move(r) for r in s.scalars(q)]


def unfinished(s: Session) -> list[JournalMove]:
    return [_move(r) for r in s.scalars(select(TrashMove).where(TrashMove.state.in_((PENDING, RESTORING)))
                                        .order_by(TrashMove.id))]


def quarantined_facts(s: Session) -> dict[int, tuple[str | None, bool]]:
    """id -> (content hash, greyscale?) of the photos now in the quarantine (as repositories'
    duplicate_facts for photos in place): a group they belonged to still knows them."""
    q = (select(PhotoRow.id, PhotoRow.content_hash, PhotoRow.grey).join(TrashMove, TrashMove.photo_id == PhotoRow.id)
         .where(TrashMove.state == DONE, PhotoRow.state != PhotoState.OK.value))
    return {i: (h, bool(g)) for i, h, g in s.execute(q)}


# --- the recovery ---------------------------------------------------------------------------
@dataclass
class Recovery:
    finished: int = 0     # pending moves whose file was found in the quarantine
    rolled_back: int = 0  # pending moves whose file was still in place
    restored: int = 0     # restores whose file was found back
    reverted: int = 0     # restores whose file was still in the quarantine
    gone: int = 0         # neither here nor there

    @property
    def any(self) -> bool:
        return bool(self.finished or self.rolled_back or self.restored or self.reverted or self.gone)


def recover(db, locked: bool = False) -> Recovery:
    """Settle the moves a killed process left half done, from what is on disk.

    ``locked``: the caller holds the library lock. Otherwise the lock is tried
    without waiting, and nothing is touched while another writer holds it
    (its moves are not unfinished, only in progress; it settles them itself).
    """
    out = Recovery()
    with db.session() as s:
        moves = unfinished(s)
    if not moves:
        return out
    lock = None
    if not locked:
        lock = LibraryLock(db.directory, "settling an interrupted removal", wait=False)
        try:
            lock.acquire()
        except (LockBusy, OSError):  # busy, or a read-only library folder: left for the next writer
            return out
    try:
        with db.session() as s:
            for m in unfinished(s):  # again, under the lock
                _settle(s, m, out)
    except OperationalError:  # a read-only or busy library: settled by the next process that can write
        return Recovery()
    finally:
        if lock is not None:
            lock.release()
    return out


def _settle(s: Session, m: JournalMove, out: Recovery) -> None:
    in_quarantine = os.path.lexists(m.trashed)
    if m.state == PENDING:
        if in_quarantine:
            mark_done(s, [m.id], [m.photo_id] if m.photo_id is not None else [])
            out.finished += 1
        elif os.path.lexists(m.original):
            drop(s, [m.id])
            out.rolled_back += 1
        else:
            mark_gone(s, [m.id])
            out.gone += 1
        return
    back = m.restored_path or m.original
    if in_quarantine and os.path.lexists(back) and _same_file(m.trashed, back):
        os.unlink(m.trashed)  # killed between the link and the unlink of a restore: finish it
        in_quarantine = False
    if in_quarantine:
        back_to_done(s, [m.id])
        out.reverted += 1
    elif os.path.lexists(back):
        mark_restored(s, [m])
        out.restored += 1
    else:
        mark_gone(s, [m.id])
        out.gone += 1


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
