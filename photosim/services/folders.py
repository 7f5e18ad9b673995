"""The folders a library watches: list them, stop watching one, protect one.

Removing a folder only means "do not rescan it any more". Its photos stay in
the library, marked offline (missing), with their vectors and labels, so
nothing the user taught the app is lost and putting the folder back revives
them without re-embedding. Only when asked explicitly (``forget=True``) are
its photos removed from the library too — and even then no file on disk is
ever touched.

A protected folder (any folder, watched or not) holds photos the person wants
never touched: its photos are kept in every duplicate group, a bulk removal
passes them by, and `trash` refuses them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..core.paths import is_under
from ..core.types import PhotoState
from ..store import removals
from ..store import repositories as repo
from ..store.library import Library
from ..store.schema import PhotoRow
from . import UserError


@dataclass
class FolderInfo:
    path: str
    photos: int      # photos of the library under this folder (any state)
    online: bool     # the folder exists and is not empty (a drive that is plugged in)
    protected: bool = False  # it, or a folder above it, is protected


@dataclass
class Removal:
    folder: str
    offline: int     # photos kept, now marked offline
    forgotten: int   # photos removed from the library (forget=True)
    still_watched_by: str | None = None  # a parent folder that still covers these photos


def list_folders(lib: Library) -> list[FolderInfo]:
    with lib.db.session() as s:
        folders = repo.list_folders(s)
        paths = list(s.scalars(select(PhotoRow.path)))
        protected = removals.protected_folders(s)
    return [FolderInfo(f, sum(1 for p in paths if _under(p, f)), _online(f), protecting_folder(f, protected) is not None)
            for f in folders]


def protected_folders(lib: Library) -> list[str]:
    with lib.db.session() as s:
        return removals.protected_folders(s)


def protecting_folder(path: str, protected: list[str]) -> str | None:
    """The protected folder that holds ``path`` (None: not protected)."""
    return next((f for f in protected if is_under(path, f)), None)


def protect(lib: Library, path: str) -> str:
    """Protect a folder (watched or not); returns it as stored. A path that is not a folder is refused."""
    folder = os.path.abspath(os.path.expanduser(path)).rstrip(os.sep) or os.sep
    if not os.path.isdir(folder):
        raise UserError(f"not a folder: {path}")
    with lib.db.session() as s:
        removals.protect(s, folder)
    return folder


def unprotect(lib: Library, path: str) -> str:
    folder = os.path.abspath(os.path.expanduser(path)).rstrip(os.sep) or os.sep
    with lib.db.session() as s:
        if not removals.unprotect(s, folder):
            known = removals.protected_folders(s)
            raise UserError(f"not a protected folder: {path}" + (f" (protected: {', '.join(known)})" if known else
                                                                  " (no folder is protected)"))
    return folder


def remove_folder(lib: Library, path: str, forget: bool = False) -> Removal:
    """Stop rescanning ``path``; keep its photos as offline unless ``forget`` says to drop them."""
    with lib.db.session() as s:
        folders = repo.list_folders(s)
    folder = _match(path, folders)
    parent = next((f for f in folders if f != folder and _under(folder, f)), None)
    with lib.db.session() as s:
        repo.remove_folder(s, folder)
        if parent is not None and not forget:
            # Its photos are still found by the parent folder's rescan: nothing to mark.
            return Removal(folder, 0, 0, parent)
        rows = [(i, p) for i, p in s.execute(select(PhotoRow.id, PhotoRow.path)) if _under(p, folder)]
        # A photo also under another watched folder (nested the other way) stays as it is.
        ids = [i for i, p in rows if not any(_under(p, f) for f in folders if f != folder)]
        if forget:
            for start in range(0, len(ids), 900):  # vectors and labels go with them (ON DELETE CASCADE)
                s.execute(delete(PhotoRow).where(PhotoRow.id.in_(ids[start:start + 900])))
        else:
            repo.set_state(s, ids, PhotoState.MISSING)
    if forget and ids:
        lib.drop_cached_index()  # the sidecar no longer matches: the index is rebuilt on next use
    return Removal(folder, 0 if forget else len(ids), len(ids) if forget else 0, parent)


def _match(path: str, folders: list[str]) -> str:
    wanted = os.path.abspath(path)
    for f in folders:
        if f == wanted or f.rstrip(os.sep) == wanted.rstrip(os.sep):
            return f
    raise UserError(f"not a folder of this library: {path} (see them with: photosim folders)")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _online(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return next(it, None) is not None
    except OSError:
        return False
