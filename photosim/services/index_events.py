"""Indexing progress as JSON lines: what `photosim index --progress-json` writes and the window reads.

The window indexes in a child `photosim index` (gui/indexer.py); this module is
the one definition of what passes between them, one JSON object a line:
``{"event": "progress", "done", "total", "text"}`` while it runs, then
``{"event": "done", ...every IndexReport field but the error list}``; between them, when the library
adapted itself after indexing (or on `photosim adapt`), ``{"event": "adapted", "model", "parent",
"photos", "dim", "seconds"}`` (progress of the adaptation is "progress" with texts "adapting: ...").
`photosim adapt --progress-json` writes its progress and "adapted" the same way, and ends with
``{"event": "adapt-ended", "cancelled"}`` (it indexed nothing, so it sends no "done").
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


@dataclass(frozen=True)
class Adapted:
    """The library switched to a version adapted to it (services/adaptation.py)."""

    model: int
    parent: int
    photos: int
    dim: int
    seconds: float


@dataclass(frozen=True)
class AdaptEnded:
    """`photosim adapt` is over (an "adapted" line came before unless it was cancelled)."""

    cancelled: bool


def adapt_ended_line(cancelled: bool) -> str:
    return json.dumps({"event": "adapt-ended", "cancelled": bool(cancelled)}, ensure_ascii=True)


def adapted_line(result) -> str:
    """``result``: an adaptation.AdaptResult."""
    return json.dumps({"event": "adapted", "model": result.model, "parent": result.parent, "photos": result.photos,
                       "dim": result.dim, "seconds": round(result.seconds, 2)}, ensure_ascii=True)


def refined_line(refined, adapted) -> str:
    """``refined``: a pretext.Refined that switched to a new version (an "adapted" event too: the
    library answers with a version adapted to it; ``parent`` is the adaptation it refines)."""
    photos = adapted.photos if adapted is not None else refined.photos
    return json.dumps({"event": "adapted", "model": refined.model, "parent": refined.refines, "photos": photos,
                       "dim": refined.dim, "seconds": round(refined.seconds, 2)}, ensure_ascii=True)


def progress_line(done: int, total: int, text: str = "") -> str:
    return json.dumps({"event": "progress", "done": done, "total": total, "text": text}, ensure_ascii=True)


def done_line(report: IndexReport) -> str:
    return json.dumps({"event": "done", **{k: getattr(report, k) for k in REPORT_FIELDS}}, ensure_ascii=True)


def parse_line(line: str) -> Progress | IndexReport | Adapted | AdaptEnded | None:
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
    if event.get("event") == "adapted":
        return Adapted(*(event[k] for k in ("model", "parent", "photos", "dim", "seconds")))
    if event.get("event") == "adapt-ended":
        return AdaptEnded(bool(event.get("cancelled")))
    return None
