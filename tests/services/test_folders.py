"""Removing a folder from the library: it is no longer rescanned, its photos are kept as offline
(never deleted), and only an explicit --forget removes them from the library. No file is touched."""
from __future__ import annotations

import os
from pathlib import Path

from support.helpers import Recorder, copy_photos

from photosim import cli
from photosim.core.types import PhotoState
from photosim.services import folders
from photosim.services.indexing import index_folders
from photosim.store import repositories as repo


def _states(lib) -> dict[str, str]:
    with lib.db.session() as s:
        return {p.path: p.state.value if hasattr(p.state, "value") else p.state for p in repo.all_photos(s)}


def test_remove_keeps_photos_offline_and_stops_rescanning(tmp_path: Path, library, engine, capsys):
    a = copy_photos(tmp_path / "a", classes=("accordion",), per_class=3)
    b = copy_photos(tmp_path / "b", classes=("camera",), per_class=3)
    before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.jpg"))
    index_folders(library, [str(a), str(b)], Recorder(), engine=engine)
    assert [f.photos for f in folders.list_folders(library)] == [3, 3]

    r = folders.remove_folder(library, str(a))
    assert (r.offline, r.forgotten) == (3, 0)
    assert [f.path for f in folders.list_folders(library)] == [str(b)]
    states = _states(library)
    assert len(states) == 6  # nothing deleted
    assert {s for p, s in states.items() if p.startswith(str(a))} == {PhotoState.MISSING.value}
    with library.db.session() as s:
        assert repo.vector_fingerprint(s, 0)[0] == 6  # vectors kept: re-adding needs no re-embedding

    # A rescan of the library (no paths) covers only the folders still watched.
    report = index_folders(library, [], Recorder(), engine=engine)
    assert report.scanned == 3 and report.embedded == 0
    assert {s for p, s in _states(library).items() if p.startswith(str(a))} == {PhotoState.MISSING.value}

    # Adding it again brings its photos back without embedding them again.
    report = index_folders(library, [str(a)], Recorder(), engine=engine)
    assert report.embedded == 0 and set(_states(library).values()) == {PhotoState.OK.value}

    # Only an explicit forget removes its photos from the library; the files stay on disk.
    assert cli.main(["--library", library.directory, "folders", "remove", str(a), "--forget"]) == 0
    assert "3 photo(s) removed from the library" in capsys.readouterr().out
    assert len(_states(library)) == 3
    assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.jpg")) == before


def test_cli_lists_folders_and_refuses_unknown(tmp_path: Path, library, engine, capsys):
    a = copy_photos(tmp_path / "a", classes=("pizza",), per_class=2)
    index_folders(library, [str(a)], Recorder(), engine=engine)
    assert cli.main(["--library", library.directory, "folders"]) == 0
    out = capsys.readouterr().out
    assert "2 photos" in out and str(a) in out and "online" in out
    assert cli.main(["--library", library.directory, "folders", "remove", str(tmp_path / "nope")]) == 2
    assert "not a folder of this library" in capsys.readouterr().err
    assert os.path.isdir(a)
