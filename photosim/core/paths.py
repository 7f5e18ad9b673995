"""Path facts used by several layers: is a path inside a folder, and where photosim keeps its data."""
from __future__ import annotations

import os
from typing import Iterable

#: The quarantine folder's name: in the library folder, or at the top of a photo folder on another volume.
QUARANTINE = ".photosim-trash"


def is_under(path: str, root: str) -> bool:
    """True if ``path`` is ``root`` or inside it (by the text of absolute paths: '/a/bc' is not under '/a/b')."""
    root = root.rstrip(os.sep) or os.sep
    return path.rstrip(os.sep) == root or path.startswith(root.rstrip(os.sep) + os.sep)


def under_any(path: str, roots: Iterable[str]) -> bool:
    return any(is_under(path, r) for r in roots)


def default_library_dir() -> str:
    """The library when none is named: $PHOTOSIM_LIBRARY, else the per-user data folder."""
    return os.environ.get("PHOTOSIM_LIBRARY") or _platformdirs().user_data_dir("photosim", appauthor=False)


def cache_dir() -> str:
    """Exported ONNX graph, thumbnails, error log: $PHOTOSIM_CACHE, else the per-user cache folder."""
    return os.environ.get("PHOTOSIM_CACHE") or _platformdirs().user_cache_dir("photosim", appauthor=False)


def _platformdirs():
    import platformdirs  # only when a folder is not named: a short command need not import it

    return platformdirs


def real_path(path: str) -> str:
    """The one name of a file or folder: ``~`` expanded, absolute, every link and ``..`` resolved.
    Every path that enters photosim (folders, scanned files, `trash` arguments, outputs) is
    compared in this form, so two ways to one file are one."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def same_file(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` are one file on disk (the same device and inode: a link or a
    hard link), False if not or if either cannot be read."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def in_quarantine(path: str) -> bool:
    """True if ``path`` is inside (or is) a photosim quarantine folder."""
    return QUARANTINE in path.split(os.sep)
