"""Path facts used by several layers: is a path inside a folder, and where photosim keeps its data."""
from __future__ import annotations

import os
from typing import Iterable


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
