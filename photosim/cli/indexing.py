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
    c.add_argument("--no-further", action="store_true",
                   help="only the adaptation, without learning further from the photos' views")
    c.add_argument("--progress-json", metavar="PATH", default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=adapt)


def index(args) -> Answer | int:
    from ..services.index_events import done_line
    from ..services.indexing import index_folders
    from ..services.learning import after_index

    lib = open_library(args)
    if args.progress_json:
        with JsonProgressContext(args.progress_json) as jctx:
            r = index_folders(lib, args.paths, jctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            learned = after_index(lib, jctx, r, allowed=not args.no_adapt)
            _emit_learned(jctx, learned)
            jctx.emit(done_line(r))
        if args.progress_json == "-":  # stdout holds the JSON lines only
            return EXIT_INTERRUPTED if r.cancelled else EXIT_OK
    else:
        with CliContext(quiet=args.quiet) as ctx:
            r = index_folders(lib, args.paths, ctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            learned = after_index(lib, ctx, r, allowed=not args.no_adapt)
    return Answer(_report_lines(r) + _learned_lines(learned), status=EXIT_INTERRUPTED if r.cancelled else EXIT_OK)


def _emit_learned(jctx, learned) -> None:
    """An "adapted" event for each version the library switched to (the window says the last)."""
    from ..services.index_events import adapted_line, refined_line

    if learned is None:
        return
    if learned.adapted is not None:
        jctx.emit(adapted_line(learned.adapted))
    if learned.refined is not None and learned.refined.model is not None:
        jctx.emit(refined_line(learned.refined, learned.adapted))


def _learned_lines(learned) -> list[str]:
    if learned is None:
        return []
    lines = []
    a, r = learned.adapted, learned.refined
    if a is not None:
        lines.append(f"adapted to this library's {a.photos} photos (model {a.model}, {a.dim} dimensions, "
                     f"{a.seconds:.1f} s); 'photosim models use {a.parent}' goes back")
    if r is not None and r.model is not None:
        lines.append(f"learned further from the views of {r.photos} photos (model {r.model}, {r.seconds:.1f} s; it "
                     f"kept {r.agreement:.0%} of the nearest neighbours); 'photosim models use {r.refines}' goes back")
    elif r is not None and r.agreement:
        lines.append(f"learned from the views of {r.photos} photos but kept model {r.refines}: the new space kept "
                     f"only {r.agreement:.0%} of the nearest neighbours (too few photos to learn more from)")
    return lines


def _report_lines(r) -> list[str]:
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
    return lines


def adapt(args) -> Answer | int:
    from ..services.index_events import adapt_ended_line
    from ..services.learning import adapt_now

    lib = open_library(args)
    if args.progress_json:  # the window runs this in a child, as it runs indexing
        with JsonProgressContext(args.progress_json) as jctx:
            learned = adapt_now(lib, jctx, seed=args.seed, further=not args.no_further)  # an error: one line on stderr
            _emit_learned(jctx, learned)
            jctx.emit(adapt_ended_line(jctx.cancelled()))
        return EXIT_OK
    with CliContext(unit="photo") as ctx:  # each step counts photos: rate and time left per step
        learned = adapt_now(lib, ctx, seed=args.seed, further=not args.no_further)
    return Answer(_learned_lines(learned) + [f"model {learned.model} is now in use"])
