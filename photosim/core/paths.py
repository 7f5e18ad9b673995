"""Path facts used by several layers: is a path inside a folder, and where photosim keeps its cache."""
from __future__ import annotations

import os
from typing import Iterable


def is_under(path: str, root: str) -> bool:
    """True if ``path`` is ``root`` or inside it (by the text of absolute paths: '/a/bc' is not under '/a/b')."""
    root = root.rstrip(os.sep) or os.sep
    return path.rstrip(os.sep) == root or path.startswith(root.rstrip(os.sep) + os.sep)


def under_any(path: str, roots: Iterable[str]) -> bool:
    return any(is_under(path, r) for r in roots)


def cache_dir() -> str:
    """Exported ONNX graph, thumbnails, error log: $PHOTOSIM_CACHE, else the per-user cache folder."""
    env = os.environ.get("PHOTOSIM_CACHE")
    if env:
        return env
    import platformdirs

    return platformdirs.user_cache_dir("photosim", appauthor=False)
