"""Keep the best in every group, at once: plan what would go, then move it as one undo step.

The plan is what the person is shown and asked about once (how many photos,
how many bytes); the run moves exactly those, re-checking each file just
before it moves. Never a keeper, never a protected photo, never the last copy
in place: a group whose keepers are not on disk as indexed is left alone, and
a photo whose file changed since indexing is skipped and reported.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.duplicates import DuplicateGroup
from ..core.types import Photo, TaskContext
from ..store.library import Library
from . import UserError
from .folders import protected_folders, protecting_folder
from .trash import Removal, move_to_quarantine, unchanged

#: Kinds a bulk removal takes unless told otherwise: bursts are different moments, not copies.
DEFAULT_KINDS = ("exact", "near")
ALL_KINDS = ("exact", "near", "burst")


@dataclass
class RemovalPlan:
    kinds: tuple[str, ...]
    photos: list[Photo] = field(default_factory=list)          # to move, each once
    keepers: dict[int, list[Photo]] = field(default_factory=dict)  # photo id -> the members that stay for it
    groups: int = 0                                             # groups something is removed from
    untouched: list[tuple[DuplicateGroup, str]] = field(default_factory=list)  # shown, not acted on, and why
    skipped: list[tuple[Photo, str]] = field(default_factory=list)  # not moved, and why

    @property
    def bytes(self) -> int:
        return sum(p.size for p in self.photos)

    def precondition(self, p: Photo) -> str | None:
        """Asked again just before ``p`` moves: it is as indexed, and a copy that stays still is."""
        why = unchanged(p)
        if why is not None:
            return why
        if not any(unchanged(k) is None for k in self.keepers.get(p.id, ())):
            return "the copy that stays is not there as indexed any more"
        return None


def plan_removal(groups: list[DuplicateGroup], kinds: tuple[str, ...] = DEFAULT_KINDS) -> RemovalPlan:
    """What "keep the best" would move from ``groups``.

    In a group of a chosen kind, every member that is not kept (keepers and
    protected photos are). With "exact" chosen, also the byte-for-byte copies
    inside groups of other kinds (one of each set of identical files stays),
    since removing those loses no picture.
    """
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown:
        raise UserError(f"unknown kind {unknown[0]!r}; kinds: {', '.join(ALL_KINDS)}")
    plan = RemovalPlan(tuple(kinds))
    state: dict[int, str | None] = {}

    def as_indexed(p: Photo) -> str | None:
        if p.id not in state:
            state[p.id] = unchanged(p)
        return state[p.id]

    for g in groups:
        if g.kind in kinds:
            stays = [p for p in g.keepers]
            candidates = {p.id: stays for p in g.removable}
        elif "exact" in kinds:
            byid = {p.id: p for p in g.photos}
            candidates = {p.id: [byid[g.same_bytes[p.id]]] for p in g.removable if p.id in g.same_bytes}
        else:
            continue
        if not candidates:
            if g.kind in kinds and len(g.photos) > 1:
                plan.untouched.append((g, "every copy is kept (protected folders or the keeper rules)"))
            continue
        if not any(as_indexed(k) is None for k in {k.id: k for ks in candidates.values() for k in ks}.values()):
            plan.untouched.append((g, "the photo to keep is not there as indexed (changed or missing)"))
            continue
        taken = 0
        for p in g.photos:
            if p.id not in candidates:
                continue
            if not any(as_indexed(k) is None for k in candidates[p.id]):
                plan.skipped.append((p, "the copy that stays is not there as indexed"))
                continue
            why = as_indexed(p)
            if why is not None:
                plan.skipped.append((p, why))
                continue
            plan.photos.append(p)
            plan.keepers[p.id] = candidates[p.id]
            taken += 1
        plan.groups += bool(taken)
    return plan


def remove_copies(lib: Library, plan: RemovalPlan, ctx: TaskContext | None = None) -> Removal:
    """Move the plan's photos to the quarantine as one undo step (``photosim undo`` / Ctrl+Z)."""
    if not plan.photos:
        raise UserError("nothing to remove")
    moving = {p.id for p in plan.photos}
    for p in plan.photos:  # the plan's own promise, checked once more: a copy that stays never moves
        if all(k.id in moving for k in plan.keepers[p.id]):
            raise UserError(f"refusing to remove every copy of {os.path.basename(p.path)}'s group")
    roots = protected_folders(lib)  # a folder protected since the plan was made is honoured too

    def ready(p: Photo) -> str | None:
        root = protecting_folder(p.path, roots)
        return f"in the protected folder {root}" if root is not None else plan.precondition(p)

    return move_to_quarantine(lib, plan.photos, "keep the best", ctx, ready)
