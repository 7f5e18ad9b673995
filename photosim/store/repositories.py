"""Reads and writes of the library, returning core types (never ORM rows)."""
from __future__ import annotations

import os
import time
from typing import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..core.types import DecodedPhoto, DecodeError, FileStat, Photo, PhotoState
from .schema import (Folder, InFlight, KeypointRow, NotDuplicate, PairLabel, PhotoRow,
                     ScanErrorRow, TrashMove, TripletLabel, Vector)


#: SQLite's bound-parameter limit is 999 in older builds: statements with an IN list go in chunks.
CHUNK = 900


#: The photos table's columns a Photo carries, named alike in both (the plain reads list them too).
PHOTO_COLUMNS = ("id", "path", "size", "mtime_ns", "content_hash", "width", "height", "state", "format", "taken_at",
                 "exif_tags", "jpeg_quality", "grey", "border", "taken_subsec", "camera", "sharpness", "exposure")


# Plain statements (see _plain), the tables' and columns' names as schema.py declares them.
_PHOTOS_BY_ID = f"SELECT {', '.join(PHOTO_COLUMNS)} FROM photos WHERE id IN ({{}})"
_PHOTO_AT = _PHOTOS_BY_ID.replace("WHERE id IN", "WHERE path IN")
_FACTS_AROUND = ("SELECT id, content_hash, grey, state FROM photos WHERE id IN ({}) OR content_hash IN "
                 "(SELECT content_hash FROM photos WHERE id IN ({}) AND content_hash IS NOT NULL)")
_IDS_OF_FORMATS = "SELECT id FROM photos WHERE id IN ({}) AND format IN ({})"
_NOT_DUPLICATE_TOUCHING = "SELECT a_id, b_id FROM not_duplicates WHERE a_id IN ({}) OR b_id IN ({})"
_VECTORS_OF = "SELECT photo_id, data FROM vectors WHERE model_id IN ({}) AND photo_id IN ({})"


def _plain(s: Session, sql: str, *lists: list) -> list[tuple]:
    """Rows of one plain SQL statement on the session's connection, each ``{}`` in ``sql`` an IN list
    of the matching list of ``lists``: the reads `similar` makes on every query, where building and
    running an ORM statement took several times SQLite's own answer for a few ids."""
    sql = sql.format(*(",".join("?" * len(v)) for v in lists))
    s.flush()  # what the session holds unwritten is seen, as by its own statements
    return s.connection().connection.driver_connection.execute(sql, [x for v in lists for x in v]).fetchall()


def chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """``items`` as lists of at most ``size``: one IN (...) statement each."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _photo(values: dict) -> Photo:
    """``values``: PHOTO_COLUMNS -> the stored values (changed in place: no copy on `similar`'s path)."""
    values["state"], values["grey"] = PhotoState(values["state"]), bool(values["grey"])
    return Photo(**values)


def to_photo(row: PhotoRow) -> Photo:
    return _photo({c: getattr(row, c) for c in PHOTO_COLUMNS})


# --- folders -------------------------------------------------------------------------
def add_folders(s: Session, paths: Iterable[str]) -> None:
    known = set(s.scalars(select(Folder.path)))
    for p in paths:
        if p not in known:
            s.add(Folder(path=p, added_at=time.time()))
            known.add(p)


def list_folders(s: Session) -> list[str]:
    return list(s.scalars(select(Folder.path).order_by(Folder.path)))


def remove_folder(s: Session, path: str) -> None:
    s.execute(delete(Folder).where(Folder.path == path))


# --- photos --------------------------------------------------------------------------
def all_photos(s: Session, states: Sequence[PhotoState] | None = None) -> list[Photo]:
    q = select(PhotoRow).order_by(PhotoRow.id)
    if states:
        q = q.where(PhotoRow.state.in_([st.value for st in states]))
    return [to_photo(r) for r in s.scalars(q)]


def keypoint_count(s: Session) -> int:
    """Readable photos whose duplicate-check keypoints are stored."""
    q = select(func.count()).select_from(KeypointRow).join(PhotoRow, PhotoRow.id == KeypointRow.photo_id)
    return s.scalar(q.where(PhotoRow.state == PhotoState.OK.value)) or 0


def duplicate_facts(s: Session) -> dict[int, tuple[str | None, bool]]:
    """id -> (content hash, greyscale?) of every readable photo: what `dupes` needs of all of them
    (a plain column query: the full rows of 100,000 photos took seconds to build)."""
    q = select(PhotoRow.id, PhotoRow.content_hash, PhotoRow.grey).where(PhotoRow.state == PhotoState.OK.value)
    return {i: (h, bool(g)) for i, h, g in s.execute(q)}


def duplicate_facts_around(s: Session, ids: Iterable[int]) -> dict[int, tuple[str | None, bool]]:
    """``duplicate_facts`` of the readable photos among ``ids`` and of every readable photo with the
    same bytes as one of them (their byte copies), in one statement per chunk (the hash is indexed)."""
    out: dict[int, tuple[str | None, bool]] = {}
    for part in chunks(int(i) for i in ids):
        # The state is tested here, not in SQL: with it there, SQLite walks the state index (every
        # readable photo) instead of the id and hash indexes (a few rows).
        rows = _plain(s, _FACTS_AROUND, part, part)
        out.update({i: (h, bool(g)) for i, h, g, state in rows if state == PhotoState.OK.value})
    return out


def photos_by_id(s: Session, ids: Iterable[int]) -> dict[int, Photo]:
    out: dict[int, Photo] = {}
    for chunk in chunks(int(i) for i in ids):
        out.update({r[0]: _photo_of(r) for r in _plain(s, _PHOTOS_BY_ID, chunk)})
    return out


def _photo_of(r: tuple) -> Photo:
    """A row of _PHOTOS_BY_ID as to_photo makes it of an ORM row (the path kept as its file-system bytes)."""
    values = dict(zip(PHOTO_COLUMNS, r))
    values["path"] = os.fsdecode(bytes(values["path"]))
    return _photo(values)


def photo_paths(s: Session) -> list[tuple[int, str]]:
    """(id, path) of every photo, whatever its state."""
    return [(i, p) for i, p in s.execute(select(PhotoRow.id, PhotoRow.path))]


def delete_photos(s: Session, ids: Iterable[int]) -> None:
    """Remove photos from the library (their vectors, keypoints and labels go with them: ON DELETE CASCADE)."""
    for chunk in chunks(ids):
        s.execute(delete(PhotoRow).where(PhotoRow.id.in_(chunk)))


def photos_by_paths(s: Session, paths: Iterable[str],
                    states: Sequence[PhotoState] | None = (PhotoState.OK,)) -> dict[str, Photo]:
    """The photos at these paths in ``states`` (None: any), path -> Photo; paths the library does not
    hold are left out."""
    out: dict[str, Photo] = {}
    for chunk in chunks(set(paths)):
        q = select(PhotoRow).where(PhotoRow.path.in_(chunk))
        if states:
            q = q.where(PhotoRow.state.in_([st.value for st in states]))
        out.update({r.path: to_photo(r) for r in s.scalars(q)})
    return out


def photos_of_formats(s: Session, formats: Iterable[str],
                      states: Sequence[PhotoState] | None = (PhotoState.OK,)) -> list[Photo]:
    """Photos in ``states`` (None: any) whose format is one of ``formats`` (e.g. the RAW formats), by id."""
    q = select(PhotoRow).where(PhotoRow.format.in_(list(formats)))
    if states:
        q = q.where(PhotoRow.state.in_([st.value for st in states]))
    return [to_photo(r) for r in s.scalars(q.order_by(PhotoRow.id))]


def ids_of_formats(s: Session, formats: Iterable[str], ids: Iterable[int]) -> list[int]:
    """Those of ``ids`` whose format is one of ``formats``, by id (ids only: cheaper than full rows)."""
    out: list[int] = []
    for chunk in chunks(int(i) for i in ids):
        out += [i for (i,) in _plain(s, _IDS_OF_FORMATS, chunk, sorted(formats))]
    return sorted(out)


def put_shot_measures(s: Session, measures: dict[int, tuple[float, float]]) -> None:
    """Store (sharpness, exposure) of photos measured after they were indexed."""
    if measures:
        s.execute(update(PhotoRow), [{"id": i, "sharpness": sh, "exposure": ex} for i, (sh, ex) in measures.items()])


def photo_by_path(s: Session, path: str) -> Photo | None:
    rows = _plain(s, _PHOTO_AT, [os.fsencode(path)])  # paths are kept as their file-system bytes (FsPath)
    return _photo_of(rows[0]) if rows else None


def stat_map(s: Session) -> dict[str, tuple[int, int, int, str]]:
    """path -> (id, size, mtime_ns, state) for every known photo: what a rescan compares against."""
    rows = s.execute(select(PhotoRow.path, PhotoRow.id, PhotoRow.size, PhotoRow.mtime_ns, PhotoRow.state))
    return {p: (i, sz, mt, st) for p, i, sz, mt, st in rows}


def error_map(s: Session) -> dict[str, tuple[int, int]]:
    return {p: (sz, mt) for p, sz, mt in s.execute(select(ScanErrorRow.path, ScanErrorRow.size, ScanErrorRow.mtime_ns))}


def set_state(s: Session, ids: Iterable[int], state: PhotoState) -> None:
    for chunk in chunks(ids):
        s.execute(update(PhotoRow).where(PhotoRow.id.in_(chunk)).values(state=state.value))


def move_photo(s: Session, photo_id: int, new_path: str, f: FileStat) -> None:
    s.execute(delete(PhotoRow).where(PhotoRow.path == new_path, PhotoRow.id != photo_id))
    s.execute(update(PhotoRow).where(PhotoRow.id == photo_id)
              .values(path=new_path, size=f.size, mtime_ns=f.mtime_ns, state=PhotoState.OK.value))


def upsert_decoded(s: Session, d: DecodedPhoto) -> int:
    row = s.scalars(select(PhotoRow).where(PhotoRow.path == d.path)).first()
    if row is None:
        row = PhotoRow(path=d.path, added_at=time.time())
        s.add(row)
    row.size, row.mtime_ns, row.content_hash = d.size, d.mtime_ns, d.content_hash
    row.width, row.height, row.format, row.taken_at = d.width, d.height, d.format, d.taken_at
    row.exif_tags, row.jpeg_quality, row.grey, row.border = d.exif_tags, d.jpeg_quality, d.grey, d.border
    row.taken_subsec, row.camera, row.sharpness, row.exposure = d.taken_subsec, d.camera, d.sharpness, d.exposure
    row.state = PhotoState.OK.value
    s.flush()
    s.execute(delete(ScanErrorRow).where(ScanErrorRow.path == d.path))
    return row.id


def upsert_decoded_many(s: Session, photos: Sequence[DecodedPhoto]) -> list[int]:
    """Store a batch of decoded photos (new or changed); their ids, in order.

    Same effect as ``upsert_decoded`` per photo, in a few statements per batch
    instead of several ORM round trips per photo: at 100+ photos/s the
    per-row ORM work held the GIL long enough to slow decoding and inference.
    """
    if not photos:
        return []
    now = time.time()
    table = PhotoRow.__table__
    rows = [{"path": d.path, "size": d.size, "mtime_ns": d.mtime_ns, "content_hash": d.content_hash,
             "width": d.width, "height": d.height, "format": d.format, "taken_at": d.taken_at,
             "exif_tags": d.exif_tags, "jpeg_quality": d.jpeg_quality, "grey": d.grey, "border": d.border,
             "taken_subsec": d.taken_subsec, "camera": d.camera, "sharpness": d.sharpness, "exposure": d.exposure,
             "state": PhotoState.OK.value, "added_at": now} for d in photos]
    stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.path],
                                      set_={k: stmt.excluded[k] for k in rows[0] if k not in ("path", "added_at")})
    s.execute(stmt, rows)
    paths = [d.path for d in photos]
    ids: dict[str, int] = {}
    for chunk in chunks(paths):
        ids.update((p, i) for p, i in s.execute(select(PhotoRow.path, PhotoRow.id).where(PhotoRow.path.in_(chunk))))
        s.execute(delete(ScanErrorRow).where(ScanErrorRow.path.in_(chunk)))
    return [ids[p] for p in paths]


