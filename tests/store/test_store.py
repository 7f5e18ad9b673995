"""The SQLite store: schema version and migrations, WAL, exact paths, vectors by model."""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from photosim.core.types import DecodedPhoto, PhotoState
from photosim.store import model_versions as versions
from photosim.store import checks
from photosim.store import repositories as repo
from photosim.store.db import LibraryError
from photosim.store.library import Library
from photosim.store.schema import SCHEMA_VERSION


def _decoded(path: str, h: str = "h") -> DecodedPhoto:
    return DecodedPhoto(path=path, size=10, mtime_ns=1, content_hash=h, pixels=np.zeros((2, 2, 3), np.uint8),
                        width=4, height=3, format="JPEG")


def test_new_library_has_schema_version_wal_and_the_pretrained_model(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    assert lib.db.schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(lib.db.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with lib.db.session() as s:
        models = versions.list_models(s)
    assert [m.id for m in models] == [0] and lib.active_model == 0 and models[0].kind == ""
    assert lib.db.quick_check() is None


def test_library_from_a_newer_photosim_is_refused(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    lib.close()
    con = sqlite3.connect(str(tmp_path / "lib" / "library.db"))
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(LibraryError, match="newer photosim"):
        Library(str(tmp_path / "lib"))


def test_reopening_keeps_data_and_runs_no_migration_twice(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        pid = repo.upsert_decoded(s, _decoded("/photos/a.jpg"))
        repo.put_vectors(s, 0, [pid], np.eye(1, 8, dtype=np.float32))
    lib.close()
    again = Library(str(tmp_path / "lib"))
    with again.db.session() as s:
        ids, vecs = repo.get_vectors(s, 0)
    assert ids.tolist() == [pid] and vecs.shape == (1, 8)


def test_non_utf8_file_name_is_stored_and_found_without_loss(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9-\xff.jpg"  # Latin-1 bytes: not valid UTF-8
    path = os.fsdecode(raw)
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        repo.upsert_decoded(s, _decoded(path))
    with lib.db.session() as s:
        found = repo.photo_by_path(s, path)
        assert found is not None and os.fsencode(found.path) == raw
        assert [os.fsencode(p.path) for p in repo.all_photos(s)] == [raw]


def test_vectors_are_kept_per_model_version(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        a = repo.upsert_decoded(s, _decoded("/p/a.jpg", "1"))
        b = repo.upsert_decoded(s, _decoded("/p/b.jpg", "2"))
        m = versions.add_model(s, "trained", {"kind": "test"}, b"w", {"loss": 0.1})
        repo.put_vectors(s, 0, [a, b], np.ones((2, 4), np.float32))
        repo.put_vectors(s, m, [a], np.full((1, 4), 2, np.float32))
    with lib.db.session() as s:
        assert repo.get_vectors(s, 0)[1].sum() == 8
        ids, vecs = repo.get_vectors(s, m)
        assert ids.tolist() == [a] and vecs.sum() == 8
        assert repo.vector_fingerprint(s, 0) == (2, a + b)


def test_states_and_counts(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        a = repo.upsert_decoded(s, _decoded("/p/a.jpg", "1"))
        repo.upsert_decoded(s, _decoded("/p/b.jpg", "2"))
        repo.set_state(s, [a], PhotoState.MISSING)
        from photosim.core.types import DecodeError
        repo.record_error(s, DecodeError("/p/bad.jpg", 0, 0, "empty file (0 bytes)"))
    with lib.db.session() as s:
        assert repo.counts(s) == {"indexed": 1, "missing": 1, "failed": 1}


def test_library_in_a_folder_whose_name_holds_url_characters(tmp_path):
    # "sqlite:///…?…" once put such a library's database somewhere else entirely.
    folder = tmp_path / "photos? #1 100%"
    lib = Library(str(folder))
    with lib.db.session() as s:
        (i,) = repo.upsert_decoded_many(s, [_decoded("/p/a.jpg")])
        checks.put_keypoints(s, [i], [b"\x00\x00"])
    reader = checks.KeypointReader(lib.db.path)
    try:
        assert reader.get(i) == b"\x00\x00" and reader.get(i + 1) is None
    finally:
        reader.close()
    lib.close()
    assert sorted(os.listdir(folder))[0] == "library.db" and os.listdir(tmp_path) == [folder.name]
