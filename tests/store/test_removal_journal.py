"""The removal journal survives kill -9: a bulk removal of 2,000 photos (and its undo) killed at the
worst moments leaves every photo either in place or in the quarantine with a record undo can use —
none lost, none twice — and undo then restores every byte.

The library is real (SQLite through the store's batch writers, real files on disk, hashed with the
indexer's own hash); the removal and the undo are the real commands, run as subprocesses and
killed with SIGKILL while the journal holds pending moves.
"""
from __future__ import annotations

import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photosim.core.decode import content_hash
from photosim.core.types import DecodedPhoto
from photosim.store import removals
from photosim.store import repositories as repo
from photosim.store.library import Library

from support.helpers import ROOT

GROUPS, COPIES = 1000, 3  # 3,000 photos, 2,000 of them copies to remove


def build(root: Path) -> tuple[str, dict[str, str]]:
    """A library of GROUPS sets of COPIES byte-identical small JPEGs; path -> sha256 of each file."""
    rng = np.random.default_rng(7)
    photos = root / "photos"
    digests: dict[str, str] = {}
    rows: list[DecodedPhoto] = []
    for g in range(GROUPS):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((24, 16)).save(buf, "JPEG")
        data = buf.getvalue()
        for c in range(COPIES):
            folder = photos / f"f{g % 25:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"g{g:04d}_{c}.jpg"
            path.write_bytes(data)
            st = path.stat()
            digests[str(path)] = hashlib.sha256(data).hexdigest()
            rows.append(DecodedPhoto(path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                                     content_hash=content_hash(data), pixels=np.zeros((1, 1, 3), np.uint8),
                                     width=24, height=16, format="JPEG"))
    lib = Library(str(root / "lib"))
    with lib.db.session() as s:
        repo.add_folders(s, [str(photos)])
        for part in repo.chunks(rows, 500):
            repo.upsert_decoded_many(s, part)
    lib.close()
    return str(root / "lib"), digests


def command(lib: str, *argv: str) -> list[str]:
    return [sys.executable, "-m", "photosim.cli", "--library", lib, *argv]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def kill_when(lib: str, argv: list[str], state: str, after_done: int = 0, timeout: float = 120.0) -> bool:
    """Run ``argv`` and SIGKILL it the moment the journal holds a ``state`` move (after at least
    ``after_done`` finished ones). True if it was killed, False if it finished first."""
    proc = subprocess.Popen(argv, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = os.path.join(lib, "library.db")
    end = time.monotonic() + timeout
    finished = "done" if state == "pending" else "restored"
    try:
        while time.monotonic() < end:
            if proc.poll() is not None:
                return False
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                try:
                    n = dict(con.execute("SELECT state, count(*) FROM trash_moves GROUP BY state").fetchall())
                finally:
                    con.close()
            except sqlite3.OperationalError:
                continue
            if n.get(state, 0) and n.get(finished, 0) >= after_done:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
        raise AssertionError("the command neither finished nor reached the state in time")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def sha(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def unsettled(lib_dir: str) -> int:
    """Moves a killed process left half done (read before any library is opened)."""
    con = sqlite3.connect(f"file:{os.path.join(lib_dir, 'library.db')}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM trash_moves WHERE state IN ('pending', 'restoring')").fetchone()[0]
    finally:
        con.close()


def check(lib_dir: str, digests: dict[str, str]) -> tuple[int, int]:
    """Open the library (which settles the journal) and check that every photo is in exactly one
    place, the quarantine holds only recorded files, and each recorded one is byte-identical.
    Returns (in place, in the quarantine)."""
    half_done = unsettled(lib_dir)
    lib = Library(lib_dir)
    settled = lib.recovery
    assert (settled.finished + settled.rolled_back + settled.restored + settled.reverted) == half_done
    assert settled.gone == 0
    with lib.db.session() as s:
        assert removals.unfinished(s) == []  # nothing left half done
        moves = [m for b in sorted({m.batch for m in _all_moves(s)}) for m in removals.moves_of(s, b)]
    lib.close()
    by_original: dict[str, list] = {}
    for m in moves:
        by_original.setdefault(m.original, []).append(m)
    assert all(len(v) == 1 for v in by_original.values()), "a photo recorded in the quarantine twice"
    quarantine = {str(p) for p in (Path(lib_dir) / ".photosim-trash").rglob("*") if p.is_file()}
    assert quarantine == {m.trashed for m in moves}, "a file in the quarantine without its record, or the reverse"
    here = away = 0
    for path, digest in digests.items():
        in_place = os.path.exists(path)
        recorded = by_original.get(path)
        assert in_place != bool(recorded), f"{path}: {'in both places' if in_place else 'lost'}"
        assert sha(path if in_place else recorded[0].trashed) == digest
        here += in_place
        away += not in_place
    return here, away


def _all_moves(s):
    from sqlalchemy import select

    from photosim.store.schema import TrashMove

    return list(s.scalars(select(TrashMove)))


def test_kill_during_bulk_removal_and_undo_loses_nothing(tmp_path):
    lib, digests = build(tmp_path)
    copies = len(digests) - GROUPS

    # Killed while moves are journalled as pending: early, then again half way through what is left.
    assert kill_when(lib, command(lib, "dupes", "--remove-copies", "--yes"), "pending")
    assert unsettled(lib) > 0  # the kill came between a journal entry and its rename
    here, away = check(lib, digests)
    assert here + away == len(digests) and here >= GROUPS
    assert kill_when(lib, command(lib, "dupes", "--remove-copies", "--yes"), "pending", after_done=away + 300)
    here, away = check(lib, digests)
    assert 0 < away < copies

    # The rest goes on the next run; every group keeps one copy.
    done = subprocess.run(command(lib, "dupes", "--remove-copies", "--yes"), env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    here, away = check(lib, digests)
    assert (here, away) == (GROUPS, copies)

    # Undo killed while files are on their way back; then undo until nothing is left.
    assert kill_when(lib, command(lib, "undo"), "restoring", after_done=0)
    assert unsettled(lib) > 0
    check(lib, digests)
    for _ in range(5):
        r = subprocess.run(command(lib, "undo"), env=env(), capture_output=True, text=True)
        if r.returncode == 2 and "nothing to undo" in r.stderr:
            break
        assert r.returncode == 0, r.stderr
    here, away = check(lib, digests)
    assert (here, away) == (len(digests), 0)
    assert all(sha(p) == d for p, d in digests.items())  # every byte back


def test_a_stopped_bulk_removal_keeps_what_moved_as_one_undo_step(tmp_path):
    from photosim.services.cleanup import plan_removal, remove_copies
    from photosim.services.duplicates import find_duplicates
    from photosim.services.trash import CHUNK, undo

    from support.helpers import Recorder

    lib_dir, digests = build(tmp_path)
    lib = Library(lib_dir)
    plan = plan_removal(find_duplicates(lib))
    assert len(plan.photos) == len(digests) - GROUPS
    result = remove_copies(lib, plan, Recorder(stop_after=1))  # Stop after the first chunk
    assert result.cancelled and len(result.moved) == CHUNK
    assert sum(not os.path.exists(p) for p in digests) == CHUNK
    assert len(undo(lib)) == CHUNK
    assert all(sha(p) == d for p, d in digests.items())
    lib.close()
