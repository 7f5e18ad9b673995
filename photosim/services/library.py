"""Opening a library, and the photos it holds: what both front ends need before any use case.

The window and the command line open a library only here, so they find the
same one (``--library``, else ``$PHOTOSIM_LIBRARY``, else the per-user data
folder) and never need the store's modules themselves.
"""
from __future__ import annotations

import contextlib
import functools
import os
from typing import Callable, Iterator

from ..core.paths import default_library_dir, real_path
from ..core.types import Photo, PhotoState, TaskContext
from ..store import repositories as repo
from ..store.db import LibraryError
from ..store.library import Library
from ..store.locks import LibraryLock, LockBusy
from . import UserError

__all__ = ["Library", "LibraryError", "default_library_dir", "open_library", "readable_photos", "writes", "writing"]


def open_library(directory: str | None = None) -> Library:
    """The library in ``directory`` (created if new), else the default one; a LibraryError says why not."""
    return Library(directory or default_library_dir())


def photo_at(s, path: str) -> Photo | None:
    """The library's photo at ``path`` taken at its real place (a link to a photo is that photo);
    else as typed (a record an older photosim made under a link's name, until the next rescan)."""
    return repo.photo_by_path(s, real_path(path)) or repo.photo_by_path(s, os.path.abspath(path))


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


def writes(doing: str) -> Callable:
    """Decorator: the use case ``fn(lib, ctx?, ...)`` runs holding the library lock (see ``writing``)."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(lib: Library, *args, **kwargs):
            ctx = kwargs.get("ctx", args[0] if args and hasattr(args[0], "cancelled") else None)
            with writing(lib, doing, ctx):
                return fn(lib, *args, **kwargs)
        return run
    return wrap


def explain(exc: BaseException, directory: str | None = None) -> str | None:
    """One sentence for a failure that comes from the library's files rather than from photosim
    (a damaged database or stored model, a read-only library, a full disk), or None."""
    import zipfile

    from ..store.db import DATABASE_ERRORS, DB_NAME, WRITE_ERRORS, damaged, quick_check

    folder = directory or "in use"
    path = f"{directory}/{DB_NAME}" if directory else f"({DB_NAME})"
    if isinstance(exc, UnicodeDecodeError):
        return damaged(path, "a stored text is not valid UTF-8")
    if isinstance(exc, (zipfile.BadZipFile, EOFError)):
        return (f"a model stored in the library {folder} is damaged ({exc}); 'photosim repair' goes back to "
                "the plain model and rebuilds what can be rebuilt")
    if isinstance(exc, WRITE_ERRORS + DATABASE_ERRORS):
        text = str(getattr(exc, "orig", exc)).splitlines()[0] if str(getattr(exc, "orig", exc)) else type(exc).__name__
        low = text.lower()
        if "readonly" in low or "read-only" in low:
            return f"the library {path} is read-only: nothing was changed (make it writable to do this)"
        if "full" in low:
            return f"the disk holding the library {path} is full: nothing more was written (free some space)"
        if "locked" in low or "busy" in low:
            return f"the library {path} is busy (another photosim is writing): try again in a moment"
        if "malformed" in low or "not a database" in low or "corrupt" in low or "decode to utf-8" in low:
            return damaged(path, text)
        problem = quick_check(f"{directory}/{DB_NAME}") if directory else None  # any other database error: is it damage?
        if problem:
            return damaged(path, problem)
        return f"the library {path} could not be read or written ({text})"
    return None

