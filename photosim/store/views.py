"""The pretext task's views (table `views`): a sample of photos, each with a few augmented copies
embedded as base vectors, kept as float16 (the head learns from directions, not the last digit)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .repositories import chunks
from ..core.types import PhotoState
from .schema import PhotoRow, ViewRow


def put_views(s: Session, ids: Sequence[int], views: np.ndarray) -> None:
    """Store (or replace) the views of these photos: ``views`` is (len(ids), V, D)."""
    rows = [{"photo_id": int(i), "count": int(v.shape[0]), "data": np.asarray(v, np.float16).tobytes()}
            for i, v in zip(ids, views)]
    if rows:
        stmt = sqlite_insert(ViewRow.__table__)
        s.execute(stmt.on_conflict_do_update(index_elements=["photo_id"],
                                             set_={"count": stmt.excluded.count, "data": stmt.excluded.data}), rows)


def view_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(ViewRow)) or 0)


def view_ids(s: Session) -> np.ndarray:
    return np.fromiter(s.scalars(select(ViewRow.photo_id).order_by(ViewRow.photo_id)), np.int64)


def get_views(s: Session) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids, views N x V x D as float32) of the photos present (state ok), by photo id."""
    rows = s.execute(select(ViewRow.photo_id, ViewRow.count, ViewRow.data)
                     .join(PhotoRow, PhotoRow.id == ViewRow.photo_id)
                     .where(PhotoRow.state == PhotoState.OK.value).order_by(ViewRow.photo_id)).all()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0, 0), np.float32)
    v = min(r[1] for r in rows)  # a library could mix counts if VIEWS changed: the smallest is in every row
    views = np.stack([np.frombuffer(r[2], np.float16).reshape(r[1], -1)[:v] for r in rows]).astype(np.float32)
    return np.array([r[0] for r in rows], np.int64), views


def drop_views(s: Session, ids: Sequence[int]) -> None:
    for chunk in chunks(int(i) for i in ids):
        s.execute(delete(ViewRow).where(ViewRow.photo_id.in_(chunk)))
