"""The command line end to end on real photos: every command, and errors without tracebacks."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from photosim.cli import main

from support.helpers import ROOT, copy_photos


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
    on_disk = sum(os.path.getsize(os.path.join(lib, f)) for f in os.listdir(lib))
    assert info["bytes"]["database"] + info["bytes"]["index"] == on_disk, {  # nothing else there yet
        f: os.path.getsize(os.path.join(lib, f)) for f in os.listdir(lib)}
    assert info["bytes"]["per_photo"] == round(on_disk / 20)
    code, out, _ = run(capsys, "--library", lib, "info")
    # the text says the same figure; SQLite may have folded its write-ahead log into the file in
    # between (a few percent), so it is compared as a size, not as a string
    shown = float(re.search(r"([0-9.]+) KB a photo", out).group(1))
    assert abs(shown * 1024 - info["bytes"]["per_photo"]) < 0.1 * info["bytes"]["per_photo"], out


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
    assert ("cannot be opened" in proc.stderr or "is damaged" in proc.stderr) and "Traceback" not in proc.stderr


def test_bad_arguments_exit_nonzero_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "similar"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "usage" in proc.stderr


def test_retry_errors_tries_an_unchanged_unreadable_file_again(tmp_path, capsys, caltech):
    """An unreadable file is reported once and not decoded again while it is unchanged (a rescan stays
    cheap); --retry-errors tries it anyway, e.g. after installing a decoder it needed."""
    tree = copy_photos(tmp_path / "photos", classes=("camera",), per_class=2)
    good = sorted((caltech / "pizza").iterdir())[0].read_bytes()
    photo = tree / "camera" / "later.jpg"
    photo.write_bytes(b"\0" * 64 + good[64:])  # same size, unreadable now
    stamp = photo.stat().st_mtime_ns
    lib = str(tmp_path / "lib")
    code, out, _ = run(capsys, "index", "-q", str(tree), "--library", lib)
    assert code == 0 and "2 embedded" in out and "1 unreadable" in out
    photo.write_bytes(good)  # readable now, with the stat it had: the library cannot tell
    os.utime(photo, ns=(stamp, stamp))
    code, out, _ = run(capsys, "index", "-q", "--library", lib)
    assert code == 0 and "0 embedded" in out and "0 unreadable" in out
    assert str(photo) in run(capsys, "info", "--errors", "--library", lib)[1]
    code, out, _ = run(capsys, "index", "-q", "--retry-errors", "--library", lib)
    assert code == 0 and "1 embedded" in out and "0 unreadable" in out
    assert "0 unreadable file(s)" in run(capsys, "info", "--errors", "--library", lib)[1]


def test_demo_indexes_the_bundled_photos_and_shows_a_search(tmp_path, capsys, engine):
    lib = str(tmp_path / "lib")
    code, out, _ = run(capsys, "demo", "--library", lib)
    assert code == 0, out
    lines = out.splitlines()
    assert f"indexed 10 new demo photos into {lib}" in lines
    # its two copies are named apart, not taking places among the similar photos
    assert "copies of chelsea.jpg in the library: " in out
    copies = next(line for line in lines if line.startswith("copies of chelsea.jpg")).split(": ")[1].split(", ")
    assert sorted(copies) == ["chelsea_grey.jpg", "chelsea_small.jpg"]
    at = lines.index("most similar to chelsea.jpg:")
    shown = [line.split()[-1] for line in lines[at + 1:] if line.startswith("  ")]
    assert len(shown) >= 3 and not set(shown) & {"chelsea.jpg", "chelsea_grey.jpg", "chelsea_small.jpg"}
    code, out, _ = run(capsys, "demo", "--library", lib)
    assert code == 0 and f"indexed 0 new demo photos into {lib}" in out  # nothing embedded twice
