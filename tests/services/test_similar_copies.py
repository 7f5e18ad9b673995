"""`similar` shows the copies of one photo (its duplicate group, as `dupes` forms it) as one result,
leaves the query's own copies out, and answers many queries at once — on real photos, with byte
copies and re-encodes made here, in a real library."""
from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
from support.helpers import copy_photos, joined_groups
from PIL import Image

from photosim.cli import main
from photosim.core.duplicates import DEFAULT_THRESHOLD
from photosim.core.types import SimpleContext
from photosim.services.duplicates import find_duplicates
from photosim.services.indexing import index_folders
from photosim.services.labels import not_duplicate
from photosim.services.similar import similar, similar_answer, similar_many
from photosim.store.library import Library


def _reencode(src: Path, dest: Path, scale: float, quality: int) -> None:
    with Image.open(src) as im:
        im.convert("RGB").resize((int(im.width * scale), int(im.height * scale))).save(dest, quality=quality)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, caltech) -> Path:
    """3 classes × 8 real photos; accordion #1 with two byte copies and a re-encode elsewhere,
    accordion #4 with a byte copy and a re-encode: two groups of copies a query can run into."""
    root = copy_photos(tmp_path_factory.mktemp("similar") / "photos", per_class=8)
    a1, a4 = sorted((root / "accordion").iterdir())[0], sorted((root / "accordion").iterdir())[3]
    (root / "copies").mkdir()
    shutil.copy2(a1, root / "copies" / "a1 byte copy.jpg")
    shutil.copy2(a1, root / "copies" / "a1 byte copy 2.jpg")
    _reencode(a1, root / "copies" / "a1 smaller.jpg", 0.75, 70)
    shutil.copy2(a4, root / "copies" / "a4 byte copy.jpg")
    _reencode(a4, root / "copies" / "a4 recompressed.jpg", 1.0, 55)
    return root


@pytest.fixture(scope="module")
def lib(tree, tmp_path_factory):
    library = Library(str(tmp_path_factory.mktemp("similar-lib") / "library"))
    report = index_folders(library, [str(tree)], SimpleContext())
    assert report.embedded == 29 and report.failed == 0
    yield library
    library.close()


def _a(tree: Path, n: int) -> str:
    return str(sorted((tree / "accordion").iterdir())[n])


def _copies_of(tree: Path, name: str) -> set[str]:
    return {str(p) for p in (tree / "copies").iterdir() if p.name.startswith(name + " ")}


def _dupes_groups(lib) -> list[set[str]]:
    """The groups `dupes` shows (this library keeps the default threshold)."""
    return joined_groups(find_duplicates(lib, DEFAULT_THRESHOLD))


def test_without_collapsing_the_query_copies_fill_the_first_places(lib, tree):
    """What a user saw before (and still gets with all_copies): the query's own copies first."""
    top = similar(lib, _a(tree, 0), k=3, all_copies=True)
    assert {n.photo.path for n in top} == _copies_of(tree, "a1")


def test_the_query_copies_are_left_out_and_listed_apart(lib, tree):
    answer = similar_answer(lib, _a(tree, 0), k=5)
    shown = {n.photo.path for n in answer.results} | {c.photo.path for n in answer.results for c in n.copies}
    assert not shown & (_copies_of(tree, "a1") | {_a(tree, 0)})
    assert {c.photo.path for c in answer.query_copies} == _copies_of(tree, "a1")
    assert len(answer.results) == 5


def test_copies_of_a_result_are_one_result_and_k_counts_distinct_photos(lib, tree):
    k = 8
    answer = similar_answer(lib, _a(tree, 1), k=k)
    groups = _dupes_groups(lib)
    assert {frozenset(g) for g in groups} >= {frozenset(_copies_of(tree, "a1") | {_a(tree, 0)}),
                                             frozenset(_copies_of(tree, "a4") | {_a(tree, 3)})}
    assert len(answer.results) == k
    seen: list[str] = []
    for n in answer.results:
        members = {n.photo.path} | {c.photo.path for c in n.copies}
        group = next((g for g in groups if n.photo.path in g), {n.photo.path})
        assert members == group  # one result = the whole group dupes shows, nothing more
        seen += members
    assert len(seen) == len(set(seen)) > k  # no photo twice; copies did not take any of the k places
    copied = [n for n in answer.results if n.copies]
    assert len(copied) == 2 and {len(n.copies) + 1 for n in copied} == {3, 4}
    sims = [n.cosine for n in answer.results]
    assert sims == sorted(sims, reverse=True)
    for n in copied:  # the result shown is the group's best-ranked photo
        assert all(c.cosine <= n.cosine + 1e-6 for c in n.copies)
    every = similar(lib, _a(tree, 1), k=k, all_copies=True)
    assert [n.photo.path for n in every][:1] == [answer.results[0].photo.path]
    assert len({n.photo.path for n in every} & set(seen)) < len(seen)  # all_copies: copies take places


