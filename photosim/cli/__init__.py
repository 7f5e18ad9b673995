"""The command line: every use case, headless. Thin: parsing, printing, Ctrl-C.

One module per family of commands, each declaring its options next to the handler that reads
them (``add(commands)`` wires them with ``set_defaults(func=...)``):

- ``indexing``: index, adapt          - ``search``: similar
- ``dupes``: dupes (and --remove-copies)  - ``removal``: trash, undo
- ``labels``: label, train            - ``library``: folders, config, info, models, export, repair
- ``evaluation``: eval                - ``start``: demo, gui

``main`` parses, runs the handler and turns a failure into one line and an exit status
(services/errors.py decides which); ``output`` prints a handler's ``Answer`` as text or --json;
``context`` is the progress bar and Ctrl-C. No traceback reaches the person.
"""
from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
