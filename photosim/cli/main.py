"""The parser and the one place a command's end becomes an exit status."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from .. import __version__
from ..services.errors import EXIT_INTERRUPTED, EXIT_OK
from . import dupes, evaluation, indexing, labels, library, removal, search, start
from .output import LIBRARY_HELP, Answer, emit

#: Each family of commands adds its own (options next to the handler that reads them).
FAMILIES = (indexing, search, dupes, removal, labels, library, evaluation, start)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="photosim", description="Find similar and duplicate photos.")
    p.add_argument("--version", action="version", version=f"photosim {__version__}")
    p.add_argument("--library", metavar="DIR", default=None, help=LIBRARY_HELP)
    commands = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for family in FAMILIES:
        family.add(commands)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.func, args)


def run(handler: Callable[[argparse.Namespace], Answer | int | None], args: argparse.Namespace) -> int:
    """Run one command's handler: its Answer printed, any failure one line on stderr (services/errors.py
    says which line and which status; a bug's traceback goes to the error log)."""
    from ..services.errors import understand

    try:
        result = handler(args)
        if isinstance(result, Answer):
            return emit(result, bool(getattr(args, "json", False)))
        return int(result or EXIT_OK)
    except KeyboardInterrupt:
        print("photosim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, traceback to a log
        failure = understand(exc, _library_dir(args))
        print(f"photosim: {failure.message}", file=sys.stderr)
        return failure.status


def _library_dir(args) -> str:
    from ..core.paths import default_library_dir

    return os.path.abspath(getattr(args, "library", None) or default_library_dir())
