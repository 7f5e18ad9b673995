"""An unplugged drive never purges a library, and files changing under the scan are handled.

A library folder that is missing, or an empty mount point, at rescan: its photos are
marked offline and kept (ids, vectors, labels); when the folder comes back they are
online again without being embedded anew. Files deleted, rewritten or renamed between
the scan and the decode are reported, and picked up again by the next run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from photosim.core.types import PhotoState, SimpleContext
from photosim.services.indexing import index_folders
from photosim.store import repositories as repo
from photosim.store.library import Library

from support.helpers import Recorder, copy_photos

ROOT = Path(__file__).resolve().parents[2]


def _photos(lib: Library) -> dict[str, tuple[int, PhotoState]]:
    with lib.db.session() as s:
        return {p.path: (p.id, p.state) for p in repo.all_photos(s)}


def _vector_count(lib: Library) -> int:
    with lib.db.session() as s:
        return repo.vector_fingerprint(s, 0)[0]


def test_unplugged_folder_is_marked_offline_and_comes_back(tmp_path, library, engine):
    drive = copy_photos(tmp_path / "drive", classes=("camera", "pizza"), per_class=4)
    home = copy_photos(tmp_path / "home", classes=("chair",), per_class=4)
    index_folders(library, [str(drive), str(home)], Recorder(), engine=engine)
    before = _photos(library)
    assert len(before) == 12 and _vector_count(library) == 12

    unplugged = tmp_path / "unplugged"
    os.rename(drive, unplugged)  # the drive goes away...
    shutil.copy2(unplugged / "camera" / sorted(os.listdir(unplugged / "camera"))[0], home / "copy_of_camera.jpg")
    r = index_folders(library, [], Recorder(), engine=engine)  # a rescan of every library folder
    after = _photos(library)
    assert r.offline_folders == [str(drive)] and r.missing == 8
    assert {p: after[p] for p in before} == {p: (i, PhotoState.MISSING if p.startswith(str(drive)) else st)
                                             for p, (i, st) in before.items()}
    assert _vector_count(library) == 13  # nothing deleted; the copy at home is a new photo, not a "move"

    drive.mkdir()  # ...leaving an empty mount point behind
    r = index_folders(library, [], Recorder(), engine=engine)
    assert r.offline_folders == [str(drive)] and len(_photos(library)) == 13

    drive.rmdir()
    os.rename(unplugged, drive)  # plugged in again
    r = index_folders(library, [], Recorder(), engine=engine)
    assert r.embedded == 0 and r.offline_folders == []
    back = _photos(library)
    assert all(back[p] == (i, PhotoState.OK) for p, (i, _) in before.items())


def test_rescan_of_a_missing_folder_from_the_command_line(tmp_path, engine):
    photos = copy_photos(tmp_path / "photos", classes=("camera",), per_class=3)
    library = tmp_path / "library"
    cmd = [sys.executable, "-m", "photosim.cli", "--library", str(library)]
    assert subprocess.run(cmd + ["index", "-q", str(photos)], cwd=ROOT, capture_output=True).returncode == 0
    shutil.rmtree(photos)
    rescan = subprocess.run(cmd + ["index", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert rescan.returncode == 0, rescan.stderr
    assert "offline" in rescan.stdout and "Traceback" not in rescan.stdout + rescan.stderr
    info = subprocess.run(cmd + ["info"], cwd=ROOT, capture_output=True, text=True)
    assert "0 indexed, 3 missing/offline" in info.stdout, info.stdout


def test_files_changing_between_scan_and_decode_are_reported_and_requeued(tmp_path, library, engine):
    photos = copy_photos(tmp_path / "photos", classes=("camera", "pizza"), per_class=3)
    cam = sorted((photos / "camera").iterdir())
    piz = sorted((photos / "pizza").iterdir())
    deleted, rewritten, renamed = cam[0], cam[1], cam[2]
    hidden = tmp_path / "elsewhere.jpg"

    def meddle(done: int, total: int, text: str) -> None:
        if text == "embedding" and done == 0:  # after the scan, before any decode
            os.rename(deleted, hidden)
            shutil.copyfile(piz[0], rewritten)  # other bytes under the same name
            os.rename(renamed, renamed.with_name("renamed.jpg"))

    r = index_folders(library, [str(photos)], SimpleContext(on_progress=meddle), engine=engine)
    reasons = {e.path: e.reason for e in r.errors}
    assert set(reasons) == {str(deleted), str(renamed)}
    assert all("vanished" in why for why in reasons.values())
    got = _photos(library)
    assert str(rewritten) in got
    with library.db.session() as s:
        stored = repo.photo_by_path(s, str(rewritten))
    assert stored.size == os.path.getsize(rewritten) and stored.mtime_ns == os.stat(rewritten).st_mtime_ns

    os.rename(hidden, deleted)  # back, with the very stat it had at the first scan
    r = index_folders(library, [str(photos)], Recorder(), engine=engine)
    got = _photos(library)
    assert str(deleted) in got and str(photos / "camera" / "renamed.jpg") in got  # re-queued and embedded
    with library.db.session() as s:
        assert repo.list_errors(s) == []  # the stale reports are gone
    assert r.failed == 0
