"""How a command's result reaches the terminal: an ``Answer`` is printed by one emitter, as text
for a person or, with --json, as the JSON a script reads."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from ..services.errors import EXIT_OK

LIBRARY_HELP = "library folder (default: $PHOTOSIM_LIBRARY or the per-user data folder); before or after the command"


@dataclass
class Answer:
    """What a command has to say: ``lines`` for a person (stdout), ``data`` for --json (None: the same
    lines), ``notes`` for stderr either way, and the exit status."""

    lines: list[str] = field(default_factory=list)
    data: Any = None
    notes: list[str] = field(default_factory=list)
    status: int = EXIT_OK


def emit(answer: Answer, as_json: bool) -> int:
    for note in answer.notes:
        print(note, file=sys.stderr)
    if as_json and answer.data is not None:
        print_json(answer.data)
    elif answer.lines:
        print("\n".join(answer.lines))
    return answer.status


def print_json(obj) -> None:
    """UTF-8 JSON; a path byte that is not UTF-8 (a surrogate escape) is written as a \\udcXX
    escape, so the output is valid JSON whatever the locale and os.fsencode gives the exact name back."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


def printable(path: str) -> str:
    """A path as text a terminal can show, even if its bytes are not UTF-8."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def command(commands, name: str, json_help: str | None = None, **kwargs) -> argparse.ArgumentParser:
    """A (sub)command that also takes --library, so `photosim gui --library DIR` works as
    `photosim --library DIR gui` does (SUPPRESS: when not given after the command, the value
    given before it, or None, stays); ``json_help``: it also takes --json, so described."""
    parser = commands.add_parser(name, **kwargs)
    parser.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS, help=LIBRARY_HELP)
    if json_help is not None:
        parser.add_argument("--json", action="store_true", help=json_help or None)
    return parser


def open_library(args):
    """The library of ``--library``, saying how an interrupted removal was settled if one was."""
    from ..services.library import open_library as open_

    lib = open_(args.library)
    r = lib.recovery
    if r.any:
        print(f"photosim: an interrupted removal was settled: {r.finished + r.restored} move(s) finished, "
              f"{r.rolled_back + r.reverted} rolled back" + (f", {r.gone} file(s) no longer found" if r.gone else ""),
              file=sys.stderr)
    return lib
