"""The removal journal in the store: a library from before it (schema 2) keeps its undo, and
recovery never touches the moves of a removal another process is making right now."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from photosim.cli import main
from photosim.store import removals
from photosim.store.db import DB_NAME
from photosim.store.library import Library
from photosim.store.locks import LibraryLock
from photosim.store.schema import SCHEMA_VERSION


def _old_library(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A schema-2 library whose last `trash` moved one file to the quarantine (and an older one undone)."""
    photo = tmp_path / "photos" / "a.jpg"
    photo.parent.mkdir()
    trashed = tmp_path / "lib" / ".photosim-trash" / "2" / str(photo).lstrip(os.sep)
    trashed.parent.mkdir(parents=True)
    trashed.write_bytes(b"the photo's bytes")
    Library(str(tmp_path / "lib")).close()
    con = sqlite3.connect(tmp_path / "lib" / DB_NAME)
    con.executescript("""
        DROP TABLE removal_batches; DROP TABLE protected_folders; DROP INDEX ix_trash_moves_state;
        ALTER TABLE trash_moves DROP COLUMN state; ALTER TABLE trash_moves DROP COLUMN restored_path;
        ALTER TABLE trash_moves DROP COLUMN size; PRAGMA user_version = 2;
    """)
    con.execute("INSERT INTO trash_moves (batch, photo_id, original_path, trashed_path, method, at, restored) "
                "VALUES (1, NULL, ?, ?, 'quarantine', 1.0, 1)", (os.fsencode(str(photo)), b"/gone"))
    con.execute("INSERT INTO trash_moves (batch, photo_id, original_path, trashed_path, method, at, restored) "
                "VALUES (2, NULL, ?, ?, 'quarantine', 2.0, 0)", (os.fsencode(str(photo)), os.fsencode(str(trashed))))
    con.commit()
    con.close()
    return tmp_path / "lib", photo, trashed


def test_a_schema_2_library_keeps_its_undo(tmp_path, capsys):
    lib_dir, photo, trashed = _old_library(tmp_path)
    lib = Library(str(lib_dir))
    assert lib.db.schema_version() == SCHEMA_VERSION
    with lib.db.session() as s:
        assert removals.last_batch(s) == 2
        assert [m.state for m in removals.moves_of(s, 1, (removals.RESTORED,))] == [removals.RESTORED]
        assert removals.new_batch(s, "trash") == 3  # never a number an old batch has
    lib.close()
    assert main(["--library", str(lib_dir), "undo"]) == 0
    assert photo.read_bytes() == b"the photo's bytes" and not trashed.exists()


def test_recovery_waits_for_a_removal_in_progress(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    with lib.db.session() as s:
        batch = removals.new_batch(s, "trash")
        removals.add_pending(s, batch, [(None, str(photo), str(tmp_path / "q" / "a.jpg"), 1)])
    held, done = threading.Event(), threading.Event()

    def other_writer():  # another writer is between its journal entry and its rename
        with LibraryLock(lib.directory, "removing"):
            held.set()
            done.wait(10)

    t = threading.Thread(target=other_writer)
    t.start()
    held.wait(10)
    try:
        assert not removals.recover(lib.db).any
        with lib.db.session() as s:
            assert len(removals.unfinished(s)) == 1
    finally:
        done.set()
        t.join()
    settled = removals.recover(lib.db)  # that process died: the file never moved, the entry is dropped
    assert settled.rolled_back == 1 and photo.exists()
    with lib.db.session() as s:
        assert removals.unfinished(s) == [] and removals.last_batch(s) is None
    lib.close()


def test_a_schema_3_library_gets_the_shot_columns_and_keeps_its_journal(tmp_path):
    """A library made by the release with the removal journal (schema 3), before the best-shot measures
    (schema 4): it opens at the current version with its last removal still undoable."""
    photo = tmp_path / "photos" / "a.jpg"
    photo.parent.mkdir()
    trashed = tmp_path / "lib" / ".photosim-trash" / "1" / str(photo).lstrip(os.sep)
    trashed.parent.mkdir(parents=True)
    trashed.write_bytes(b"the photo's bytes")
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        batch = removals.new_batch(s, "keep the best")
        ids = removals.add_pending(s, batch, [(None, str(photo), str(trashed), 17)])
        removals.mark_done(s, ids, [])
    lib.close()
    con = sqlite3.connect(tmp_path / "lib" / DB_NAME)
    for column in ("taken_subsec", "camera", "sharpness", "exposure"):
        con.execute(f"ALTER TABLE photos DROP COLUMN {column}")
    con.execute("DROP TABLE pair_checks")  # schema 5
    con.execute("DROP TABLE views")  # schema 6
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()

    lib = Library(str(tmp_path / "lib"))
    assert lib.db.schema_version() == SCHEMA_VERSION == 6
    con = sqlite3.connect(tmp_path / "lib" / DB_NAME)
    columns = {row[1] for row in con.execute("PRAGMA table_info(photos)")}
    assert {"taken_subsec", "camera", "sharpness", "exposure"} <= columns
    assert {row[1] for row in con.execute("PRAGMA table_info(pair_checks)")} >= {"a_hash", "b_hash", "inliers", "kind"}
    assert {row[1] for row in con.execute("PRAGMA table_info(views)")} == {"photo_id", "count", "data"}
    con.close()
    with lib.db.session() as s:
        assert removals.last_batch(s) == batch and removals.batch_label(s, batch) == "keep the best"
    lib.close()
    assert main(["--library", str(tmp_path / "lib"), "undo"]) == 0
    assert photo.read_bytes() == b"the photo's bytes" and not trashed.exists()
