"""What a failure means to the person, decided once for both front ends.

- A ``UserError`` or ``LibraryError`` (a bad path, a bad option, a refused removal, a library that
  cannot be opened) is something the person can fix: its one line is the whole message.
- A failure of the library's files (damaged, read-only, full, busy: services/library.explain) is
  a sentence naming the file and what to do.
- An ``OSError`` is the world (a file, a disk, a permission): one line, and the traceback is kept
  in the error log in case it is not.
- Anything else is a bug in photosim: the message says so, the traceback goes to the error log
  (its path shown), and the command line exits with ``EXIT_BUG``.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass

from . import UserError
from .library import LibraryError, explain

#: BSD's EX_SOFTWARE: an internal software error.
EXIT_BUG = 70
#: Exit statuses of the command line, in one place.
EXIT_OK, EXIT_FAILED, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Failure:
    message: str  # one line for the person
    status: int  # the command line's exit status
    bug: bool = False
    log: str | None = None  # where the traceback was written


def understand(exc: BaseException, library_dir: str | None = None) -> Failure:
    """The message and exit status for ``exc``, raised while working on the library at ``library_dir``.
    Call it inside the ``except`` block (the traceback logged is the one being handled)."""
    if isinstance(exc, (UserError, LibraryError)):
        return Failure(str(exc), EXIT_USER)
    said = explain(exc, library_dir)
    if said is not None:
        return Failure(said, EXIT_USER)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return Failure(f"{exc.strerror or exc}{where}", EXIT_FAILED, log=log_traceback())
    log = log_traceback()
    return Failure(f"internal error, a bug in photosim (not something you did): {type(exc).__name__}: {exc}; "
                   f"the details are in {log}", EXIT_BUG, bug=True, log=log)


def error_log() -> str:
    from ..core.paths import cache_dir

    return os.path.join(cache_dir(), "error.log")


def log_traceback() -> str:
    """Append the traceback being handled to the error log; returns its path (or why there is none)."""
    from .. import __version__

    path = error_log()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as fh:
            fh.write(f"--- {time.ctime()} photosim {__version__} {sys.argv}\n")
            fh.write(traceback.format_exc())
    except OSError:
        return "(no log: the cache folder is not writable)"
    return path
