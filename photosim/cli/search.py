"""`photosim similar`."""
from __future__ import annotations

import contextlib
import os
import sys

from ..services.errors import EXIT_FAILED, EXIT_OK
from .output import Answer, command, open_library, printable

JSON_HELP = ("one query: a list of {path, similarity, score}; several (or --from): an object from each query, as "
             "given, to its list. similarity: the raw cosine; score: the number the text shows (the same for the "
             "plain model; for a library-adapted one, the cosine placed among this library's own best matches, 0-1)")


def add(commands) -> None:
    c = command(commands, "similar", json_help=JSON_HELP,
                help="the photos most similar to PHOTO (in the library or not)")
    c.add_argument("photos", nargs="*", metavar="PHOTO")
    c.add_argument("--from", dest="from_file", metavar="FILE",
                   help="also the query paths in FILE, one a line ('-': standard input)")
    c.add_argument("-k", type=int, default=10, help="how many distinct photos (default 10)")
    c.add_argument("--all-copies", action="store_true",
                   help="list every copy of a photo as its own result (and the query's own copies)")
    c.set_defaults(func=similar, parser=c)


def similar(args) -> Answer:
    from ..services import UserError
    from ..services.similar import similar_many

    queries = _queries(args)
    if not queries:
        args.parser.error("give at least one PHOTO, or --from FILE")
    answers = similar_many(open_library(args), queries, k=args.k, all_copies=args.all_copies)
    if len(answers) == 1 and not args.from_file:  # one query: the output of one search, as always
        # (--from keeps the batch form even for a one-line list: a script gets one shape)
        if answers[0].error:
            raise UserError(answers[0].error)
        return Answer(_lines(answers[0]), data=_as_json(answers[0].results))
    blocks = [f"{printable(a.query)}:\n" + "\n".join(_lines(a, "  ")) for a in answers if not a.error]
    return Answer(["\n\n".join(blocks)], data={a.query: _as_json(a.results) for a in answers if not a.error},
                  notes=[f"photosim: {a.error}" for a in answers if a.error],
                  status=EXIT_FAILED if any(a.error for a in answers) else EXIT_OK)


def _queries(args) -> list[str]:
    """The query paths: on the command line, then those of --from (one a line; '-': standard input)."""
    queries = list(args.photos)
    if args.from_file:  # read as bytes: a file name need not be valid UTF-8
        with (contextlib.nullcontext(sys.stdin.buffer) if args.from_file == "-" else open(args.from_file, "rb")) as fh:
            queries += [os.fsdecode(line.rstrip(b"\r\n")) for line in fh if line.strip()]
    return queries


def _as_json(found) -> list[dict]:
    """A result's path, its raw cosine ("similarity", as scripts always read it) and the number the text
    output shows ("score"); a result that stands for several copies lists the others."""
    def entry(n) -> dict:
        return {"path": n.photo.path, "similarity": round(n.cosine, 4), "score": round(n.score, 4)}

    return [{**entry(n), **({"copies": [entry(c) for c in n.copies]} if n.copies else {})} for n in found]


def _lines(answer, indent: str = "") -> list[str]:
    lines = []
    for n in answer.results:
        more = f"  ({len(n.copies) + 1} copies)" if n.copies else ""
        lines.append(f"{indent}{n.score:.3f}  {printable(n.photo.path)}{more}")
    if answer.query_copies:
        lines.append(f"{indent}(the query has {len(answer.query_copies)} other "
                     f"cop{'y' if len(answer.query_copies) == 1 else 'ies'} in the library, left out; --all-copies "
                     "lists them)")
    return lines
