"""`photosim demo` (what `make run` does without a window) and `photosim gui`."""
from __future__ import annotations

import os
import sys

from ..services.errors import EXIT_USER
from .context import CliContext
from .output import Answer, command, open_library


def add(commands) -> None:
    command(commands, "demo", help="index the bundled demo photos and show a search").set_defaults(func=demo)
    command(commands, "gui", help="open the desktop app").set_defaults(func=gui)


def demo(args) -> Answer:
    """Index the bundled demo photos, show a search."""
    from ..services import UserError
    from ..services.demo import DEMO_QUERY, demo_folder, demo_photos
    from ..services.indexing import index_folders
    from ..services.similar import similar_answer

    folder = demo_folder()
    if folder is None:
        raise UserError("the demo photos are not part of this installation")
    lib = open_library(args)
    with CliContext() as ctx:
        r = index_folders(lib, [folder], ctx)
    lines = [f"indexed {r.embedded} new demo photos into {lib.directory}"]
    photos = demo_photos(folder)
    query = next((p for p in photos if os.path.basename(p) == DEMO_QUERY), photos[0])
    answer = similar_answer(lib, query, k=5)
    if answer.query_copies:
        names = ", ".join(os.path.basename(n.photo.path) for n in answer.query_copies)
        lines.append(f"copies of {os.path.basename(query)} in the library: {names}")
    lines.append(f"most similar to {os.path.basename(query)}:")
    lines += [f"  {n.cosine:.3f}  {os.path.basename(n.photo.path)}" for n in answer.results]
    return Answer(lines)


def gui(args) -> int:
    try:
        from ..gui.startup import run
    except ImportError as exc:  # a build without the window
        print(f"photosim: the desktop app is not available here ({exc})", file=sys.stderr)
        return EXIT_USER
    return run(args.library)
