"""Values that cross layers: plain dataclasses, no ORM rows, no Qt."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Protocol

import numpy as np


class PhotoState(str, enum.Enum):
    OK = "ok"            # embedded with the current base model
    MISSING = "missing"  # not found at its path on the last scan (kept: the drive may be unplugged)
    ERROR = "error"      # could not be decoded; the reason is in the scan errors


@dataclass(frozen=True)
class FileStat:
    """What a scan learns from stat() alone."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class DecodedPhoto:
    """A photo read and shrunk to the network's input, plus the facts kept about it."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    pixels: np.ndarray  # uint8 (S, S, 3), EXIF orientation applied
    width: int          # as displayed (after EXIF orientation)
    height: int
    format: str
    taken_at: str | None = None
    exif_tags: int = 0
    jpeg_quality: int | None = None
    grey: bool = False
    border: float = 0.0  # fraction of the height taken by flat bands at top+bottom
    keypoints: bytes | None = None  # packed ORB keypoints for the duplicate check (core/verify.py)
    taken_subsec: str | None = None  # EXIF sub-second digits of taken_at: tells burst frames from copies
    camera: str | None = None        # EXIF make and model
    sharpness: float | None = None   # core/bursts.measure, for the best shot of a burst
    exposure: float | None = None    # mean light in stops (log2), core/bursts.measure


@dataclass(frozen=True)
class DecodeError:
    path: str
    size: int
    mtime_ns: int
    reason: str


@dataclass(frozen=True)
class Photo:
    """A photo as the library knows it."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    width: int | None
    height: int | None
    state: PhotoState
    format: str | None = None
    taken_at: str | None = None
    exif_tags: int = 0
    jpeg_quality: int | None = None
    grey: bool = False
    border: float = 0.0
    taken_subsec: str | None = None
    camera: str | None = None
    sharpness: float | None = None  # None: indexed before it was measured
    exposure: float | None = None


class Pair(NamedTuple):
    """Two photos that may be duplicates (a < b) and the cosine of their vectors."""

    a: int
    b: int
    cosine: float


@dataclass(frozen=True)
class Neighbour:
    photo: Photo
    cosine: float  # of the query's vector and the photo's (the raw similarity; `--json` "similarity")
    copies: tuple["Neighbour", ...] = ()  # the other photos of its duplicate group, shown as one result
    shown: float | None = None  # the 0-1 score shown for an adapted version (services/shown_similarity.py)

    @property
    def score(self) -> float:
        """What a person is shown: ``shown`` where the version has a scale, else the cosine itself."""
        return self.cosine if self.shown is None else self.shown


class TaskContext(Protocol):
    """What long work is handed: report progress, ask whether to stop.

    The CLI implements it over tqdm and SIGINT, the GUI over a Qt worker; core
    and services only ever see this protocol.
    """

    def progress(self, done: int, total: int, text: str = "") -> None: ...

    def cancelled(self) -> bool: ...


@dataclass
class SimpleContext:
    """A TaskContext built from two optional callables (tests, scripts)."""

    on_progress: Callable[[int, int, str], None] | None = None
    should_stop: Callable[[], bool] | None = None
    log: list[tuple[int, int, str]] = field(default_factory=list)

    def progress(self, done: int, total: int, text: str = "") -> None:
        if self.on_progress:
            self.on_progress(done, total, text)

    def cancelled(self) -> bool:
        return bool(self.should_stop and self.should_stop())


class Cancelled(Exception):
    """Raised inside services when the context asks to stop; work done so far is kept."""
