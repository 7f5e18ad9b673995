"""Opening a library, and the photos it holds: what both front ends need before any use case.

The window and the command line open a library only here, so they find the
same one (``--library``, else ``$PHOTOSIM_LIBRARY``, else the per-user data
folder) and never need the store's modules themselves.
"""
from __future__ import annotations

from ..core.paths import default_library_dir
from ..core.types import Photo, PhotoState
from ..store import repositories as repo
from ..store.db import LibraryError
from ..store.library import Library

__all__ = ["Library", "LibraryError", "default_library_dir", "open_library", "readable_photos"]


def open_library(directory: str | None = None) -> Library:
    """The library in ``directory`` (created if new), else the default one; a LibraryError says why not."""
    return Library(directory or default_library_dir())


def readable_photos(lib: Library) -> list[Photo]:
    """Every photo the library can show now (not missing, not unreadable), by id."""
    with lib.db.session() as s:
        return repo.all_photos(s, [PhotoState.OK])
