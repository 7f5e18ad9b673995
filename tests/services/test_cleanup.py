"""Cleaning up a real library through the CLI: keep the best in every group (asked once, one undo
step), protected folders, keeper rules the library remembers, CSV export, undo beside a taken name.

Real photos are indexed into a real library; every removal moves real files, and every undo is
checked byte for byte against a digest of the tree taken before.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from photosim.cli import main
from photosim.services.indexing import index_folders
from photosim.store.library import Library

from support.helpers import Recorder, copy_photos
from support.helpers import tree_digest


@pytest.fixture
def cleanup_tree(tmp_path, engine):
    """3 classes × 5 real photos; camera's first with a byte copy and a half-size re-encode (one group of
    three), and a 'backup' folder holding a byte copy of accordion's first (an exact group)."""
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "camera", "pizza"), per_class=5)
    first = sorted((tree / "camera").iterdir())[0]
    shutil.copy2(first, tree / "camera" / "first copy.jpg")
    with Image.open(first) as im:
        im.resize((im.width // 2, im.height // 2)).save(tree / "camera" / "small_first.jpg", quality=85)
    (tree / "backup").mkdir()
    accordion = sorted((tree / "accordion").iterdir())[0]
    shutil.copy2(accordion, tree / "backup" / accordion.name)
    lib = tmp_path / "lib"
    library = Library(str(lib))
    index_folders(library, [str(tree)], Recorder(), engine=engine)
    library.close()
    return str(lib), tree, first, accordion


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the person's answer typed in."""

    def isatty(self) -> bool:
        return True


def groups_json(capsys, lib) -> list[dict]:
    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    assert code == 0
    return json.loads(out)


def test_keep_the_best_asks_once_moves_as_one_step_and_undo_restores_every_byte(cleanup_tree, capsys, monkeypatch):
    lib, tree, first, accordion = cleanup_tree
    before = tree_digest(tree)
    groups = groups_json(capsys, lib)
    to_go = [p["path"] for g in groups for p in g["photos"] if not p["keep"]]
    size = sum(p["size"] for g in groups for p in g["photos"] if not p["keep"])
    assert len(to_go) == 3  # first's byte copy and half-size copy, accordion's backup copy

    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--dry-run")
    assert code == 0 and out.count("would move:") == 3 and "3 photo(s)" in out and "dry run" in out
    assert tree_digest(tree) == before

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a script: no terminal, no --yes
    code, _, err = run(capsys, "--library", lib, "dupes", "--remove-copies")
    assert code == 2 and "nothing moved" in err and "--yes" in err
    assert tree_digest(tree) == before

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))  # asked once, answered no
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies")
    assert code == 1 and "nothing moved" in out and tree_digest(tree) == before

    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies")
    assert code == 0 and "moved 3 photo(s)" in out and "one step" in out
    assert not any(os.path.exists(p) for p in to_go)
    assert first.exists() and accordion.exists() and (tree / "camera" / "small_first.jpg").exists() is False
    quarantined = [p for p in (Path(lib) / ".photosim-trash").rglob("*") if p.is_file()]
    assert len(quarantined) == 3 and sum(p.stat().st_size for p in quarantined) == size
    assert groups_json(capsys, lib) == []  # nothing left to clean
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "nothing to remove" in out

    code, out, _ = run(capsys, "--library", lib, "undo")  # one step brings back all three
    assert code == 0 and out.count("restored:") == 3 and "from 'keep the best'" in out
    assert tree_digest(tree) == before
    assert len(groups_json(capsys, lib)) == 2
    assert run(capsys, "--library", lib, "undo")[0] == 2  # nothing more to undo


