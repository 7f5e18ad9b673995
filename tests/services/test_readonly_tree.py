"""The app never writes into the user's photo folders, except `trash`, which moves only the
named photos and can put them back byte for byte.

Every other command runs (through the real CLI entry point) against a read-only copy of a
photo tree; a digest of the tree (names, bytes, modes, mtimes) must not change. Root
ignores the read-only modes, so the digest, not a permission error, is what catches a write.
"""
from __future__ import annotations

import os
from pathlib import Path

from photosim import cli

from support.helpers import copy_photos, tree_digest


def make_read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)


def run(library: Path, *argv: str) -> int:
    return cli.main(["--library", str(library), *argv])


def test_no_command_but_trash_writes_into_the_photo_tree(tmp_path, engine, capsys):
    tree = copy_photos(tmp_path / "photos", classes=("camera", "pizza", "chair"), per_class=4)
    make_read_only(tree)
    before = tree_digest(tree)
    library = tmp_path / "library"
    a, b, c, d = (str(p) for p in sorted((tree / "camera").iterdir()))
    labels = tmp_path / "labels.csv"
    labels.write_text(f"anchor,positive,negative\n{a},{b},{c}\n")
    commands = [
        ["index", "-q", str(tree)], ["index", "-q"], ["similar", a], ["similar", "--json", a],
        ["dupes"], ["dupes", "--json"], ["label", "same", a, b], ["label", "different", a, c],
        ["label", "triplet", a, b, c], ["label", "not-duplicate", a, d], ["label", "import", str(labels)],
        ["label", "list"], ["label", "list", "--json"], ["label", "remove", "1", "--pair"],
        ["export", str(tmp_path / "out.npz")], ["info"], ["info", "--errors"], ["info", "--json"],
        ["models"], ["train", "--epochs", "1"], ["models", "use", "0"], ["eval", "-q", str(tree)],
    ]
    codes = {}
    for argv in commands:
        codes[" ".join(argv)] = run(library, *argv)
        assert tree_digest(tree) == before, f"`photosim {' '.join(argv)}` changed the photo tree"
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert {argv: code for argv, code in codes.items() if code != 0} == {}  # each command really ran


def test_trash_moves_only_the_named_photos_and_undo_restores_the_tree(tmp_path, engine, capsys):
    tree = copy_photos(tmp_path / "photos", classes=("camera", "pizza"), per_class=4)
    library = tmp_path / "library"
    assert run(library, "index", "-q", str(tree)) == 0
    before = tree_digest(tree)
    victims = [tree / "camera" / sorted(os.listdir(tree / "camera"))[1], tree / "pizza" / sorted(os.listdir(tree / "pizza"))[2]]
    assert run(library, "trash", *map(str, victims)) == 0
    after = tree_digest(tree)
    gone = {os.path.relpath(v, tree) for v in victims}
    assert set(before) - set(after) == gone  # exactly the named photos left
    assert all(after[k] == before[k] for k in after if before[k][0] == "file")  # nothing else touched
    quarantined = [p for p in (library / ".photosim-trash").rglob("*") if p.is_file()]
    assert sorted(p.name for p in quarantined) == sorted(v.name for v in victims)
    assert run(library, "undo") == 0
    restored = tree_digest(tree)
    assert {k: v for k, v in restored.items() if v[0] == "file"} == {k: v for k, v in before.items() if v[0] == "file"}
    assert {k: v[2] for k, v in restored.items() if v[0] == "dir"} == {k: v[2] for k, v in before.items() if v[0] == "dir"}
    assert run(library, "undo") == 2  # nothing left to undo: a plain message, not a crash
    assert "Traceback" not in capsys.readouterr().err
