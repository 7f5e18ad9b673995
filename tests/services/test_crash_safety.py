"""Crashes and interruptions: kill -9 at random moments, a full disk, a reader during writes,
and a decoder that crashes the process.

`photosim index` runs as a real subprocess and is killed with SIGKILL; after every kill
the library must pass SQLite's integrity check, its HNSW index must load or rebuild, no
photo may be embedded twice, everything committed before the kill must still be there,
and a rerun must finish the rest.
"""
from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from photosim.core import safe_decode
from photosim.services.indexing import index_folders
from photosim.store import repositories as repo
from photosim.store.library import Library

from support.helpers import Recorder, caltech_or_skip

ROOT = Path(__file__).resolve().parents[2]


def copy_tree(dest: Path, per_class: int) -> list[Path]:
    src = caltech_or_skip()
    out = []
    for cls in sorted(os.listdir(src)):
        (dest / cls).mkdir(parents=True, exist_ok=True)
        for f in sorted((src / cls).iterdir())[:per_class]:
            shutil.copy2(f, dest / cls / f.name)
            out.append(dest / cls / f.name)
    return out


def index_cmd(library: Path, photos: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "photosim.cli", "--library", str(library), "index", "-q", *extra, str(photos)]


@dataclass
class Snapshot:
    """What a second process sees in one read transaction."""

    done: set[str]
    consistent: bool


def read_snapshot(db: Path) -> Snapshot | None:
    """Read the library as a separate reader would (the GUI while indexing runs)."""
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        con.execute("BEGIN")
        done = {os.fsdecode(bytes(p)) for (p,) in con.execute(
            "SELECT p.path FROM photos p JOIN vectors v ON v.photo_id = p.id AND v.model_id = 0")}
        orphans = con.execute("SELECT count(*) FROM photos p WHERE p.state = 'ok' AND NOT EXISTS "
                              "(SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model_id = 0)").fetchone()[0]
        con.execute("COMMIT")
        return Snapshot(done, orphans == 0)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None  # the very first run is still creating the schema
        raise
    finally:
        con.close()


@dataclass
class KillReport:
    kills: list[str] = field(default_factory=list)   # where each kill landed
    lost: int = 0                                    # photos committed before a kill and gone after it
    duplicated: int = 0                              # photos stored or indexed twice
    reads: int = 0                                   # concurrent reads, all of which succeeded
    inconsistent_reads: int = 0
    final_embedded: int = 0
    final_errors: int = 0
    integrity: list[str] = field(default_factory=list)


