"""What both front ends say the same way: byte sizes, and what a member of a duplicate group is
(its marks). Each front end draws a mark in its own words (the window a badge, the command line a
[tag]), but which marks a photo has is decided here, once."""
from __future__ import annotations

import enum

from ..core.duplicates import DuplicateGroup
from ..core.types import Photo


def human_bytes(n: float) -> str:
    """0 B, 12.3 KB, 4.5 MB, 1.2 GB, 3.0 TB (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class Mark(str, enum.Enum):
    KEEP = "keep"  # the group's keeper
    BEST_SHOT = "best shot"  # the keeper of a burst: its best frame
    KEPT = "kept"  # kept too: another keeper (a RAW with its JPEG, a keeper rule's tie)
    PROTECTED = "protected"  # in a protected folder: never proposed for removal
    SAME_BYTES = "same bytes"  # byte for byte the same file as another member
    COPY = "copy"  # a copy of another member inside a burst or a RAW + JPEG group


def marks(g: DuplicateGroup, p: Photo) -> list[Mark]:
    """The marks of member ``p`` of ``g``, in the order they are shown."""
    out = []
    if p.id == g.keep.id:
        out.append(Mark.BEST_SHOT if g.kind == "burst" else Mark.KEEP)
    elif any(k.id == p.id for k in g.keepers):
        out.append(Mark.KEPT)
    if p.id in g.protected:
        out.append(Mark.PROTECTED)
    if p.id in g.same_bytes:
        out.append(Mark.SAME_BYTES)
    elif p.id in g.copy_of:
        out.append(Mark.COPY)
    return out
