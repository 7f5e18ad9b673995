"""Use cases a person names (index, similar, dupes, trash, label, train, export, eval).

Each takes a Library and, when long, a TaskContext, so the same code runs
under a tqdm bar in the CLI and under a Qt worker in the GUI.
"""


class UserError(Exception):
    """Something the user can fix (a missing path, a photo not in the library): one line, no traceback."""


class Refusal(UserError):
    """A move the rules refuse. ``str()`` is the command line's line (it names the command that allows
    it); ``sentence`` is the window's: about the photo, no command."""

    def __init__(self, line: str, sentence: str) -> None:
        super().__init__(line)
        self.sentence = sentence