def check_library(library: Path, before: set[str], report: KillReport) -> set[str]:
    """The invariants after a kill; returns the photos stored now."""
    con = sqlite3.connect(library / "library.db")
    try:
        report.integrity.append(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()
    lib = Library(str(library), create=False)
    try:
        with lib.db.session() as s:
            photos = repo.all_photos(s)
            ids, _ = repo.get_vectors(s, 0)
        index = lib.index()  # loads the file or rebuilds it from SQLite
        labels = index.ids()
        paths = [p.path for p in photos]
        report.duplicated += (len(paths) - len(set(paths))) + (len(labels) - len(set(labels.tolist())))
        report.duplicated += len(ids) - len(set(ids.tolist()))
        assert set(labels.tolist()) == set(ids.tolist()), "the HNSW index does not hold exactly the stored vectors"
        by_id = {p.id: p.path for p in photos}
        now = {by_id[int(i)] for i in ids}
    finally:
        lib.close()
    report.lost += len(before - now)
    return now


def kill_run(library: Path, photos: Path, total: int, kills: int = 10, seed: int = 7,
             batch_size: int = 8) -> KillReport:
    """Index ``photos`` killing the indexer ``kills`` times at varied moments, then let it finish."""
    rng = random.Random(seed)
    report = KillReport()
    db = library / "library.db"
    stored: set[str] = set()
    for n in range(kills):
        proc = subprocess.Popen(index_cmd(library, photos, "--batch-size", str(batch_size)), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        left = total - len(stored)
        # First kill during start-up; then after a varying number of newly committed photos,
        # plus a random few milliseconds so the kill lands mid-batch, mid-commit or mid-save.
        # At most half of an even share of what is left, so a fast indexer cannot finish the tree
        # before the last kill (between two polls it may still commit a batch or two more).
        target = -1 if n == 0 else len(stored) + rng.randint(1, max(1, min(40, left // max(1, 2 * (kills - n)))))
        started = time.monotonic()
        seen: set[str] = set()
        while proc.poll() is None:
            if n == 0 and time.monotonic() - started > rng.uniform(0.3, 1.5):
                break
            snap = read_snapshot(db)
            if snap is not None:
                report.reads += 1
                report.inconsistent_reads += not snap.consistent
                seen = snap.done
                if target >= 0 and len(seen) >= target:
                    time.sleep(rng.uniform(0.0, 0.1))
                    break
            time.sleep(0.03)
        if proc.poll() is not None:
            raise AssertionError(f"the indexer finished before kill {n + 1}: {proc.stderr.read().decode()[-2000:]}")
        snap = read_snapshot(db)  # committed just before the kill: all of it must survive
        committed = snap.done if snap else seen
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        report.kills.append(f"after {time.monotonic() - started:.1f}s, {len(committed)}/{total} stored")
        stored = check_library(library, committed, report) if db.exists() else set()
    final = subprocess.run(index_cmd(library, photos, "--batch-size", str(batch_size)), cwd=ROOT,
                           capture_output=True, timeout=600)
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    stored = check_library(library, stored, report)
    report.final_embedded = len(stored)
    lib = Library(str(library), create=False)
    try:
        with lib.db.session() as s:
            report.final_errors = len(repo.list_errors(s))
            assert repo.in_flight(s) == {}, "in-flight marks left after a complete run"
    finally:
        lib.close()
    return report


@pytest.mark.slow
def test_kill_9_ten_times_loses_nothing_and_a_rerun_completes(tmp_path, engine):
    photos = tmp_path / "photos"
    total = len(copy_tree(photos, per_class=16))
    report = kill_run(tmp_path / "library", photos, total)
    print("\nkills:", "; ".join(report.kills))
    print(f"concurrent reads: {report.reads}, inconsistent {report.inconsistent_reads}")
    assert len(report.kills) == 10
    assert set(report.integrity) == {"ok"}
    assert report.lost == 0 and report.duplicated == 0
    assert report.reads > 0 and report.inconsistent_reads == 0
    assert report.final_embedded == total and report.final_errors == 0


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_disk_full_gives_a_clear_error_and_loses_nothing(tmp_path, engine):
    photos = tmp_path / "photos"
    files = copy_tree(photos, per_class=4)
    later = tmp_path / "later"
    for f in files[20:]:  # the first 20 are indexed normally, the rest arrive later
        (later / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(f, later / f.parent.name / f.name)
    library = tmp_path / "library"
    first = subprocess.run(index_cmd(library, photos), cwd=ROOT, capture_output=True, timeout=300)
    assert first.returncode == 0, first.stderr.decode()
    for d in later.iterdir():
        shutil.copytree(d, photos / d.name, dirs_exist_ok=True)

    biggest = max(f.stat().st_size for f in library.iterdir() if f.is_file())
    full = subprocess.run(index_cmd(library, photos, "--batch-size", "8"), cwd=ROOT, capture_output=True,
                          timeout=300, preexec_fn=_limit_file_size(biggest + 48 * 1024))
    out = full.stdout.decode() + full.stderr.decode()
    print("\ndisk full run said:", out.strip().splitlines()[-1] if out.strip() else "(nothing)")
    assert full.returncode != 0 and "disk is full" in out and "Traceback" not in out, out

    report = KillReport()
    check_library(library, {str(f) for f in files[:20]}, report)
    assert report.integrity == ["ok"] and report.lost == 0 and report.duplicated == 0
    again = subprocess.run(index_cmd(library, photos), cwd=ROOT, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert len(check_library(library, set(), report)) == len(files)


def test_files_in_flight_when_a_run_died_are_screened_and_not_blamed(tmp_path, engine):
    """A run died while these files were in flight: the next run decodes them in a child first;
    good photos among them are embedded as usual and the marks are cleared."""
    photos = tmp_path / "photos"
    files = copy_tree(photos, per_class=1)
    lib = Library(str(tmp_path / "library"))
    try:
        with lib.db.session() as s:  # what a run that died mid-decode leaves behind
            repo.mark_in_flight(s, [str(f) for f in files[:3]])
        report = index_folders(lib, [str(photos)], Recorder(), engine=engine)
        assert report.embedded == len(files) and report.failed == 0
        with lib.db.session() as s:
            assert repo.in_flight(s) == {}
    finally:
        lib.close()


def test_the_child_decoder_contains_a_real_crash_and_names_the_file(tmp_path):
    """A child that really segfaults (and one that hangs) on one file: the rest still decode."""
    child = tmp_path / "fragile_decoder.py"
    child.write_text(
        "import ctypes, os, sys, time\n"
        "for h in sys.stdin.buffer.read().split():\n"
        "    sys.stdout.buffer.write(b'start ' + h + b'\\n'); sys.stdout.flush()\n"
        "    name = os.fsdecode(bytes.fromhex(h.decode()))\n"
        "    if 'crash' in name: ctypes.string_at(0)\n"
        "    if 'hang' in name: time.sleep(60)\n"
        "    sys.stdout.buffer.write(b'done ' + h + b'\\n'); sys.stdout.flush()\n")
    paths = ["/p/a.jpg", "/p/crash.jpg", "/p/b.jpg", "/p/hang.jpg", "/p/c.jpg", "/p/crash2.jpg"]
    culprits = safe_decode.probe(paths, [sys.executable, str(child)], timeout=2.0)
    assert culprits == {"/p/crash.jpg": safe_decode.CRASH_REASON, "/p/hang.jpg": safe_decode.HANG_REASON,
                        "/p/crash2.jpg": safe_decode.CRASH_REASON}
    # Our own child decoder on real files: nothing to report.
    real = [str(p) for p in copy_tree(tmp_path / "real", per_class=1)[:3]]
    assert safe_decode.probe(real) == {}


def test_index_after_crash_rebuilds_a_stale_hnsw_file(tmp_path, engine):
    photos = tmp_path / "photos"
    copy_tree(photos, per_class=1)
    lib = Library(str(tmp_path / "library"))
    try:
        index_folders(lib, [str(photos)], Recorder(), engine=engine)
        with open(lib.index_path(0), "r+b") as fh:  # a torn or foreign file in place of the index
            fh.truncate(100)
        lib.drop_cached_index()
        with lib.db.session() as s:
            ids, vectors = repo.get_vectors(s, 0)
        found, _ = lib.index().query(vectors[:3], 1)
        assert lib.index().count() == len(ids) and np.array_equal(found[:, 0], ids[:3])
    finally:
        lib.close()