def test_not_duplicate_marks_split_a_group_here_as_in_dupes(tmp_path, caltech):
    tree = copy_photos(tmp_path / "photos", classes=("camera",), per_class=5)
    first = sorted((tree / "camera").iterdir())[0]
    _reencode(first, tree / "camera" / "reencoded.jpg", 0.8, 60)
    library = Library(str(tmp_path / "lib"))
    index_folders(library, [str(tree)], SimpleContext())
    query = str(sorted((tree / "camera").iterdir())[2])
    together = similar(library, query, k=5)
    assert sum(len(n.copies) + 1 for n in together) == 5 and len(together) == 4
    not_duplicate(library, [str(first), str(tree / "camera" / "reencoded.jpg")])
    apart = similar(library, query, k=5)
    assert len(apart) == 5 and not any(n.copies for n in apart)
    assert not find_duplicates(library, DEFAULT_THRESHOLD)
    library.close()


def test_a_file_outside_the_library_finds_its_copies_as_one_result(lib, tree, tmp_path):
    outside = tmp_path / "from a camera card.jpg"
    shutil.copy2(_a(tree, 3), outside)
    answer = similar_answer(lib, str(outside), k=3)
    top = answer.results[0]
    assert top.cosine > 0.999 and answer.query_copies == []
    assert {top.photo.path} | {c.photo.path for c in top.copies} == _copies_of(tree, "a4") | {_a(tree, 3)}


def test_many_queries_at_once_give_each_its_own_answer(lib, tree, tmp_path):
    outside = tmp_path / "pizza rotated.png"
    with Image.open(sorted((tree / "pizza").iterdir())[2]) as im:
        im.rotate(4).save(outside)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(_a(tree, 2)).read_bytes()[:300])
    queries = [_a(tree, 1), str(tmp_path / "missing.jpg"), str(outside), str(broken), _a(tree, 0)]
    answers = similar_many(lib, queries, k=4)
    assert [a.query for a in answers] == queries
    assert answers[1].error == f"no such file: {tmp_path / 'missing.jpg'}"
    assert answers[3].error.startswith(f"cannot read {broken}")
    for n in (0, 2, 4):  # the same answer as asked alone
        alone = similar_answer(lib, queries[n], k=4)
        assert answers[n].error is None
        assert [(r.photo.path, [c.photo.path for c in r.copies]) for r in answers[n].results] == \
            [(r.photo.path, [c.photo.path for c in r.copies]) for r in alone.results]
        assert [r.cosine for r in answers[n].results] == pytest.approx([r.cosine for r in alone.results],
                                                                            abs=1e-5)
    assert "pizza" in answers[2].results[0].photo.path


# --- the command line ----------------------------------------------------------------------------
def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_shows_a_group_once_with_its_count_and_all_copies_lists_them(lib, tree, capsys):
    code, out, _ = run(capsys, "--library", lib.directory, "similar", _a(tree, 1), "-k", "6")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 6
    assert sum(line.endswith("(4 copies)") for line in lines) == 1
    assert sum(line.endswith("(3 copies)") for line in lines) == 1
    code, out, _ = run(capsys, "--library", lib.directory, "similar", _a(tree, 0), "--json", "-k", "3")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3 and not {h["path"] for h in hits} & _copies_of(tree, "a1")
    code, out, _ = run(capsys, "--library", lib.directory, "similar", _a(tree, 0), "-k", "3")
    assert "the query has 3 other copies in the library" in out
    code, out, _ = run(capsys, "--library", lib.directory, "similar", _a(tree, 0), "--json", "-k", "3",
                       "--all-copies")
    assert {h["path"] for h in json.loads(out)} == _copies_of(tree, "a1")


def test_cli_batch_json_and_from_stdin(lib, tree, capsys, monkeypatch, tmp_path):
    pizza = sorted((tree / "pizza").iterdir())[0]
    code, out, err = run(capsys, "--library", lib.directory, "similar", _a(tree, 1), str(pizza), "--json", "-k", "2")
    got = json.loads(out)
    assert code == 0 and err == ""
    assert list(got) == [_a(tree, 1), str(pizza)]
    assert all(len(v) == 2 and {"path", "similarity"} <= set(v[0]) for v in got.values())
    assert str(pizza) not in {h["path"] for h in got[str(pizza)]}  # the query itself is left out
    # --from -: paths on standard input (one of them missing): reported on stderr, the rest answered
    listing = f"{pizza}\n{tmp_path / 'gone.jpg'}\n\n{_a(tree, 2)}\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(listing)))
    code, out, err = run(capsys, "--library", lib.directory, "similar", "--from", "-", "--json", "-k", "3")
    assert code == 1
    assert list(json.loads(out)) == [str(pizza), _a(tree, 2)]
    assert err.strip() == f"photosim: no such file: {tmp_path / 'gone.jpg'}"
    # plain text: a header per query
    code, out, _ = run(capsys, "--library", lib.directory, "similar", str(pizza), _a(tree, 2), "-k", "2")
    blocks = out.strip().split("\n\n")
    assert code == 0 and [b.splitlines()[0] for b in blocks] == [f"{pizza}:", f"{_a(tree, 2)}:"]
    assert all(len(b.splitlines()) == 3 for b in blocks)