def record_error(s: Session, e: DecodeError) -> None:
    s.execute(delete(ScanErrorRow).where(ScanErrorRow.path == e.path))
    s.add(ScanErrorRow(path=e.path, size=e.size, mtime_ns=e.mtime_ns, reason=e.reason, at=time.time()))
    s.execute(update(PhotoRow).where(PhotoRow.path == e.path).values(state=PhotoState.ERROR.value))


def clear_errors(s: Session, paths: Iterable[str]) -> None:
    for p in paths:
        s.execute(delete(ScanErrorRow).where(ScanErrorRow.path == p))


def list_errors(s: Session) -> list[DecodeError]:
    rows = s.scalars(select(ScanErrorRow).order_by(ScanErrorRow.path))
    return [DecodeError(r.path, r.size, r.mtime_ns, r.reason) for r in rows]


def counts(s: Session) -> dict[str, int]:
    by_state = dict(s.execute(select(PhotoRow.state, func.count()).group_by(PhotoRow.state)).all())
    return {
        "indexed": by_state.get(PhotoState.OK.value, 0),
        "missing": by_state.get(PhotoState.MISSING.value, 0),
        "failed": s.scalar(select(func.count()).select_from(ScanErrorRow)) or 0,
    }


# --- in-flight files (crash attribution) ------------------------------------------------
def mark_in_flight(s: Session, paths: Iterable[str]) -> None:
    rows = [{"path": p, "attempts": 1} for p in paths]
    if rows:  # one statement per batch: new marks start at 1, existing ones count up
        table = InFlight.__table__
        stmt = sqlite_insert(table)
        s.execute(stmt.on_conflict_do_update(index_elements=[table.c.path],
                                             set_={"attempts": table.c.attempts + 1}), rows)


