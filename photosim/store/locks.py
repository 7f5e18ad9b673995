"""The library lock: one writer of a library at a time, across processes and threads.

Every use case that changes what the library holds or moves a file (index,
adapt, train, switching a model, trash, keep the best, undo, protecting or
forgetting a folder) holds it; readers (similar, dupes' listing, info) never
take it: SQLite's WAL gives them a consistent view while a writer works.

It is an advisory ``flock`` on ``.library.lock`` in the library folder, so the
operating system drops it when a process dies (a kill -9 never leaves a
library locked). Inside one process it is re-entrant per thread: indexing
holds it and the adaptation it starts takes it again. The holder writes what it
is doing into the file, so a second process can say what it waits for.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

LOCK_NAME = ".library.lock"
#: How often a waiting writer looks again (and asks whether it was cancelled).
POLL_SECONDS = 0.2


class LockBusy(Exception):
    """The library is held by another writer and the caller chose not to wait (or was cancelled)."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class _Held:
    """One lock file held by this process: its handle, the thread that owns it, how deep."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()  # threads of this process take turns, as processes do on the file
        self.fh = None
        self.depth = 0


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def _entry(path: str) -> _Held:
    with _held_guard:
        return _held.setdefault(path, _Held())


class LibraryLock:
    """``with LibraryLock(directory, "indexing"):`` — held until the block ends.

    ``wait``: block until free (polling, so ``cancelled()`` can stop the wait with LockBusy);
    False: raise LockBusy at once. ``waiting(holder)`` is called once, before waiting, with
    what the other writer said it is doing."""

    def __init__(self, directory: str, doing: str = "changing", wait: bool = True,
                 waiting: Callable[[str], None] | None = None, cancelled: Callable[[], bool] | None = None) -> None:
        self.path = os.path.join(os.path.abspath(directory), LOCK_NAME)
        self.doing = doing
        self.wait = wait
        self.waiting = waiting
        self.cancelled = cancelled or (lambda: False)
        self._entry = _entry(self.path)
        self._mine = False

    def __enter__(self) -> "LibraryLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        e = self._entry
        told = False
        while not e.mutex.acquire(timeout=POLL_SECONDS):  # another thread of this process writes
            told = self._wait_or_raise("another task of this window", told)
        if e.depth == 0:
            try:
                fh = open(self.path, "a+b")
            except OSError:
                e.mutex.release()
                raise
            try:
                while not _try_lock(fh):
                    told = self._wait_or_raise(_holder(self.path), told)
            except BaseException:
                fh.close()
                e.mutex.release()
                raise
            e.fh = fh
            _say(fh, f"{self.doing} (process {os.getpid()}, since {time.strftime('%H:%M:%S')})")
        e.depth += 1
        self._mine = True

    def _wait_or_raise(self, holder: str, told: bool) -> bool:
        if not self.wait or self.cancelled():
            raise LockBusy(holder)
        if not told and self.waiting is not None:
            self.waiting(holder)
        time.sleep(POLL_SECONDS)
        return True

    def release(self) -> None:
        if not self._mine:
            return
        self._mine = False
        e = self._entry
        e.depth -= 1
        if e.depth == 0 and e.fh is not None:
            try:
                _say(e.fh, "")  # an idle library's lock file is empty
                _unlock(e.fh)
            finally:
                e.fh.close()
                e.fh = None
        e.mutex.release()


def held_here(directory: str) -> bool:
    """True if this thread holds the lock of the library in ``directory``."""
    e = _entry(os.path.join(os.path.abspath(directory), LOCK_NAME))
    if not e.mutex.acquire(blocking=False):
        return False
    try:
        return e.depth > 0
    finally:
        e.mutex.release()


def _holder(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            text = fh.read(200).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another photosim process"


def _say(fh, text: str) -> None:
    """Write what the holder does into the lock file (best effort: a full disk only loses the note)."""
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(text.encode("utf-8", "replace"))
        fh.flush()
    except OSError:
        pass


def _try_lock(fh) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fh) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
