"""The geometric check's verdicts kept in the library (pair_checks): `similar` and `dupes` reuse them in a
new process and give the same groups as checking again; a verdict is used only on the bytes it was made
on, and goes with its photo — on real photos (shared caltech photos, a byte copy and re-encodes made
here), a real SQLite library and the real check."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from support.helpers import copy_photos, joined_groups
from PIL import Image

from photosim.core import verify
from photosim.core.types import SimpleContext
from photosim.services import verdicts
from photosim.services.duplicates import find_duplicates
from photosim.services.indexing import index_folders
from photosim.services.similar import similar_answer
from photosim.store import checks
from photosim.store import repositories as repo
from photosim.store.db import DB_NAME
from photosim.store.library import Library


def _reencode(src: Path, dest: Path, scale: float, quality: int) -> None:
    with Image.open(src) as im:
        im.convert("RGB").resize((int(im.width * scale), int(im.height * scale))).save(dest, quality=quality)


@pytest.fixture()
def tree(tmp_path, caltech) -> Path:
    """3 classes x 6 real photos; accordion #1 with a byte copy and a re-encode, camera #2 with a re-encode."""
    root = copy_photos(tmp_path / "photos", per_class=6)
    a1, c2 = sorted((root / "accordion").iterdir())[0], sorted((root / "camera").iterdir())[1]
    (root / "copies").mkdir()
    shutil.copy2(a1, root / "copies" / "a1 byte copy.jpg")
    _reencode(a1, root / "copies" / "a1 smaller.jpg", 0.75, 70)
    _reencode(c2, root / "copies" / "c2 recompressed.jpg", 1.0, 55)
    return root


@pytest.fixture()
def lib(tree, tmp_path, engine):
    library = Library(str(tmp_path / "library"))
    report = index_folders(library, [str(tree)], SimpleContext(), engine=engine)
    assert report.embedded == 21 and report.failed == 0
    yield library  # its own verdicts in memory: a Library holds them (Library.memo), not the process
    library.close()


