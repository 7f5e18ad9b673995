"""The batch writes the indexer uses do what the per-row versions did (real SQLite)."""
from __future__ import annotations

import numpy as np

from photosim.core.types import DecodedPhoto, DecodeError, PhotoState
from photosim.store import repositories as repo


def _decoded(path: str, size: int = 100, digest: str = "aa") -> DecodedPhoto:
    return DecodedPhoto(path=path, size=size, mtime_ns=5, content_hash=digest, pixels=np.zeros((2, 2, 3), np.uint8),
                        width=30, height=20, format="JPEG", taken_at=None, exif_tags=0, jpeg_quality=90,
                        grey=False, border=0.0)


def test_upsert_many_inserts_updates_and_clears_errors(library):
    with library.db.session() as s:
        first = repo.upsert_decoded(s, _decoded("/p/a.jpg"))
        repo.record_error(s, DecodeError("/p/b.jpg", 7, 7, "truncated"))
        repo.record_error(s, DecodeError("/p/a.jpg", 7, 7, "truncated"))
    with library.db.session() as s:
        ids = repo.upsert_decoded_many(s, [_decoded("/p/b.jpg"), _decoded("/p/a.jpg", size=222, digest="bb"),
                                           _decoded("/p/c.jpg")])
    assert ids[1] == first and len(set(ids)) == 3
    with library.db.session() as s:
        photos = repo.photos_by_id(s, ids)
        assert [photos[i].path for i in ids] == ["/p/b.jpg", "/p/a.jpg", "/p/c.jpg"]
        assert photos[first].size == 222 and photos[first].content_hash == "bb"
        assert all(p.state == PhotoState.OK for p in photos.values())
        assert repo.list_errors(s) == []
        assert repo.upsert_decoded_many(s, []) == []


def test_in_flight_marks_count_attempts_and_clear_in_bulk(library):
    paths = [f"/p/{i}.jpg" for i in range(1000)]  # more than one bound-parameter chunk
    with library.db.session() as s:
        repo.mark_in_flight(s, paths)
    with library.db.session() as s:
        repo.mark_in_flight(s, paths[:3])
    with library.db.session() as s:
        marks = repo.in_flight(s)
        assert len(marks) == 1000 and marks["/p/0.jpg"] == 2 and marks["/p/999.jpg"] == 1
        repo.clear_in_flight(s, paths[:950])
    with library.db.session() as s:
        assert sorted(repo.in_flight(s)) == sorted(paths[950:])
