"""Every SQLite connection a library opens is made one way (store/db.py connect/configure): foreign
keys on, a busy timeout, WAL, and read-only where it only reads. Observed by recording the
connections the sqlite3 module hands out while the library works."""
from __future__ import annotations

import sqlite3
import sqlite3.dbapi2

import numpy as np

from photosim.core.types import DecodedPhoto
from photosim.services.repair import check_database
from photosim.store import checks
from photosim.store import repositories as repo
from photosim.store.db import quick_check
from photosim.store.library import Library


def test_every_connection_has_the_librarys_settings(tmp_path, monkeypatch):
    opened: list[tuple[sqlite3.Connection, str]] = []
    real = sqlite3.connect

    def recording(database, *args, **kwargs):
        con = real(database, *args, **kwargs)
        opened.append((con, str(database)))
        return con

    monkeypatch.setattr(sqlite3, "connect", recording)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", recording)
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:  # SQLAlchemy's connection
        ids = repo.upsert_decoded_many(s, [DecodedPhoto(path="/p/a.jpg", size=1, mtime_ns=1, content_hash="a" * 32,
                                                        pixels=np.zeros((1, 1, 3), np.uint8), width=1, height=1,
                                                        format="JPEG")])
        checks.put_keypoints(s, ids, [b"kp"])
    lib.db.write_now(lambda con: con.execute("SELECT 1"))  # the never-waiting writer's
    reader = checks.KeypointReader(lib.db.path)  # `dupes`' keypoint reader
    assert reader.get(ids[0]) == b"kp"
    assert quick_check(lib.db.path) is None and check_database(lib.db.path) == []
    seen = {}
    for con, name in opened:
        try:
            pragmas = {p: con.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("foreign_keys", "busy_timeout", "query_only", "journal_mode")}
        except sqlite3.ProgrammingError:  # closed already (a check's connection): its settings were read at open
            continue
        seen[name] = pragmas
        assert pragmas["foreign_keys"] == 1 and pragmas["journal_mode"] == "wal", (name, pragmas)
        read_only = "mode=ro" in name
        assert pragmas["query_only"] == int(read_only), (name, pragmas)
    assert len(opened) >= 5 and any("mode=ro" in n for n in seen), opened
    # the reader waits for a writer; the cache writer never does (it raises at once instead)
    assert seen[next(n for n in seen if "mode=ro" in n)]["busy_timeout"] == 10000
    reader.close()
    lib.close()