class _Checks:
    """Counts the geometric checks made (the real check runs)."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = verify.inliers

        def counted(*args, **kwargs):
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(verify, "inliers", counted)


def _answers(lib: Library, paths: list[str]) -> dict[str, tuple]:
    """Each query's answer as who is shown, with which copies, and the query's own copies."""
    out = {}
    for p in paths:
        a = similar_answer(lib, p, k=8)
        out[p] = (tuple((n.photo.path, tuple(sorted(c.photo.path for c in n.copies))) for n in a.results),
                  tuple(sorted(c.photo.path for c in a.query_copies)))
    return out


def _kept(lib: Library) -> list[tuple]:
    with lib.db.session() as s:
        return checks.pair_checks_among(s, [p.id for p in repo.all_photos(s)])


def _ids(lib: Library) -> dict[str, int]:
    with lib.db.session() as s:
        return {p.path: p.id for p in repo.all_photos(s)}


def test_kept_verdicts_answer_as_checking_again_in_a_new_process(lib, tree, monkeypatch):
    paths = sorted(str(p) for p in tree.rglob("*.jpg"))
    checks = _Checks(monkeypatch)
    first = _answers(lib, paths)  # nothing checked before: every candidate pair is checked
    made = checks.count
    assert made > 0 and len(_kept(lib)) >= made // 2  # verdicts kept as they were made
    a1 = str(sorted((tree / "accordion").iterdir())[0])
    assert set(first[a1][1]) == {str(tree / "copies" / "a1 byte copy.jpg"), str(tree / "copies" / "a1 smaller.jpg")}

    verdicts.forget(lib)  # a new process: only what the library kept
    checks.count = 0
    assert _answers(lib, paths) == first
    assert checks.count == 0
    assert _answers(lib, paths) == first  # asked again in the same process
    assert checks.count == 0


def test_dupes_keeps_its_verdicts_and_similar_and_the_next_dupes_use_them(lib, tree, monkeypatch):
    checks = _Checks(monkeypatch)
    stats: dict = {}
    groups = joined_groups(find_duplicates(lib, stats=stats))
    assert stats["checks"] > 0 and stats["verdicts_kept"] == 0 and _kept(lib)
    again: dict = {}
    assert joined_groups(find_duplicates(lib, stats=again)) == groups
    assert again["checks"] == 0 and again["verdicts_kept"] >= stats["checks"]
    a1 = str(sorted((tree / "accordion").iterdir())[0])
    checks.count = 0
    answer = similar_answer(lib, a1, k=8)
    shown = {a1} | {c.photo.path for c in answer.query_copies}
    assert shown in groups  # the group dupes forms, folded into the query itself


def test_a_verdict_holds_only_for_the_bytes_it_was_made_on(lib, tree):
    """A kept verdict is used while both photos hold the bytes it names; with other bytes it is ignored."""
    a1 = str(sorted((tree / "accordion").iterdir())[0])
    smaller = str(tree / "copies" / "a1 smaller.jpg")
    folded = {c.photo.path for c in similar_answer(lib, a1, k=8).query_copies}
    assert smaller in folded
    ids = _ids(lib)
    with lib.db.session() as s:
        hashes = {i: p.content_hash for i, p in repo.photos_by_id(s, ids.values()).items()}
    kept = [v for v in _kept(lib) if ids[smaller] in v[:2]]
    assert kept and all(v[4] >= 20 and v[5] == "copy" for v in kept)  # confirmed, sorted as copies

    def say(inliers: int, stale: bool) -> None:
        """Overwrite the library's verdicts on the re-encode (as a file written by another run would)."""
        con = sqlite3.connect(Path(lib.directory) / DB_NAME)
        for a, b, *_ in kept:
            con.execute("UPDATE pair_checks SET inliers = ?, kind = NULL, a_hash = ? WHERE a_id = ? AND b_id = ?",
                        (inliers, "0" * 32 if stale else hashes[a], a, b))
        con.commit()
        con.close()
        verdicts.forget(lib)

    say(0, stale=False)  # a kept verdict on these bytes is believed: no copy now
    assert smaller not in {c.photo.path for c in similar_answer(lib, a1, k=8).query_copies}
    say(0, stale=True)  # the same verdict made on other bytes is not: checked again
    assert {c.photo.path for c in similar_answer(lib, a1, k=8).query_copies} == folded
    assert all(v[2] == hashes[v[0]] and v[4] >= 20 for v in _kept(lib) if v[:2] in {k[:2] for k in kept})


def test_a_changed_file_is_checked_again_and_a_removed_photo_leaves_no_verdict(lib, tree, engine):
    a1 = str(sorted((tree / "accordion").iterdir())[0])
    smaller = tree / "copies" / "a1 smaller.jpg"
    similar_answer(lib, a1, k=8)
    ids = _ids(lib)
    assert any(ids[str(smaller)] in v[:2] for v in _kept(lib))
    # The re-encode is rewritten with another picture: rescanned, its old verdicts go with its keypoints.
    _reencode(sorted((tree / "pizza").iterdir())[0], smaller, 0.75, 70)
    index_folders(lib, [str(tree)], SimpleContext(), engine=engine)
    assert not any(ids[str(smaller)] in v[:2] for v in _kept(lib))
    verdicts.forget(lib)
    answer = similar_answer(lib, a1, k=8)
    assert {c.photo.path for c in answer.query_copies} == {str(tree / "copies" / "a1 byte copy.jpg")}
    groups = joined_groups(find_duplicates(lib))
    assert not any(str(smaller) in g and a1 in g for g in groups)

    c2 = str(sorted((tree / "camera").iterdir())[1])
    similar_answer(lib, c2, k=8)
    assert any(ids[c2] in v[:2] for v in _kept(lib))
    with lib.db.session() as s:
        repo.delete_photos(s, [ids[c2]])
    assert not any(ids[c2] in v[:2] for v in _kept(lib))
    verdicts.forget(lib)
    recompressed = str(tree / "copies" / "c2 recompressed.jpg")
    assert not similar_answer(lib, recompressed, k=8).query_copies  # its copy is gone from the library
