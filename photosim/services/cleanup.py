"""Keep the best in every group, at once: plan what would go, then move it as one undo step.

The plan is what the person is shown and asked about once (how many photos,
how many bytes); the run moves exactly those, re-checking each file just
before it moves. Never a keeper, never a protected photo, never the last copy
in place: a group whose keepers are not on disk as indexed is left alone, and
a photo whose file changed since indexing is skipped and reported.

What goes depends on the kinds asked for. By default (exact and near) only
copies: every member of exact and near groups but the keeper, and the copies
*inside* a burst or a RAW + JPEG group (a re-encode of one frame, a byte copy
of the camera JPEG) — never a frame of a burst, never a RAW or its camera
JPEG. "burst" takes every frame but the best shot (and its camera JPEG).
"raw+jpeg" takes the file of each pair that the person's keeper rules do not
prefer, and only when those rules hold a "format" rule: without one both
files are kept and the group is reported as left alone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.duplicates import KINDS, DuplicateGroup
from ..core.types import Photo, TaskContext
from ..store.library import Library
from . import UserError
from .trash import Removal, kept_copy, move_to_quarantine, unchanged

#: Kinds a bulk removal takes unless told otherwise: bursts are different moments, not copies, and a
#: RAW + JPEG pair is one capture the camera wrote twice.
DEFAULT_KINDS = ("exact", "near")
ALL_KINDS = tuple(KINDS)


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
        keepers = self.keepers.get(p.id, ())
        if not any(kept_copy(k, p) is None for k in keepers):
            reason = kept_copy(keepers[0], p) if keepers else "no copy stays"
            return f"the copy that stays is not there as indexed any more ({reason})"
        return None


def plan_removal(groups: list[DuplicateGroup], kinds: tuple[str, ...] = DEFAULT_KINDS) -> RemovalPlan:  # noqa: C901 - the removal rules in one place, in the order they are applied (docs/architecture.md)
    """What "keep the best" would move from ``groups``.

    In a group of a chosen kind, every member that is not kept (keepers and
    protected photos are; a RAW + JPEG group asked for keeps ``keep_when_asked``).
    In groups of other kinds, only what loses no picture: with "exact" chosen,
    the byte-for-byte copies (one of each set of identical files stays); with
    "near", the members marked as copies of another (``copy_of``: a frame's
    re-encode inside a burst), the member they copy staying.
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
        byid = {p.id: p for p in g.photos}
        if g.kind in kinds:
            stays = g.photos[:g.keep_when_asked or g.keep_count]
            candidates = {p.id: stays for p in g.photos[len(stays):] if p.id not in g.protected}
        else:
            candidates = {}
            for p in g.removable:  # a copy of another member: the member it copies stays
                if "near" in kinds and p.id in g.copy_of:
                    candidates[p.id] = [byid[g.copy_of[p.id]]]
                elif "exact" in kinds and p.id in g.same_bytes:
                    candidates[p.id] = [byid[g.same_bytes[p.id]]]
        if not candidates:
            if g.kind in kinds and len(g.photos) > 1:
                plan.untouched.append((g, "a RAW and its JPEG are both kept: a 'format' keeper rule chooses one"
                                       if g.kind == "raw+jpeg" and not g.keep_when_asked and len(g.photos) == 2
                                       else "every copy is kept (protected folders or the keeper rules)"))
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
    # Protection (read again under the lock, so a folder protected since the plan was made is honoured)
    # and the keepers' state on disk are checked by move_to_quarantine just before each move.
    return move_to_quarantine(lib, plan.photos, "keep the best", ctx, plan.precondition)
