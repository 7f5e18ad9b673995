"""The bundled demo photos: where they are, and which files they are.

One lookup for the welcome screen's "Try the demo photos" and `photosim demo`
(what `make run` shows when no window can open).
"""
from __future__ import annotations

import os

from ..core.scan import is_photo_name

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The photo `photosim demo` searches with: a cat, with a smaller and a grey copy among the others.
DEMO_QUERY = "chelsea.jpg"


def demo_folder() -> str | None:
    """resources/demo in a checkout; photosim/demo in a bundle (packaging/photosim.spec puts it there)."""
    for candidate in (os.path.join(os.path.dirname(_PACKAGE), "resources", "demo"), os.path.join(_PACKAGE, "demo")):
        if os.path.isdir(candidate):
            return candidate
    return None


def demo_photos(folder: str) -> list[str]:
    """The photos of the demo folder (its licence file is not one), sorted by name."""
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith(".") and is_photo_name(f))
