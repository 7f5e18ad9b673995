"""`photosim index` and `photosim adapt`."""
from __future__ import annotations

import argparse

from ..services.errors import EXIT_INTERRUPTED, EXIT_OK
from .context import CliContext, JsonProgressContext
from .output import Answer, command, open_library, printable


def add(commands) -> None:
    c = command(commands, "index", help="scan folders and embed new or changed photos (no PATH: rescan the "
                                         "library's folders)")
    c.add_argument("paths", nargs="*", metavar="PATH")
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--retry-errors", action="store_true", help="try unreadable files again even if unchanged")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.add_argument("--progress-json", metavar="PATH", default=None,
                   help="write progress as JSON lines to PATH ('-': stdout, then nothing else is printed there)")
    c.add_argument("--no-adapt", action="store_true",
                   help="do not adapt the library afterwards, even when it is due ('photosim adapt' does it later)")
    c.set_defaults(func=index)

    c = command(commands, "adapt", help="adapt similarity to this library now, without labels (indexing does "
                                         "it by itself)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--progress-json", metavar="PATH", default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=adapt)


def index(args) -> Answer | int:
    from ..services.adaptation import adapt_after_index
    from ..services.index_events import adapted_line, done_line
    from ..services.indexing import index_folders

    lib = open_library(args)
    if args.progress_json:
        with JsonProgressContext(args.progress_json) as jctx:
            r = index_folders(lib, args.paths, jctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            adapted = adapt_after_index(lib, jctx, r, allowed=not args.no_adapt)
            if adapted is not None:
                jctx.emit(adapted_line(adapted))
            jctx.emit(done_line(r))
        if args.progress_json == "-":  # stdout holds the JSON lines only
            return EXIT_INTERRUPTED if r.cancelled else EXIT_OK
    else:
        with CliContext(quiet=args.quiet) as ctx:
            r = index_folders(lib, args.paths, ctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            adapted = adapt_after_index(lib, ctx, r, allowed=not args.no_adapt)
    return Answer(_report_lines(r, adapted), status=EXIT_INTERRUPTED if r.cancelled else EXIT_OK)


def _report_lines(r, adapted) -> list[str]:
    from ..services.folders import OFFLINE

    lines = [f"{'stopped' if r.cancelled else 'done'}: {r.scanned} files found, {r.embedded} embedded "
             f"({r.rate:.1f} photos/s), {r.unchanged} unchanged, {r.moved} moved, {r.failed} unreadable, "
             f"{r.missing} newly missing"]
    if r.aliases:
        lines.append(f"{r.aliases} other name(s) (links, hard links) of photos listed once, at their real place")
    lines += [f"{OFFLINE}: {printable(folder)}" for folder in r.offline_folders]
    if r.failed:
        lines.append("see the unreadable ones with: photosim info --errors")
    if r.engine_note:
        lines.append(f"note: {r.engine_note}")
    if adapted is not None:
        lines.append(f"adapted to this library's {adapted.photos} photos (model {adapted.model}, {adapted.dim} "
                     f"dimensions, {adapted.seconds:.1f} s); 'photosim models use {adapted.parent}' goes back")
    return lines


def adapt(args) -> Answer | int:
    from ..services.adaptation import adapt as adapt_library
    from ..services.index_events import adapt_ended_line, adapted_line

    lib = open_library(args)
    if args.progress_json:  # the window runs this in a child, as it runs indexing
        with JsonProgressContext(args.progress_json) as jctx:
            result = adapt_library(lib, jctx, seed=args.seed)  # an error: one line on stderr, as for indexing
            jctx.emit(adapted_line(result))
            jctx.emit(adapt_ended_line(jctx.cancelled()))
        return EXIT_OK
    with CliContext(unit="photo") as ctx:  # each step counts photos: rate and time left per step
        result = adapt_library(lib, ctx, seed=args.seed)
    return Answer([f"model {result.model} adapted to this library's {result.photos} photos ({result.dim} "
                   f"dimensions, {result.seconds:.1f} s); it is now in use ('photosim models use {result.parent}' "
                   "goes back)"])