def clear_in_flight(s: Session, paths: Iterable[str]) -> None:
    for chunk in chunks(paths):
        s.execute(delete(InFlight).where(InFlight.path.in_(chunk)))


def in_flight(s: Session) -> dict[str, int]:
    return {r.path: r.attempts for r in s.scalars(select(InFlight))}


# --- vectors -------------------------------------------------------------------------
def put_vectors(s: Session, model_id: int, ids: Sequence[int], vectors: np.ndarray, fresh: bool = False) -> None:
    """Store vectors (replacing any the photos had for that model; ``fresh``: the caller knows they had none)."""
    if not fresh:
        for chunk in chunks(ids):
            s.execute(delete(Vector).where(Vector.model_id == model_id, Vector.photo_id.in_(chunk)))
    s.execute(Vector.__table__.insert(), [
        {"photo_id": int(i), "model_id": model_id, "data": np.asarray(v, np.float32).tobytes()}
        for i, v in zip(ids, vectors)
    ])


def get_vectors(s: Session, model_id: int, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids, vectors) for one model version, ordered by photo id."""
    if ids is not None:
        rows = []
        for chunk in chunks(int(i) for i in ids):
            rows += _plain(s, _VECTORS_OF, [int(model_id)], chunk)
        rows.sort()
    else:
        rows = s.execute(select(Vector.photo_id, Vector.data).where(Vector.model_id == model_id)
                         .order_by(Vector.photo_id)).all()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    out_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    blob = b"".join(r[1] for r in rows)
    return out_ids, np.frombuffer(blob, np.float32).reshape(len(rows), -1).copy()


def iter_vectors(s: Session, model_id: int, chunk: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(photo ids, vectors) of one model version in chunks, by photo id: a large library's base
    vectors (5 GB per million photos) are never all in memory at once."""
    last = -1
    while True:
        rows = s.execute(select(Vector.photo_id, Vector.data)
                         .where(Vector.model_id == model_id, Vector.photo_id > last)
                         .order_by(Vector.photo_id).limit(chunk)).all()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        yield ids, np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1).copy()
        last = int(ids[-1])


