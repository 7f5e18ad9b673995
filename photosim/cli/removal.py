"""`photosim trash` and `photosim undo`: into the quarantine and back."""
from __future__ import annotations

import argparse

from ..services.errors import EXIT_FAILED, EXIT_OK
from .context import CliContext
from .output import Answer, command, open_library, printable


def add(commands) -> None:
    c = command(commands, "trash", help="move photos to the quarantine (undoable with 'photosim undo')")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--threshold", type=float, default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=trash)

    c = command(commands, "undo", help="put back the photos of the last removal ('trash' or 'dupes --remove-copies')")
    c.set_defaults(func=undo)


def trash(args) -> Answer:
    from ..services.trash import trash as move_to_trash

    lib = open_library(args)
    with CliContext(quiet=True) as ctx:
        moved = move_to_trash(lib, args.paths, args.threshold, ctx)
    return Answer([f"moved to quarantine: {printable(m.original)}" for m in moved]
                  + [f"{len(moved)} photo(s) moved; 'photosim undo' puts them back"])


def undo(args) -> Answer:
    from ..services.trash import undo as put_back

    with CliContext(unit="photo", quiet=True) as ctx:
        restored = put_back(open_library(args), ctx)
    lines = [f"restored beside: {printable(m.restored_to)} ({printable(m.original)} is taken by another file)" if m.beside
             else f"restored: {printable(m.original)}" for m in restored]
    notes = [f"not restored: {printable(path)} (no longer in the quarantine)" for path in restored.gone]
    notes += [f"not restored: {printable(original)} ({why}); it is safe in the quarantine at {printable(now)}; "
              "fix that and run 'photosim undo' again" for original, now, why in restored.blocked]
    lines.append(f"{len(restored)} photo(s) put back" + (f" from '{restored.label}'" if restored.label else "")
                 + (f"; {len(restored.blocked)} could not go back yet" if restored.blocked else ""))
    return Answer(lines, notes=notes, status=EXIT_FAILED if restored.blocked else EXIT_OK)
