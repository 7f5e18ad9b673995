"""The command line end to end on real photos: every command, and errors without tracebacks."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from photosim.cli import main

from helpers import ROOT, copy_photos


@pytest.fixture
def indexed(tmp_path, caltech):
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "camera", "pizza"), per_class=6)
    # an exact copy and a half-size copy, so `dupes` has something to find
    first = sorted((tree / "camera").iterdir())[0]
    shutil.copy2(first, tree / "camera" / "copy_of_first.jpg")
    im = Image.open(first)
    im.resize((im.width // 2, im.height // 2)).save(tree / "camera" / "small_first.jpg", quality=90)
    lib = str(tmp_path / "lib")
    assert main(["--library", lib, "index", "-q", str(tree)]) == 0
    return lib, tree, first


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_similar_dupes_export_info(indexed, capsys, tmp_path):
    lib, tree, first = indexed
    capsys.readouterr()

    code, out, _ = run(capsys, "--library", lib, "similar", str(tree / "accordion" / "image_0001.jpg"), "-k", "3", "--json")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert all("accordion" in h["path"] for h in hits)
    assert hits[0]["similarity"] >= hits[-1]["similarity"]

    # a photo outside the library works too
    outside = tmp_path / "outside.png"
    Image.open(tree / "pizza" / "image_0002.jpg").save(outside)
    code, out, _ = run(capsys, "--library", lib, "similar", str(outside), "-k", "1", "--json")
    assert code == 0 and json.loads(out)[0]["path"].endswith("pizza/image_0002.jpg")

    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    groups = json.loads(out)
    # The photo, its byte copy and its half-size re-encode are ONE group, the byte copy marked inside it.
    paths = [p["path"] for g in groups for p in g["photos"]]
    assert len(paths) == len(set(paths))  # each photo in one group
    mine = [g for g in groups if str(first) in [p["path"] for p in g["photos"]]]
    assert len(mine) == 1
    g = mine[0]
    assert g["kind"] == "near"
    assert {os.path.basename(p["path"]) for p in g["photos"]} == {first.name, "copy_of_first.jpg", "small_first.jpg"}
    twins = [p for p in g["photos"] if p["exact_copy_of"]]
    assert len(twins) == 1 and {os.path.basename(twins[0]["path"]), os.path.basename(twins[0]["exact_copy_of"])} == {
        first.name, "copy_of_first.jpg"}
    assert g["keep"] == g["photos"][0]["path"]
    assert "small_first" not in g["keep"]  # the full-size original is kept over the half-size copy
    assert g["reason"] and "decided by" in g["reason"]
    # Bytes to free count every photo once: the two copies that are not kept.
    assert g["bytes_to_free"] == sum(p["size"] for p in g["photos"] if not p["keep"]) == sum(
        os.path.getsize(p["path"]) for p in g["photos"][1:])

    out_npz = tmp_path / "vectors.npz"
    code, _, _ = run(capsys, "--library", lib, "export", str(out_npz))
    data = np.load(out_npz)
    assert code == 0 and data["vectors"].dtype == np.float32
    assert data["vectors"].shape[0] == len(data["paths"]) == 20 and int(data["model"]) == 0

    code, out, _ = run(capsys, "--library", lib, "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["indexed"] == 20 and info["missing"] == 0 and info["index"] == "current"
    assert info["with_keypoints"] == 20


def test_trash_refuses_last_copy_then_moves_and_undo_restores(indexed, capsys):
    lib, tree, first = indexed
    copy = tree / "camera" / "copy_of_first.jpg"
    small = tree / "camera" / "small_first.jpg"
    original_bytes = first.read_bytes()
    code, _, err = run(capsys, "--library", lib, "trash", str(first), str(copy), str(small))
    assert code == 2 and "every copy" in err
    assert first.exists() and copy.exists() and small.exists()

    code, out, _ = run(capsys, "--library", lib, "trash", str(copy))
    assert code == 0 and not copy.exists()
    code, out, _ = run(capsys, "--library", lib, "undo")
    assert code == 0 and copy.read_bytes() == original_bytes
    code, _, err = run(capsys, "--library", lib, "undo")
    assert code == 2 and "nothing to undo" in err


def test_the_last_copy_rule_holds_across_calls(indexed, capsys):
    """Removing a group's copies one call at a time is refused at the last one, as in one call."""
    lib, tree, first = indexed
    copy = tree / "camera" / "copy_of_first.jpg"
    small = tree / "camera" / "small_first.jpg"
    assert run(capsys, "--library", lib, "trash", str(copy))[0] == 0
    assert run(capsys, "--library", lib, "trash", str(first))[0] == 0
    code, _, err = run(capsys, "--library", lib, "trash", str(small))
    assert code == 2 and "every copy" in err and "last one" in err and "already in the quarantine" in err
    assert small.exists()
    # Undo brings back the last removal (first); then small may go, copy is still out.
    assert run(capsys, "--library", lib, "undo")[0] == 0
    assert first.exists() and not copy.exists()
    assert run(capsys, "--library", lib, "trash", str(small))[0] == 0
    code, _, err = run(capsys, "--library", lib, "trash", str(first))
    assert code == 2 and "every copy" in err and first.exists()


def test_not_duplicate_hides_the_group(indexed, capsys):
    lib, tree, first = indexed
    small = tree / "camera" / "small_first.jpg"
    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    before = [g for g in json.loads(out) if any("small_first" in p["path"] for p in g["photos"])]
    assert before
    members = [p["path"] for p in before[0]["photos"]]
    for other in members:
        if other != str(small):
            assert run(capsys, "--library", lib, "label", "not-duplicate", str(small), other)[0] == 0
    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    assert not [g for g in json.loads(out) if any("small_first" in p["path"] for p in g["photos"])]


def test_eval_on_a_class_tree(tmp_path, capsys, caltech):
    tree = copy_photos(tmp_path / "eval", classes=("accordion", "pizza", "wrench"), per_class=5)
    code, out, _ = run(capsys, "eval", str(tree), "--json", "-q")
    scores = json.loads(out)
    assert code == 0 and scores["queries"] == 15
    assert 0.5 < scores["mAP"] <= 1.0


@pytest.mark.parametrize("argv, message", [
    (["index", "/no/such/folder"], "no such file or folder"),
    (["similar", "/no/such/photo.jpg"], "no such file"),
    (["dupes", "--threshold", "3"], "between 0 and 1"),
    (["trash", "/not/in/library.jpg"], "not in the library"),
    (["label", "not-duplicate", "/a.jpg", "/b.jpg"], "not in the library"),
    (["models", "use", "7"], "no model version 7"),
])
def test_errors_are_one_line_without_traceback(tmp_path, capsys, argv, message):
    code, out, err = run(capsys, "--library", str(tmp_path / "lib"), *argv)
    assert code != 0
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_library_is_a_clear_error(tmp_path):
    bad = tmp_path / "lib"
    bad.mkdir()
    (bad / "library.db").write_bytes(b"this is not a database" * 100)
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "--library", str(bad), "info"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode != 0
    assert "cannot be opened" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_arguments_exit_nonzero_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "similar"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "usage" in proc.stderr