def vector_count(s: Session, model_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(Vector).where(Vector.model_id == model_id)) or 0)


def vector_ids(s: Session, model_id: int) -> np.ndarray:
    return np.fromiter(s.scalars(select(Vector.photo_id).where(Vector.model_id == model_id)), np.int64)


def vector_fingerprint(s: Session, model_id: int) -> tuple[int, int]:
    """(count, sum of photo ids) of a model's vectors: cheap staleness check for the index file."""
    n, total = s.execute(select(func.count(), func.coalesce(func.sum(Vector.photo_id), 0))
                         .where(Vector.model_id == model_id)).one()
    return int(n), int(total)


# --- labels (the geometric check's verdicts: store/checks.py) ----------------------------
def not_duplicate_pairs(s: Session) -> set[tuple[int, int]]:
    return {(a, b) for a, b in s.execute(select(NotDuplicate.a_id, NotDuplicate.b_id))}


def not_duplicate_pairs_touching(s: Session, ids: Iterable[int]) -> set[tuple[int, int]]:
    """The "not duplicates" pairs with at least one photo among ``ids``: what a check about a few
    photos needs, read without the whole table (it grows with every pair a person marks)."""
    out: set[tuple[int, int]] = set()
    for chunk in chunks(int(i) for i in ids):
        out.update((a, b) for a, b in _plain(s, _NOT_DUPLICATE_TOUCHING, chunk, chunk))
    return out


def add_not_duplicate(s: Session, a: int, b: int) -> None:
    a, b = min(a, b), max(a, b)
    if s.get(NotDuplicate, (a, b)) is None:
        s.add(NotDuplicate(a_id=a, b_id=b, created_at=time.time()))


def add_pair(s: Session, a: int, b: int, same: bool) -> int:
    a, b = min(a, b), max(a, b)
    row = s.scalars(select(PairLabel).where(PairLabel.a_id == a, PairLabel.b_id == b)).first()
    if row is None:
        row = PairLabel(a_id=a, b_id=b, same=same, created_at=time.time())
        s.add(row)
    row.same = same
    s.flush()
    return row.id


def add_triplet(s: Session, a: int, p: int, n: int) -> int:
    row = s.scalars(select(TripletLabel).where(TripletLabel.anchor_id == a, TripletLabel.positive_id == p,
                                               TripletLabel.negative_id == n)).first()
    if row is None:
        row = TripletLabel(anchor_id=a, positive_id=p, negative_id=n, created_at=time.time())
        s.add(row)
        s.flush()
    return row.id


def list_pairs(s: Session) -> list[tuple[int, int, int, bool]]:
    return [(r.id, r.a_id, r.b_id, r.same) for r in s.scalars(select(PairLabel).order_by(PairLabel.id))]


def list_triplets(s: Session) -> list[tuple[int, int, int, int]]:
    return [(r.id, r.anchor_id, r.positive_id, r.negative_id)
            for r in s.scalars(select(TripletLabel).order_by(TripletLabel.id))]


def remove_label(s: Session, kind: str, label_id: int) -> bool:
    table = PairLabel if kind == "pair" else TripletLabel
    return s.execute(delete(table).where(table.id == label_id)).rowcount > 0


# --- the quarantine's record of removed photos (the journal itself: store/removals.py) -----
def trashed_photo_ids(s: Session) -> set[int]:
    """Photos moved to the quarantine and not put back (the duplicate decisions calibration learns from)."""
    return set(s.scalars(select(TrashMove.photo_id).where(TrashMove.restored.is_(False), TrashMove.photo_id.is_not(None))))
