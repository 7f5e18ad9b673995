"""What the duplicate check keeps between runs: each photo's packed keypoints (stored at indexing)
and the geometric check's verdicts on pairs (table `pair_checks`), so a pair is checked once."""
from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .db import connect
from .repositories import CHUNK, _plain, chunks
from .schema import KeypointRow, PairCheck

_KEYPOINTS_OF = "SELECT photo_id, data FROM keypoints WHERE photo_id IN ({})"


def put_keypoints(s: Session, ids: Sequence[int], blobs: Sequence[bytes | None]) -> None:
    """Store (or replace) the packed duplicate-check keypoints of these photos; None drops stale ones.
    The geometric check's verdicts on these photos go: they were made on the keypoints replaced."""
    for chunk in chunks(int(i) for i in ids):
        s.execute(delete(PairCheck).where(PairCheck.a_id.in_(chunk) | PairCheck.b_id.in_(chunk)))
    stale = [int(i) for i, b in zip(ids, blobs) if b is None]
    for chunk in chunks(stale):
        s.execute(delete(KeypointRow).where(KeypointRow.photo_id.in_(chunk)))
    rows = [{"photo_id": int(i), "data": b} for i, b in zip(ids, blobs) if b is not None]
    if rows:
        stmt = sqlite_insert(KeypointRow.__table__)
        s.execute(stmt.on_conflict_do_update(index_elements=["photo_id"], set_={"data": stmt.excluded.data}), rows)


def ids_with_keypoints(s: Session, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` whose keypoints are stored (ids only: the blobs are read one at a time)."""
    out: set[int] = set()
    for chunk in chunks(ids):
        out.update(s.scalars(select(KeypointRow.photo_id).where(KeypointRow.photo_id.in_(chunk))))
    return out


def get_keypoints(s: Session, ids: Iterable[int]) -> dict[int, bytes]:
    """Packed keypoints of those of ``ids`` that have them."""
    out: dict[int, bytes] = {}
    for chunk in chunks(int(i) for i in ids):
        out.update(_plain(s, _KEYPOINTS_OF, chunk))
    return out


class KeypointReader:
    """Packed keypoints one photo at a time, on a read-only connection of its own: `dupes` over a
    large library reads them as its check reaches each photo (all at once they take hundreds of MB
    at 100,000 photos: docs/decisions.md)."""

    def __init__(self, db_path: str) -> None:
        self._con = connect(db_path, read_only=True, shared=True)

    def get(self, photo_id: int) -> bytes | None:
        row = self._con.execute("SELECT data FROM keypoints WHERE photo_id = ?", (int(photo_id),)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._con.close()


class PairVerdict(NamedTuple):
    """The geometric check's verdict on two photos (a < b) as `pair_checks` holds it: on these bytes,
    this many inliers, and the kind of pair once sorted ("copy", "burst") or None."""

    a: int
    b: int
    a_hash: str
    b_hash: str
    inliers: int
    kind: str | None

_PAIR_CHECKS_OF = "SELECT a_id, b_id, a_hash, b_hash, inliers, kind FROM pair_checks WHERE a_id IN ({})"
_PAIR_CHECKS_AMONG = _PAIR_CHECKS_OF + " AND b_id IN ({})"
# Kept only while both photos still hold the bytes checked (a photo deleted or changed in between
# is left out); a kind already known for the same bytes is kept when the new verdict has none.
_PUT_PAIR_CHECK = """
INSERT INTO pair_checks (a_id, b_id, a_hash, b_hash, inliers, kind)
SELECT ?1, ?2, ?3, ?4, ?5, ?6
WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?1 AND content_hash = ?3)
  AND EXISTS (SELECT 1 FROM photos WHERE id = ?2 AND content_hash = ?4)
ON CONFLICT (a_id, b_id) DO UPDATE SET
  kind = coalesce(excluded.kind, CASE WHEN pair_checks.a_hash = excluded.a_hash
                                       AND pair_checks.b_hash = excluded.b_hash THEN pair_checks.kind END),
  a_hash = excluded.a_hash, b_hash = excluded.b_hash, inliers = excluded.inliers"""


def pair_checks_among(s: Session, ids: Iterable[int]) -> list[PairVerdict]:
    """The stored verdicts on pairs of photos both among ``ids`` (one `similar` answer's, or a batch's),
    whatever bytes they were checked on (the caller compares the hashes)."""
    ids = sorted({int(i) for i in ids})
    if len(ids) <= CHUNK // 2:  # both ends in one statement
        return [PairVerdict(*r) for r in _plain(s, _PAIR_CHECKS_AMONG, ids, ids)]
    wanted, out = set(ids), []
    for chunk in chunks(ids):  # a large batch: each photo's verdicts, those with the other end outside left
        out += [PairVerdict(*r) for r in _plain(s, _PAIR_CHECKS_OF, chunk) if r[1] in wanted]
    return out


def all_pair_checks(s: Session) -> list[tuple[int, int, str, str, int]]:
    """(a_id, b_id, a_hash, b_hash, inliers) of every kept verdict: what `dupes` over the library reads."""
    return [tuple(r) for r in s.execute(select(PairCheck.a_id, PairCheck.b_id, PairCheck.a_hash, PairCheck.b_hash,
                                               PairCheck.inliers))]


def forget_pair_checks(s: Session) -> None:
    s.execute(delete(PairCheck))


def put_pair_checks(con, verdicts: Iterable[PairVerdict]) -> None:
    """Keep verdicts (``con``: a session, or a DB-API connection of this library's file)."""
    rows = sorted((int(a), int(b), ha, hb, int(n), kind) for a, b, ha, hb, n, kind in verdicts)  # key order
    if not rows:
        return
    if isinstance(con, Session):  # its DB-API connection: `dupes` keeps about one verdict per photo
        con.flush()
        con = con.connection().connection.driver_connection
    con.executemany(_PUT_PAIR_CHECK, rows)
