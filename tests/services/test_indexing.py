"""Indexing through the service: unchanged trees decode nothing, moves are recognised,
deleted photos are kept as missing, and a cancel keeps everything finished."""
from __future__ import annotations

import os
import shutil

import numpy as np

from photosim.core.types import PhotoState
from photosim.services.indexing import index_folders
from photosim.store import repositories as repo
from photosim.store.library import Library

from support.helpers import Recorder, copy_photos


def _states(lib: Library) -> dict[str, PhotoState]:
    with lib.db.session() as s:
        return {p.path: p.state for p in repo.all_photos(s)}


def test_first_run_embeds_everything_and_second_run_decodes_nothing(library, photo_tree, engine, ctx):
    first = index_folders(library, [str(photo_tree)], ctx, engine=engine)
    assert first.embedded == 18 and first.failed == 0
    with library.db.session() as s:
        ids, vectors = repo.get_vectors(s, 0)
    assert len(ids) == 18
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert library.index().count() == 18

    second = index_folders(library, [str(photo_tree)], Recorder(), engine=engine)
    assert second.embedded == 0 and second.unchanged == 18 and second.moved == 0


def test_moved_photo_is_recognised_by_content_and_keeps_its_id(library, photo_tree, engine, ctx):
    index_folders(library, [str(photo_tree)], ctx, engine=engine)
    old = photo_tree / "camera" / sorted(os.listdir(photo_tree / "camera"))[0]
    with library.db.session() as s:
        before = repo.photo_by_path(s, str(old))
    new = photo_tree / "renamed-folder" / "holiday.jpg"
    new.parent.mkdir()
    shutil.move(old, new)

    report = index_folders(library, [str(photo_tree)], Recorder(), engine=engine)
    assert report.moved == 1 and report.embedded == 0
    with library.db.session() as s:
        after = repo.photo_by_path(s, str(new))
        assert repo.photo_by_path(s, str(old)) is None
    assert after.id == before.id and after.state == PhotoState.OK


def test_deleted_photo_is_marked_missing_not_purged_and_comes_back(library, photo_tree, engine, ctx):
    index_folders(library, [str(photo_tree)], ctx, engine=engine)
    gone = photo_tree / "pizza" / sorted(os.listdir(photo_tree / "pizza"))[0]
    data = gone.read_bytes()
    stat = gone.stat()
    gone.unlink()
    report = index_folders(library, [str(photo_tree)], Recorder(), engine=engine)
    assert report.missing == 1
    assert _states(library)[str(gone)] == PhotoState.MISSING
    with library.db.session() as s:
        assert len(repo.get_vectors(s, 0)[0]) == 18  # its vector is kept

    gone.write_bytes(data)
    os.utime(gone, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    back = index_folders(library, [str(photo_tree)], Recorder(), engine=engine)
    assert back.embedded == 0
    assert _states(library)[str(gone)] == PhotoState.OK


def test_unplugged_folder_marks_photos_offline(library, tmp_path, engine, ctx):
    drive = copy_photos(tmp_path / "drive", classes=("cup",), per_class=4)
    index_folders(library, [str(drive)], ctx, engine=engine)
    shutil.rmtree(drive)
    drive.mkdir()  # mount point left empty
    index_folders(library, [str(drive)], Recorder(), engine=engine)
    states = _states(library)
    assert len(states) == 4 and set(states.values()) == {PhotoState.MISSING}


def test_cancel_stops_and_keeps_finished_photos(library, tmp_path, engine):
    tree = copy_photos(tmp_path / "many", classes=("chair", "cup", "lamp", "wrench"), per_class=20)
    stopper = Recorder(stop_after=1)  # stop right after the first batch is reported
    report = index_folders(library, [str(tree)], stopper, engine=engine, batch_size=16)
    assert report.cancelled
    assert 0 < report.embedded < 80
    with library.db.session() as s:
        ids, _ = repo.get_vectors(s, 0)
        photos = repo.all_photos(s)
    assert len(ids) == report.embedded == len(photos)
    # a second run completes the rest without embedding any photo twice
    rest = index_folders(library, [str(tree)], Recorder(), engine=engine)
    assert rest.embedded == 80 - report.embedded
    with library.db.session() as s:
        assert len(repo.get_vectors(s, 0)[0]) == 80


def test_index_rebuilds_when_file_is_missing_or_corrupt(library, photo_tree, engine, ctx):
    index_folders(library, [str(photo_tree)], ctx, engine=engine)
    path = library.index_path(0)
    assert library.index_state() == "current"
    query = library.index().query(np.ones(library.index().dim, np.float32) / np.sqrt(library.index().dim), 3)

    with open(path, "wb") as fh:
        fh.write(b"not an index")
    fresh = Library(library.directory)
    assert fresh.index().count() == 18
    assert np.array_equal(fresh.index().query(np.ones(fresh.index().dim, np.float32)
                                              / np.sqrt(fresh.index().dim), 3)[0], query[0])
    os.unlink(path)
    again = Library(library.directory)
    assert again.index_state().startswith("missing")
    assert again.index().count() == 18 and os.path.exists(path)
