"""Nothing of the person's is lost or overwritten: the eleven cases an adversary found (issue 18).

Real photos, real links made here, a real library; the races run two real
processes, the removal slowed by the test-only delay before each rename
(PHOTOSIM_TEST_MOVE_DELAY). Every test checks the files on disk, byte for byte.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.helpers import ROOT, caltech_or_skip, copy_photos
from photosim.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "photosim.cli", *map(str, argv)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, **kwargs)


def finished(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def library_state(db: Path) -> tuple:
    """The database file itself (inode) and what it holds: a replaced or truncated file changes one.

    Its bytes may change with no harm done: a reader's close folds the WAL into it.
    """
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT id, path, content_hash, state FROM photos ORDER BY id").fetchall()
        vectors = con.execute("SELECT COUNT(*) FROM vectors").fetchone()
    con.close()
    return db.stat().st_ino, rows, vectors


def one_photo(name: str = "pizza", n: int = 0) -> Path:
    return sorted((caltech_or_skip() / name).iterdir())[n]


def json_of(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


# --- 1. outputs never overwrite ---------------------------------------------------------------
def test_outputs_never_replace_a_photo_or_the_library(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("cup", "pizza"), 3)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    before = digests(tree)
    db = library_state(lib / "library.db")
    photo = next((tree / "cup").iterdir())
    for argv in (("export", photo), ("export", photo, "--force"), ("export", lib / "library.db", "--force"),
                 ("dupes", "--csv", photo), ("dupes", "--csv", photo, "--force"),
                 ("dupes", "--csv", lib / "library.db", "--force")):
        code, _, err = run(capsys, "--library", lib, *argv)
        assert code == 2 and "refusing to write" in err, (argv, err)
    assert digests(tree) == before and library_state(lib / "library.db") == db
    # a link to a photo is the photo
    (tmp_path / "out").mkdir()
    os.symlink(photo, tmp_path / "out" / "vectors.npz")
    code, _, err = run(capsys, "--library", lib, "export", tmp_path / "out" / "vectors.npz", "--force")
    assert code == 2 and "a photo of the library" in err and digests(tree) == before
    # any other existing file: refused unless --force; a new name is written
    other = tmp_path / "out" / "notes.csv"
    other.write_text("mine")
    code, _, err = run(capsys, "--library", lib, "dupes", "--csv", other)
    assert code == 2 and "already exists" in err and other.read_text() == "mine"
    assert run(capsys, "--library", lib, "dupes", "--csv", other, "--force")[0] == 0
    assert other.read_text().startswith("group")
    assert run(capsys, "--library", lib, "export", tmp_path / "out" / "new.npz")[0] == 0
    assert not [n for n in os.listdir(tmp_path / "out") if n.endswith(".part")]


# --- 2. a link is never the keeper, and its target is never moved for it --------------------------
def test_a_link_to_a_photo_is_that_photo_not_a_copy(tmp_path, capsys):
    tree = tmp_path / "T"
    (tree / "photos-2019").mkdir(parents=True)
    (tree / "Albums").mkdir()
    shutil.copy2(one_photo(), tree / "photos-2019" / "IMG_0001.jpg")
    os.symlink("../photos-2019/IMG_0001.jpg", tree / "Albums" / "fav.jpg")
    lib = tmp_path / "L"
    code, out, _ = run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)
    assert code == 0 and "1 embedded" in out and "other name" in out
    assert json_of(capsys, "--library", lib, "dupes", "--json") == []
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "nothing to remove" in out
    assert (tree / "photos-2019" / "IMG_0001.jpg").is_file() and (tree / "Albums" / "fav.jpg").exists()


# --- 3. one file reached by two paths is one photo ------------------------------------------------
def test_a_folder_reached_two_ways_is_indexed_once(tmp_path, capsys):
    out_dir = copy_photos(tmp_path / "OUT", ("pizza",), 3) / "pizza"
    p = tmp_path / "P"
    p.mkdir()
    shutil.copy2(one_photo("cup"), p / "cup.jpg")
    os.symlink(out_dir, p / "ext")
    lib = tmp_path / "L"
    before = digests(tmp_path)
    code, out, _ = run(capsys, "--library", lib, "index", "-q", "--no-adapt", p)
    assert code == 0 and "1 embedded" in out and "1 unreadable" in out
    errors = json_of(capsys, "--library", lib, "info", "--errors", "--json")
    assert any("outside the library's folders" in e["reason"] for e in errors)
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", out_dir)[0] == 0
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", p)[0] == 0  # now it leads into a library folder
    info = json_of(capsys, "--library", lib, "info", "--json")
    assert info["indexed"] == 4
    assert json_of(capsys, "--library", lib, "dupes", "--json") == []
    run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert digests(tmp_path / "OUT") == {k[len("OUT/"):]: v for k, v in before.items() if k.startswith("OUT/")}
    assert len(list(out_dir.iterdir())) == 3


# --- 4. the last-copy guard cannot be raced ----------------------------------------------------------
def test_two_trash_calls_at_once_leave_one_copy(tmp_path, capsys):
    tree = tmp_path / "T"
    (tree / "a").mkdir(parents=True)
    (tree / "b").mkdir()
    shutil.copy2(one_photo(), tree / "a" / "x.jpg")
    shutil.copy2(one_photo(), tree / "b" / "x.jpg")
    shutil.copy2(one_photo("cup"), tree / "a" / "other.jpg")
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    slow = {"PHOTOSIM_TEST_MOVE_DELAY": "1.5"}
    # Both start while another writer holds the library (this test process holds the lock files of
    # this release and of the one before): each must check the other copy after it gets its turn.
    held = []
    for name in (".library.lock", ".removal.lock"):
        fh = open(lib / name, "a+b")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        held.append(fh)
    first = cli("--library", lib, "trash", tree / "a" / "x.jpg", env=slow)
    second = cli("--library", lib, "trash", tree / "b" / "x.jpg", env=slow)
    time.sleep(4)  # both are past their start-up, waiting
    for fh in held:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
    (lib / ".removal.lock").unlink()
    results = [finished(first), finished(second)]
    assert sorted(r[0] for r in results) == [0, 2], results
    refused = next(r for r in results if r[0] == 2)
    assert "last one in place" in refused[2] and "Traceback" not in refused[2]
    left = [p for p in (tree / "a" / "x.jpg", tree / "b" / "x.jpg") if p.exists()]
    assert len(left) == 1 and digest(left[0]) == digest(one_photo())
    # a trash during a bulk removal: the bulk removal goes first, the trash is refused after it
    assert run(capsys, "--library", lib, "undo")[0] == 0
    bulk = cli("--library", lib, "dupes", "--remove-copies", "--yes", env=slow)
    time.sleep(1.0)
    single = cli("--library", lib, "trash", tree / "a" / "x.jpg", tree / "b" / "x.jpg", env=slow)
    assert finished(bulk)[0] == 0
    code, _, err = finished(single)
    assert code == 2 and ("refusing" in err or "not there" in err), err
    assert sum(p.exists() for p in (tree / "a" / "x.jpg", tree / "b" / "x.jpg")) == 1


# --- 5. trash reads the other copy as it is now ------------------------------------------------------
def test_trash_refuses_when_the_other_copy_lost_its_bytes(tmp_path, capsys):
    tree = tmp_path / "T"
    tree.mkdir()
    shutil.copy2(one_photo(), tree / "original.jpg")
    shutil.copy2(one_photo(), tree / "copy.jpg")
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    shutil.copyfile(one_photo("cup"), tree / "copy.jpg")  # another picture under the copy's name
    code, _, err = run(capsys, "--library", lib, "trash", tree / "original.jpg")
    assert code == 2 and "no longer holds the bytes" in err, err
    assert digest(tree / "original.jpg") == digest(one_photo())
    # a copy that is now a link to the original is no copy either
    (tree / "copy.jpg").unlink()
    os.symlink(tree / "original.jpg", tree / "copy.jpg")
    code, _, err = run(capsys, "--library", lib, "trash", tree / "original.jpg")
    assert code == 2 and "nothing moved" in err and (tree / "original.jpg").is_file()


# --- 6. a folder link inside a tree does not reach outside it --------------------------------------
def test_a_folder_link_cannot_move_files_from_outside(tmp_path, capsys):
    orig = copy_photos(tmp_path / "ORIG", ("pizza",), 2) / "pizza"
    tree = tmp_path / "T"
    tree.mkdir()
    shutil.copy2(one_photo("cup"), tree / "cup.jpg")
    os.symlink(orig, tree / "0link")
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "folders", "protect", orig)[0] == 0
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    target = tree / "0link" / "image_0001.jpg"
    code, _, err = run(capsys, "--library", lib, "trash", target)
    assert code == 2 and "not in the library" in err
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", orig)[0] == 0  # now it is, protected
    code, _, err = run(capsys, "--library", lib, "trash", target)
    assert code == 2 and "protected folder" in err and (orig / "image_0001.jpg").is_file()
    # the link sorting before its target no longer turns the real paths "missing"
    info = json_of(capsys, "--library", lib, "info", "--json")
    assert info["indexed"] == 3 and info["missing"] == 0


# --- 7. protecting through a linked path protects the real folder ----------------------------------
def test_protect_through_a_link_protects_the_real_folder(tmp_path, capsys):
    real = tmp_path / "REAL"
    copy_photos(real / "Originals", ("pizza",), 2)
    os.symlink(real, tmp_path / "HOME")
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", real)[0] == 0
    code, out, _ = run(capsys, "--library", lib, "folders", "protect", tmp_path / "HOME" / "Originals")
    assert code == 0 and str(real / "Originals") in out
    photo = real / "Originals" / "pizza" / "image_0001.jpg"
    for path in (photo, tmp_path / "HOME" / "Originals" / "pizza" / "image_0001.jpg"):
        code, _, err = run(capsys, "--library", lib, "trash", path)
        assert code == 2 and "protected folder" in err
    assert photo.is_file()
    assert run(capsys, "--library", lib, "folders", "unprotect", tmp_path / "HOME" / "Originals")[0] == 0


# --- 8. one photo that cannot go back does not block the undo ----------------------------------------
def test_undo_restores_all_it_can_and_retries_the_rest(tmp_path, capsys):
    tree = tmp_path / "T"
    for folder, kind in (("a", "pizza"), ("b", "cup"), ("c", "camera")):
        (tree / folder).mkdir(parents=True)
        shutil.copy2(one_photo(kind), tree / folder / "p.jpg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    before = digests(tree)
    assert run(capsys, "--library", lib, "trash", *(tree / f / "p.jpg" for f in "abc"))[0] == 0
    (tree / "a").rmdir()
    (tree / "a").write_text("a file where a folder was")
    (tree / "b").rmdir()
    os.symlink(elsewhere, tree / "b")
    code, out, err = run(capsys, "--library", lib, "undo")
    assert code == 1 and "1 photo(s) put back" in out and "2 could not go back" in out
    assert "now a file" in err and "now a link" in err and "undo' again" in err
    assert (tree / "c" / "p.jpg").is_file() and not list(elsewhere.iterdir())
    (tree / "a").unlink()
    (tree / "b").unlink()
    code, out, _ = run(capsys, "--library", lib, "undo")
    assert code == 0 and "2 photo(s) put back" in out
    assert digests(tree) == before
    assert not (lib / ".photosim-trash").exists()  # nothing empty left behind


# --- 9. two index runs on one library ------------------------------------------------------------------
def test_a_second_index_waits_and_finishes_its_own_folder(tmp_path, capsys):
    big = copy_photos(tmp_path / "A", ("pizza", "cup", "camera", "accordion"), 10)  # 40: adapts after
    small = copy_photos(tmp_path / "B", ("chair",), 5)
    lib = tmp_path / "L"
    first = cli("--library", lib, "index", "-q", big)
    lock = lib / ".library.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = cli("--library", lib, "index", "-q", small)
    code1, out1, err1 = finished(first)
    code2, out2, err2 = finished(second)
    assert code1 == 0 and code2 == 0, (err1, err2)
    assert "waiting" in err2 and "indexing" in err2
    assert "adapted" in out1 + out2
    info = json_of(capsys, "--library", lib, "info", "--json")
    assert info["indexed"] == 45 and info["model"]["id"] != 0
    code, out, _ = run(capsys, "--library", lib, "similar", next((small / "chair").iterdir()), "-k", "3")
    assert code == 0 and out.count("\n") >= 3


# --- 10. the quarantine and the library are never photos -----------------------------------------------
def test_the_quarantine_and_the_library_folder_are_never_indexed(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza",), 3)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    photo = tree / "pizza" / "image_0001.jpg"
    assert run(capsys, "--library", lib, "trash", photo)[0] == 0
    for path in (lib / ".photosim-trash", next((lib / ".photosim-trash").rglob("*.jpg")), lib):
        code, _, err = run(capsys, "--library", lib, "index", "-q", path)
        assert code == 2 and "refusing to index" in err, err
    # a photo folder that holds the library: the library is skipped
    nested = tree / "lib-inside"
    assert run(capsys, "--library", nested, "index", "-q", "--no-adapt", tree)[0] == 0
    assert run(capsys, "--library", nested, "trash", tree / "pizza" / "image_0002.jpg")[0] == 0
    assert run(capsys, "--library", nested, "index", "-q", "--no-adapt")[0] == 0
    info = json_of(capsys, "--library", nested, "info", "--json")
    assert info["indexed"] == 1  # the other photo; what is in the quarantine stays there
    assert run(capsys, "--library", lib, "undo")[0] == 0
    assert run(capsys, "--library", nested, "undo")[0] == 0
    assert photo.is_file() and (tree / "pizza" / "image_0002.jpg").is_file()
    run(capsys, "--library", lib, "index", "-q", "--no-adapt")
    info = json_of(capsys, "--library", lib, "info", "--json")
    assert info["indexed"] == 3 and info["missing"] == 0


# --- 11. a damaged library says so; bounded reads; clear messages ----------------------------------------
def test_damaged_database_text_is_a_sentence_and_repair_reports_it(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza",), 2)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    con = sqlite3.connect(lib / "library.db")
    con.execute("UPDATE models SET spec = CAST(x'7ba0ff7d' AS TEXT) WHERE id = 0")
    con.commit()
    con.close()
    code, _, err = run(capsys, "--library", lib, "info")
    assert code == 2 and "is damaged" in err and "repair" in err and "codec" not in err


def test_a_damaged_model_falls_back_through_repair(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza", "cup", "camera", "accordion"), 9)  # 36: adapts
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", tree)[0] == 0
    active = json_of(capsys, "--library", lib, "info", "--json")["model"]["id"]
    assert active != 0
    con = sqlite3.connect(lib / "library.db")
    (weights,) = con.execute("SELECT weights FROM models WHERE id = ?", (active,)).fetchone()
    broken = bytearray(weights)
    broken[len(broken) // 2:len(broken) // 2 + 64] = b"\0" * 64
    con.execute("UPDATE models SET weights = ? WHERE id = ?", (bytes(broken), active))
    con.commit()
    con.close()
    query = tree / "pizza" / "image_0001.jpg"
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "--library", str(lib), "similar", str(query)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "damaged" in proc.stderr and "repair" in proc.stderr, proc.stderr
    code, out, _ = run(capsys, "--library", lib, "repair")
    assert code == 0 and f"model {active}: damaged" in out and "back to the plain model" in out
    code, out, _ = run(capsys, "--library", lib, "similar", query, "-k", "3")
    assert code == 0 and out.count("\n") == 3


def test_a_corrupt_database_file_is_caught_on_open(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza",), 3)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    assert run(capsys, "--library", lib, "info")[0] == 0
    db = lib / "library.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    page = 4096
    data = bytearray(db.read_bytes())
    assert len(data) > 6 * page
    for n in range(2, len(data) // page):  # every page but the first (the schema), scrambled
        data[n * page:(n + 1) * page] = os.urandom(page)
    db.write_bytes(bytes(data))
    code, _, err = run(capsys, "--library", lib, "info")
    assert code == 2 and "is damaged" in err and "Traceback" not in err
    code, out, _ = run(capsys, "--library", lib, "repair")
    assert "database: damaged" in out


def test_a_huge_file_is_refused_from_its_size_and_the_rest_indexed(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza",), 2)
    huge = tree / "pizza" / "huge.jpg"
    with open(huge, "wb") as fh:  # 12 GB, sparse: takes no disk
        fh.truncate(12 * 2**30)
    lib = tmp_path / "L"
    code, out, _ = run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)
    assert code == 0 and "2 embedded" in out and "1 unreadable" in out
    errors = json_of(capsys, "--library", lib, "info", "--errors", "--json")
    assert "larger than any photo" in errors[0]["reason"]


def _immutable(path: Path, on: bool) -> bool:
    """chattr +i (root ignores permissions, not this); False where the file system has no such flag."""
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


def test_a_move_that_fails_says_nothing_moved_and_leaves_nothing(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza", "cup"), 1)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    folder = tree / "pizza"
    if not _immutable(folder, True):
        pytest.skip("chattr +i is not supported on this file system (needed to make a folder read-only as root)")
    try:
        code, _, err = run(capsys, "--library", lib, "trash", folder / "image_0001.jpg", tree / "cup" / "image_0001.jpg")
    finally:
        _immutable(folder, False)
    assert code == 2 and "moved 1 of 2" in err and "could not move" in err
    code, out, _ = run(capsys, "--library", lib, "undo")
    assert code == 0 and "1 photo(s) put back" in out
    assert (folder / "image_0001.jpg").is_file() and (tree / "cup" / "image_0001.jpg").is_file()
    assert not (lib / ".photosim-trash").exists()
    assert not [n for n in os.listdir(lib) if n.startswith(".tmp-")]


def test_a_read_only_library_during_a_removal_is_a_sentence(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza", "cup"), 1)
    lib = tmp_path / "L"
    assert run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)[0] == 0
    db = lib / "library.db"
    run(capsys, "--library", lib, "info")
    if not _immutable(db, True):
        pytest.skip("chattr +i is not supported on this file system (needed to make the database read-only as root)")
    try:
        proc = subprocess.run([sys.executable, "-m", "photosim.cli", "--library", str(lib), "trash",
                               str(tree / "pizza" / "image_0001.jpg")], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
    finally:
        _immutable(db, False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "sqlalche.me" not in proc.stderr
    assert "read-only" in proc.stderr or "cannot be written" in proc.stderr, proc.stderr
    assert (tree / "pizza" / "image_0001.jpg").is_file()


def test_a_folder_link_sorting_before_its_target_changes_nothing(tmp_path, capsys):
    tree = copy_photos(tmp_path / "T", ("pizza",), 2)
    os.symlink(tree / "pizza", tree / "0link")  # walked first: its photos are the real ones
    lib = tmp_path / "L"
    code, out, _ = run(capsys, "--library", lib, "index", "-q", "--no-adapt", tree)
    assert code == 0 and "2 embedded" in out
    assert run(capsys, "--library", lib, "label", "same", tree / "pizza" / "image_0001.jpg",
               tree / "0link" / "image_0002.jpg")[0] == 0
    code, out, _ = run(capsys, "--library", lib, "index", "-q", "--no-adapt")
    assert code == 0 and "2 unchanged" in out and "0 newly missing" in out
    info = json_of(capsys, "--library", lib, "info", "--json")
    assert info["indexed"] == 2 and info["missing"] == 0
    labels = json_of(capsys, "--library", lib, "label", "list", "--json")
    assert [(os.path.basename(p["a"]), os.path.basename(p["b"])) for p in labels["pairs"]] == [
        ("image_0001.jpg", "image_0002.jpg")]
    assert all("0link" not in p["a"] + p["b"] for p in labels["pairs"])
