"""The folders a library watches: list them, decide what a rescan covers, and stop watching one.

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
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.paths import is_under, under_any
from ..core.types import PhotoState
from ..store import repositories as repo
from ..store.library import Library
from . import UserError

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
    return [FolderInfo(f, sum(1 for p in paths if is_under(p, f)), _online(f)) for f in folders]


def scan_plan(lib: Library, paths: list[str]) -> ScanPlan:
    """What indexing ``paths`` covers; no paths: a rescan of every library folder.

    A library folder that is missing or empty counts as offline; a path the
    library does not know must exist (else a UserError names it).
    """
    folders = folder_paths(lib)
    wanted = [os.path.abspath(p) for p in paths] if paths else folders
    roots, offline = [], []
    for p in wanted:
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


def remove_folder(lib: Library, path: str, forget: bool = False) -> Removal:
    """Stop rescanning ``path``; keep its photos as offline unless ``forget`` says to drop them."""
    with lib.db.session() as s:
        folders = repo.list_folders(s)
    folder = _match(path, folders)
    parent = next((f for f in folders if f != folder and is_under(folder, f)), None)
    with lib.db.session() as s:
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
    wanted = os.path.abspath(path)
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