def test_kind_exact_takes_only_byte_copies_and_bursts_are_never_taken_by_default(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--kind", "exact", "--yes")
    assert code == 0 and "moved 2 photo(s)" in out
    assert not (tree / "camera" / "first copy.jpg").exists() and not (tree / "backup" / accordion.name).exists()
    assert (tree / "camera" / "small_first.jpg").exists() and first.exists()  # a different file: not an exact copy
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--kind", "burst", "--yes")
    assert code == 0 and "nothing to remove" in out and (tree / "camera" / "small_first.jpg").exists()


def test_protected_folders_are_never_proposed_and_trash_refuses_them(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    backup = tree / "backup"
    code, out, _ = run(capsys, "--library", lib, "folders", "protect", str(backup))
    assert code == 0 and "protected" in out
    code, out, _ = run(capsys, "--library", lib, "folders")
    assert f"protected: {backup}" in out

    # The protected copy is kept in its group; the group has nothing else to remove: shown, not acted on.
    groups = groups_json(capsys, lib)
    mine = next(g for g in groups if any(p["path"] == str(accordion) for p in g["photos"]))
    protected = [p for p in mine["photos"] if p["protected"]]
    assert len(protected) == 1 and protected[0]["keep"] and mine["bytes_to_free"] == 0
    code, _, err = run(capsys, "--library", lib, "trash", str(backup / accordion.name))
    assert code == 2 and "protected folder" in err and len(err.strip().splitlines()) == 1
    assert (backup / accordion.name).exists()

    # Protect the original's folder too: both copies of the group are protected; still shown.
    assert run(capsys, "--library", lib, "folders", "protect", str(tree / "accordion"))[0] == 0
    code, out, err = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "moved 2 photo(s)" in out  # the camera group only
    assert "left alone: the group of" in err and "every copy is kept" in err
    assert (backup / accordion.name).exists() and accordion.exists()
    assert any(str(accordion) in [p["path"] for p in g["photos"]] for g in groups_json(capsys, lib))

    assert run(capsys, "--library", lib, "folders", "unprotect", str(backup))[0] == 0
    code, _, err = run(capsys, "--library", lib, "folders", "unprotect", str(backup))
    assert code == 2 and "not a protected folder" in err
    code, _, err = run(capsys, "--library", lib, "folders", "protect", str(tree / "nope"))
    assert code == 2 and "not a folder" in err


def test_a_file_changed_since_indexing_is_skipped_and_reported(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    changed = tree / "camera" / "small_first.jpg"
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched after indexing
    code, out, err = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "moved 2 photo(s)" in out
    assert f"skipped: {changed} (the file changed since it was indexed)" in err
    assert changed.exists()


def test_a_changed_keeper_leaves_its_group_alone(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    with open(accordion, "ab") as fh:  # the photo to keep is not what was indexed any more
        fh.write(b"\0")
    code, out, err = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "moved 2 photo(s)" in out
    assert "left alone" in err and "not there as indexed" in err
    assert (tree / "backup" / accordion.name).exists()


def test_keep_rules_are_remembered_and_decide(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    # 'folder' first, with backup/ preferred: the backup copy becomes the keeper of its exact group.
    assert run(capsys, "--library", lib, "config", "dupes.folder_priority", str(tree / "backup"))[0] == 0
    code, out, err = run(capsys, "--library", lib, "dupes", "--keep-rules", "folder,resolution", "--json")
    assert code == 0 and "folder, resolution" in err
    mine = next(g for g in json.loads(out) if any(p["path"] == str(accordion) for p in g["photos"]))
    assert mine["keep"] == str(tree / "backup" / accordion.name) and mine["decided_by"] == "folder"
    code, out, _ = run(capsys, "--library", lib, "config", "dupes.keep_rules")
    assert out.strip() == "folder,resolution"
    # The name rule: "first copy.jpg" is never the keeper of its byte pair, whatever its age.
    assert run(capsys, "--library", lib, "config", "dupes.keep_rules", "name,date")[0] == 0
    os.utime(tree / "camera" / "first copy.jpg", ns=(1, 1))
    group = next(g for g in groups_json(capsys, lib) if any(p["path"] == str(first) for p in g["photos"]))
    assert group["keep"] == str(first)
    copy = next(p for p in group["photos"] if p["path"].endswith("first copy.jpg"))
    assert "copy-like name" in copy["note"] and "same bytes as" in copy["note"]
    code, _, err = run(capsys, "--library", lib, "dupes", "--keep-rules", "biggest")
    assert code == 2 and "unknown rule 'biggest'" in err


def test_csv_has_every_photo_once_with_keeper_reason_and_sizes(cleanup_tree, capsys, tmp_path):
    lib, tree, first, accordion = cleanup_tree
    out_csv = tmp_path / "groups.csv"
    code, _, err = run(capsys, "--library", lib, "dupes", "--csv", str(out_csv))
    assert code == 0 and "2 groups (5 photos)" in err
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [k for k in rows[0]] == ["group", "kind", "path", "keeper", "reason", "size", "freed_by_default",
                                    "freed_by_kind", "exact_copy_of", "protected"]
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 5
    assert sum(r["keeper"] == "yes" for r in rows) == 2 and all(r["reason"] for r in rows)
    # Copies only (exact and near groups): what the default removal frees is each group's extras.
    assert sum(int(r["freed_by_default"]) for r in rows) == sum(g["bytes_to_free"] for g in groups_json(capsys, lib))
    assert all(r["freed_by_default"] == r["freed_by_kind"] for r in rows)
    assert sum(bool(r["exact_copy_of"]) for r in rows) == 2


def test_undo_onto_a_taken_name_restores_beside_it(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    copy = tree / "camera" / "first copy.jpg"
    original = copy.read_bytes()
    assert run(capsys, "--library", lib, "trash", str(copy))[0] == 0
    copy.write_bytes(b"a new file with the old name")
    code, out, _ = run(capsys, "--library", lib, "undo")
    beside = tree / "camera" / "first copy (restored).jpg"
    assert code == 0 and f"restored beside: {beside}" in out
    assert copy.read_bytes() == b"a new file with the old name"  # never overwritten
    assert beside.read_bytes() == original
    # The library follows the photo to its new name.
    lib_ = Library(lib)
    from photosim.store import repositories as repo

    with lib_.db.session() as s:
        assert repo.photo_by_path(s, str(beside)) is not None
    lib_.close()


def test_bulk_removal_after_earlier_removals_still_leaves_one_copy_in_place(cleanup_tree, capsys):
    lib, tree, first, accordion = cleanup_tree
    # The keepers go first, by hand: their groups' other copies are now the only ones in place.
    assert run(capsys, "--library", lib, "trash", str(first))[0] == 0
    assert run(capsys, "--library", lib, "trash", str(accordion))[0] == 0
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "moved 1 photo(s)" in out  # the half-size copy; the byte copy stays as the best left
    assert (tree / "camera" / "first copy.jpg").exists() and not (tree / "camera" / "small_first.jpg").exists()
    assert (tree / "backup" / accordion.name).exists()  # alone in place now: nothing to remove
    code, _, err = run(capsys, "--library", lib, "trash", str(tree / "backup" / accordion.name))
    assert code == 2 and "every copy" in err
