"""Use cases a person names (index, similar, dupes, trash, label, train, export, eval).

Each takes a Library and, when long, a TaskContext, so the same code runs
under a tqdm bar in the CLI and under a Qt worker in the GUI.
"""


class UserError(Exception):
    """Something the user can fix (a missing path, a photo not in the library): one line, no traceback."""
