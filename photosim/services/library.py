"""Opening a library, and the photos it holds: what both front ends need before any use case.

The window and the command line open a library only here, so they find the
same one (``--library``, else ``$PHOTOSIM_LIBRARY``, else the per-user data
folder) and never need the store's modules themselves.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from ..core.paths import default_library_dir
from ..core.types import Photo, PhotoState, TaskContext
from ..store import repositories as repo
from ..store.db import LibraryError
from ..store.library import Library
from ..store.locks import LibraryLock, LockBusy
from . import UserError

__all__ = ["Library", "LibraryError", "default_library_dir", "open_library", "readable_photos", "writing"]


def open_library(directory: str | None = None) -> Library:
    """The library in ``directory`` (created if new), else the default one; a LibraryError says why not."""
    return Library(directory or default_library_dir())


def readable_photos(lib: Library) -> list[Photo]:
    """Every photo the library can show now (not missing, not unreadable), by id."""
    with lib.db.session() as s:
        return repo.all_photos(s, [PhotoState.OK])


@contextlib.contextmanager
def writing(lib: Library, doing: str, ctx: TaskContext | None = None) -> Iterator[None]:
    """Hold the library lock (store/locks.py) while a writer works: another writer of this
    library, in this process or another, waits until it is done. While it waits it says so
    through ``ctx`` (a line a person reads) and stops waiting when ``ctx`` is cancelled."""
    def waiting(holder: str) -> None:
        text = f"another photosim is {holder} in this library; waiting…"
        say = getattr(ctx, "say", None)
        if say is not None:
            say(text)
        elif ctx is not None:
            ctx.progress(0, 0, text)

    lock = LibraryLock(lib.directory, doing, waiting=waiting,
                       cancelled=ctx.cancelled if ctx is not None else None)
    try:
        lock.acquire()
    except LockBusy as exc:
        raise UserError(f"stopped waiting for the library: another photosim is {exc.holder}; nothing was changed")
    except OSError as exc:
        raise UserError(f"cannot write in the library folder {lib.directory} ({exc.strerror or exc}): "
                        "nothing was changed") from exc
    try:
        yield
    finally:
        lock.release()
