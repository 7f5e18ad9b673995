"""Indexing progress as JSON lines: what `photosim index --progress-json` writes and the window reads.

The window indexes in a child `photosim index` (gui/indexer.py); this module is
the one definition of what passes between them, one JSON object a line:
``{"event": "progress", "done", "total", "text"}`` while it runs, then
``{"event": "done", ...every IndexReport field but the error list}``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from .indexing import IndexReport

#: The report's fields that travel (the per-file errors stay in the library: `photosim info --errors`).
REPORT_FIELDS = tuple(f.name for f in dataclasses.fields(IndexReport) if f.name != "errors")


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    text: str = ""


def progress_line(done: int, total: int, text: str = "") -> str:
    return json.dumps({"event": "progress", "done": done, "total": total, "text": text}, ensure_ascii=True)


def done_line(report: IndexReport) -> str:
    return json.dumps({"event": "done", **{k: getattr(report, k) for k in REPORT_FIELDS}}, ensure_ascii=True)


def parse_line(line: str) -> Progress | IndexReport | None:
    """The event on one line; None for anything else (a blank or a stray line)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if event.get("event") == "progress":
        return Progress(int(event["done"]), int(event["total"]), str(event.get("text", "")))
    if event.get("event") == "done":
        return IndexReport(**{k: event[k] for k in REPORT_FIELDS if k in event})
    return None
