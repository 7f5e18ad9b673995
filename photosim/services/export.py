"""The duplicate groups as CSV (one row a photo) and JSON (one object a group), with the keeper,
reason, sizes, and what a "keep the best" removal would free.

The sizes to free come from the same plan as ``dupes --remove-copies``
(services/cleanup.plan_removal), so their totals are the figures the window and the dry run show.
"""
from __future__ import annotations

import csv
import os
from typing import TextIO

from ..core.duplicates import DuplicateGroup
from ..core.types import Photo
from .cleanup import plan_removal

#: freed_by_default: bytes this photo frees in the default removal (copies only: 0 for a burst frame,
#: a RAW and its camera JPEG). freed_by_kind: bytes it frees when its group's kind is asked for
#: (`--kind burst`: a burst's frames other than the best shot; `--kind raw+jpeg`: the file a format rule
#: does not prefer).
CSV_COLUMNS = ("group", "kind", "path", "keeper", "reason", "size", "freed_by_default", "freed_by_kind",
               "exact_copy_of", "protected")


def freed(groups: list[DuplicateGroup]) -> tuple[set[int], set[int]]:
    """Ids of the photos the default removal moves, and of those asking for their group's kind moves."""
    by_default = {p.id for p in plan_removal(groups).photos}
    by_kind: set[int] = set()
    for kind in dict.fromkeys(g.kind for g in groups):  # each kind asked alone, on its own groups
        by_kind.update(p.id for p in plan_removal([g for g in groups if g.kind == kind], (kind,)).photos)
    return by_default, by_kind


def groups_as_json(groups: list[DuplicateGroup]) -> list[dict]:
    """Each group as group_as_json has it, plus freed_by_default and freed_by_kind
    (bytes, as the CSV's columns; ``bytes_to_free`` stays what the group's own suggestion selects)."""
    by_default, by_kind = freed(groups)
    out = []
    for g in groups:
        item = group_as_json(g)
        item["freed_by_default"] = sum(p.size for p in g.photos if p.id in by_default)
        item["freed_by_kind"] = sum(p.size for p in g.photos if p.id in by_kind)
        out.append(item)
    return out


def write_csv(groups: list[DuplicateGroup], fh: TextIO) -> int:
    """One row per photo (each photo is in one group, so the sizes add up); rows written."""
    by_default, by_kind = freed(groups)
    out = csv.writer(fh)
    out.writerow(CSV_COLUMNS)
    n = 0
    for number, g in enumerate(groups, 1):
        for p in g.photos:
            reason = g.reason if p.id == g.keep.id else member_note(g, p)
            out.writerow([number, g.kind, p.path, "yes" if g.kept(p) else "no", reason, p.size,
                          p.size if p.id in by_default else 0, p.size if p.id in by_kind else 0,
                          path_of(g, g.same_bytes.get(p.id)) or "", "yes" if p.id in g.protected else "no"])
            n += 1
    return n


def member_note(g: DuplicateGroup, p: Photo) -> str:
    """One member's part of the story: kept and why, or why not, and whether it repeats another's bytes."""
    parts = []
    if p.id in g.same_bytes:
        twin = next(q for q in g.photos if q.id == g.same_bytes[p.id])
        parts.append(f"same bytes as {os.path.basename(twin.path)}")
    if any(k.id == p.id for k in g.keepers):
        parts.append(f"kept (decided by {g.decided_by})" if g.decided_by else "kept")
    elif p.id in g.protected:
        parts.append("kept: in a protected folder")
    elif p.id in g.notes:
        parts.append(g.notes[p.id])
    return "; ".join(parts)


def group_as_json(g: DuplicateGroup) -> dict:
    return {"kind": g.kind, "keep": g.keep.path, "keepers": [p.path for p in g.keepers], "reason": g.reason,
            "decided_by": g.decided_by, "guards": g.guards, "bytes_to_free": g.bytes_to_free,
            "photos": [{"path": p.path, "similarity": s, "keep": g.kept(p), "protected": p.id in g.protected,
                        "exact_copy_of": path_of(g, g.same_bytes.get(p.id)),
                        "copy_of": path_of(g, g.copy_of.get(p.id)), "size": p.size,
                        "note": member_note(g, p)}
                       for p, s in zip(g.photos, g.similarities)]}


def path_of(g: DuplicateGroup, photo_id: int | None) -> str | None:
    """The path of the member with this id; None for no id."""
    return next((p.path for p in g.photos if p.id == photo_id), None) if photo_id is not None else None
