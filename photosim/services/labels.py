"""Labels: duplicate decisions (not-duplicate) and similarity labels (pairs, triplets).

The two kinds live in separate tables and never mix: "not duplicates" hides a
duplicate group, while same/different and triplets teach the fine-tuning.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from ..core.types import Photo
from .library import photo_at


def _photo_id(s, path: str) -> int:
    photo = photo_at(s, path)
    if photo is None:
        raise UserError(f"not in the library: {path}")
    return photo.id


def library_photo(lib: Library, path: str) -> Photo:
    """The library's photo at ``path``, for a mark about it; a photo outside the library is refused
    with what to do (it has no vector to learn from)."""
    with lib.db.session() as s:
        photo = photo_at(s, path)
    if photo is None:
        raise UserError(f"{os.path.basename(path)} is not in the library: add its folder first "
                        "(File > Add a folder), then mark it")
    return photo


def not_duplicate(lib: Library, paths: list[str]) -> None:
    """Record that these photos are not duplicates of each other (every pair among them)."""
    if len(paths) < 2:
        raise UserError("name two photos (or more)")
    with lib.db.session() as s:
        ids = [_photo_id(s, p) for p in paths]
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if a != b:
                    repo.add_not_duplicate(s, a, b)


def add_pair(lib: Library, a: str, b: str, same: bool) -> int:
    with lib.db.session() as s:
        ia, ib = _photo_id(s, a), _photo_id(s, b)
        if ia == ib:
            raise UserError("a pair needs two different photos")
        return repo.add_pair(s, ia, ib, same)


def pair_marks(lib: Library, path: str, others: list[int]) -> dict[int, bool]:
    """The recorded same (True) / different (False) label between ``path`` and each photo id in
    ``others`` that has one, so a result list can show the marks again after it is rebuilt."""
    wanted = set(others)
    with lib.db.session() as s:
        query = photo_at(s, path)
        if query is None or not wanted:
            return {}
        marks = {}
        for _, a, b, same in repo.list_pairs(s):  # labels are few (hand-made), a scan is cheap
            other = b if a == query.id else a if b == query.id else None
            if other in wanted:
                marks[other] = same
        return marks


def add_triplet(lib: Library, anchor: str, positive: str, negative: str) -> int:
    with lib.db.session() as s:
        ids = [_photo_id(s, p) for p in (anchor, positive, negative)]
        if len(set(ids)) < 3:
            raise UserError("a triplet needs three different photos")
        return repo.add_triplet(s, *ids)


@dataclass
class ImportReport:
    pairs: int = 0
    triplets: int = 0
    problems: list[str] = field(default_factory=list)


def import_csv(lib: Library, path: str) -> ImportReport:
    """Import `anchor,positive,negative` or `a,b,label` rows; bad rows are reported, the rest imported."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise UserError(f"{path} is empty")
    header = [h.strip().lower() for h in rows[0]]
    report = ImportReport()
    base = os.path.dirname(os.path.abspath(path))
    if header == ["anchor", "positive", "negative"]:
        kind = "triplet"
    elif header == ["a", "b", "label"]:
        kind = "pair"
    else:
        raise UserError(f"{path}: the header must be 'anchor,positive,negative' or 'a,b,label'")
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            if len(row) != 3:
                raise UserError("expected 3 columns")
            cells = [c.strip() for c in row]
            if kind == "triplet":
                add_triplet(lib, *(os.path.join(base, c) for c in cells))
                report.triplets += 1
            else:
                label = cells[2].lower()
                if label not in ("same", "different"):
                    raise UserError(f"label must be 'same' or 'different', not {cells[2]!r}")
                add_pair(lib, os.path.join(base, cells[0]), os.path.join(base, cells[1]), label == "same")
                report.pairs += 1
        except UserError as exc:
            report.problems.append(f"line {line}: {exc}")
    return report


@dataclass(frozen=True)
class PairLabel:
    id: int
    a: str  # paths; "#id" where the photo row is gone
    b: str
    same: bool

    @property
    def label(self) -> str:
        return "same" if self.same else "different"


@dataclass(frozen=True)
class TripletLabel:
    id: int
    anchor: str
    positive: str
    negative: str


@dataclass(frozen=True)
class Labels:
    """Every similarity label of a library, photos named by path."""
    pairs: list[PairLabel]
    triplets: list[TripletLabel]

    def as_dict(self) -> dict:
        return {"pairs": [{"id": p.id, "a": p.a, "b": p.b, "label": p.label} for p in self.pairs],
                "triplets": [vars(t).copy() for t in self.triplets]}


def list_labels(lib: Library) -> Labels:
    with lib.db.session() as s:
        pairs = repo.list_pairs(s)
        triplets = repo.list_triplets(s)
        ids = {i for p in pairs for i in p[1:3]} | {i for t in triplets for i in t[1:]}
        photos = repo.photos_by_id(s, ids)
    name = lambda i: photos[i].path if i in photos else f"#{i}"  # noqa: E731
    return Labels([PairLabel(i, name(a), name(b), bool(same)) for i, a, b, same in pairs],
                  [TripletLabel(i, name(a), name(p), name(n)) for i, a, p, n in triplets])


def remove_label(lib: Library, label_id: int, kind: str | None = None) -> str:
    """Remove a pair or triplet by id (ids are per kind; without ``kind`` the id must be unambiguous)."""
    with lib.db.session() as s:
        pair_ids = {p[0] for p in repo.list_pairs(s)}
        trip_ids = {t[0] for t in repo.list_triplets(s)}
        if kind is None:
            if label_id in pair_ids and label_id in trip_ids:
                raise UserError(f"both a pair and a triplet have id {label_id}: say --pair or --triplet")
            kind = "pair" if label_id in pair_ids else "triplet" if label_id in trip_ids else None
        if kind is None or not repo.remove_label(s, kind, label_id):
            raise UserError(f"no label with id {label_id}")
        return kind
