"""The folders a library watches: list them, decide what a rescan covers, stop watching one, protect one.

A rescan (``photosim index`` with no path, the window's Rescan) covers every
folder of the library; one that is missing or empty (an unplugged drive often
leaves an empty mount point) is reported offline and its photos are kept,
marked offline. Both front ends ask ``scan_plan`` so they always agree.

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

from ..core.paths import in_quarantine, is_under, real_path, under_any
from ..core.types import PhotoState
from ..store import removals
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .library import writing

#: How both front ends name a library folder that a rescan could not reach.
OFFLINE = "offline (missing or empty, its photos are kept)"


@dataclass(frozen=True)
class ScanPlan:
    roots: list[str]    # folders (and files) to scan
    offline: list[str]  # library folders missing or empty: their photos are kept, marked offline


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


def folder_paths(lib: Library) -> list[str]:
    """The folders the library watches, sorted."""
    with lib.db.session() as s:
        return repo.list_folders(s)


def list_folders(lib: Library) -> list[FolderInfo]:
    with lib.db.session() as s:
        folders = repo.list_folders(s)
        paths = [p for _, p in repo.photo_paths(s)]
        protected = removals.protected_folders(s)
    return [FolderInfo(f, sum(1 for p in paths if is_under(p, f)), _online(f), protecting_folder(f, protected) is not None)
            for f in folders]


def panel_folders(lib: Library) -> list[tuple[str, bool, bool]]:
    """(path, watched?, protected?) for the window's folder panel: the watched folders, then the
    protected folders that are not watched themselves (a lock must be seen to be lifted)."""
    with lib.db.session() as s:
        watched = repo.list_folders(s)
        protected = removals.protected_folders(s)
    rows = [(f, True, protecting_folder(f, protected) is not None) for f in watched]
    return rows + [(p, False, True) for p in protected if p not in watched]


def scan_plan(lib: Library, paths: list[str]) -> ScanPlan:
    """What indexing ``paths`` covers; no paths: a rescan of every library folder.

    Paths are taken at their real place (links resolved). A library folder that is
    missing or empty counts as offline; a path the library does not know must exist
    (else a UserError names it). The library's own folder and any quarantine are
    refused: what is there is photosim's, or photos the person removed.
    """
    folders = folder_paths(lib)
    wanted = [real_path(p) for p in paths] if paths else [real_path(f) for f in folders]
    roots, offline = [], []
    for p in wanted:
        refuse_library_path(lib, p, "index")
        if os.path.exists(p):
            if p in folders and os.path.isdir(p) and not _online(p):
                offline.append(p)
            else:
                roots.append(p)
        elif under_any(p, folders):
            offline.append(p)
        else:
            raise UserError(f"no such file or folder: {p}")
    return ScanPlan(roots, offline)


def refuse_library_path(lib: Library, path: str, what: str) -> None:
    """A UserError if ``path`` (real) is in the library's own folder or in a quarantine."""
    home = real_path(lib.directory)
    if in_quarantine(path):
        raise UserError(f"refusing to {what} {path}: it is photosim's quarantine, where removed photos wait "
                        "for 'photosim undo'; they are not photos of the library")
    if is_under(path, home):
        raise UserError(f"refusing to {what} {path}: it is inside the library's own folder {home}")


def protected_folders(lib: Library) -> list[str]:
    with lib.db.session() as s:
        return removals.protected_folders(s)


def protecting_folder(path: str, protected: list[str]) -> str | None:
    """The protected folder that holds ``path`` (None: not protected). Both are taken at their
    real place too, so a link to a protected photo, or a folder protected through a link, holds."""
    found = next((f for f in protected if is_under(path, f)), None)
    if found is not None or not protected:
        return found
    real = real_path(path)
    return next((f for f in protected if is_under(real, f) or is_under(real, real_path(f))), None)


def protect(lib: Library, path: str) -> str:
    """Protect a folder (watched or not), at its real place; returns it as stored. A path that
    is not a folder is refused."""
    folder = real_path(path).rstrip(os.sep) or os.sep
    if not os.path.isdir(folder):
        raise UserError(f"not a folder: {path}")
    with writing(lib, "protecting a folder"), lib.db.session() as s:
        removals.protect(s, folder)
    return folder


def unprotect(lib: Library, path: str) -> str:
    typed = os.path.abspath(os.path.expanduser(path)).rstrip(os.sep) or os.sep
    folder = real_path(path).rstrip(os.sep) or os.sep
    with writing(lib, "unprotecting a folder"), lib.db.session() as s:
        # a folder protected by an older photosim is stored as it was typed
        if not removals.unprotect(s, folder) and not removals.unprotect(s, typed):
            known = removals.protected_folders(s)
            raise UserError(f"not a protected folder: {path}" + (f" (protected: {', '.join(known)})" if known else
                                                                  " (no folder is protected)"))
    return folder


def remove_folder(lib: Library, path: str, forget: bool = False) -> Removal:
    """Stop rescanning ``path``; keep its photos as offline unless ``forget`` says to drop them."""
    with lib.db.session() as s:
        folders = repo.list_folders(s)
    folder = _match(path, folders)
    parent = next((f for f in folders if f != folder and is_under(folder, f)), None)
    with writing(lib, "removing a folder"), lib.db.session() as s:
        repo.remove_folder(s, folder)
        if parent is not None and not forget:
            # Its photos are still found by the parent folder's rescan: nothing to mark.
            return Removal(folder, 0, 0, parent)
        rows = [(i, p) for i, p in repo.photo_paths(s) if is_under(p, folder)]
        # A photo also under another watched folder (nested the other way) stays as it is.
        others = [f for f in folders if f != folder]
        ids = [i for i, p in rows if not under_any(p, others)]
        if forget:
            repo.delete_photos(s, ids)  # vectors and labels go with them
        else:
            repo.set_state(s, ids, PhotoState.MISSING)
    if forget and ids:
        lib.drop_cached_index()  # the sidecar no longer matches: the index is rebuilt on next use
    return Removal(folder, 0 if forget else len(ids), len(ids) if forget else 0, parent)


def _match(path: str, folders: list[str]) -> str:
    for wanted in (os.path.abspath(path), real_path(path)):
        for f in folders:
            if f == wanted or f.rstrip(os.sep) == wanted.rstrip(os.sep):
                return f
    raise UserError(f"not a folder of this library: {path} (see them with: photosim folders)")


def _online(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return next(it, None) is not None
    except OSError:
        return False
