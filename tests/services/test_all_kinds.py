"""All four kinds of group in one real library: an exact pair, a near copy, a burst (with a byte copy of
one frame) and a RAW + its camera JPEG. Each photo is in one group of the right kind; a removal of
copies leaves every burst frame and both files of the pair; bursts are removed only when asked, keeping
the best shot; a RAW + JPEG pair only when a format rule and the kind are both asked for; trash refuses
the last frame of a burst and the last file of a pair; undo puts every byte back.

Real photos, real DNG (tests/raw_samples.py), a real library, the real backbone; files really move.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.burst_set import save_frame, defocus  # noqa: E402
from support.helpers import Recorder, copy_photos  # noqa: E402
from support.raw_samples import write_dng  # noqa: E402
from support.helpers import tree_digest

from photosim.cli import main  # noqa: E402
from photosim.services.wording import human_bytes as _size  # noqa: E402
from photosim.core.keeper import KeeperRules  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.store.library import Library  # noqa: E402


@pytest.fixture
def mixed(tmp_path: Path, engine, caltech):
    """photos/: 3 classes × 3 photos, plus
    - backup/<accordion first>: a byte copy of accordion's first (exact);
    - camera/small.jpg: a half-size re-encode of camera's first (near);
    - burst/frame-sharp.jpg, burst/later/frame-blurred.jpg (a shifted, defocused frame) and
      burst/later/frame-blurred copy.jpg, its byte copy (burst);
    - raw/IMG_0001.dng and raw/IMG_0001.JPG (raw+jpeg)."""
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "camera", "bonsai"), per_class=3)
    accordion = sorted((tree / "accordion").iterdir())[0]
    (tree / "backup").mkdir()
    shutil.copy2(accordion, tree / "backup" / accordion.name)
    camera = sorted((tree / "camera").iterdir())[0]
    with Image.open(camera) as im:
        im.resize((im.width // 2, im.height // 2)).save(tree / "camera" / "small.jpg", quality=85)
    # The burst and the RAW are made from photos that are not in the tree (else that photo would be a copy).
    with Image.open(caltech / "pizza" / "image_0001.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    (tree / "burst" / "later").mkdir(parents=True)
    w = arr.shape[1]
    save_frame(arr[:, : w * 9 // 10], tree / "burst" / "frame-sharp.jpg")
    save_frame(defocus(arr[:, w // 10:], 2.5), tree / "burst" / "later" / "frame-blurred.jpg")
    shutil.copy2(tree / "burst" / "later" / "frame-blurred.jpg", tree / "burst" / "later" / "frame-blurred copy.jpg")
    (tree / "raw").mkdir()
    with Image.open(caltech / "camera" / "image_0010.jpg") as im:
        picture = im.convert("RGB").resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC)
    write_dng(picture, tree / "raw" / "IMG_0001.dng", preview=True, taken="2021:06:05 14:03:22", subsec="37")
    picture.resize((picture.width // 2, picture.height // 2)).save(tree / "raw" / "IMG_0001.JPG", quality=90)
    lib = Library(str(tmp_path / "lib"))
    report = index_folders(lib, [str(tree)], Recorder(), engine=engine)
    assert report.failed == 0, report.errors
    lib.close()
    return str(tmp_path / "lib"), tree, accordion, camera


def names(group) -> list[str]:
    return [Path(p.path).name for p in group.photos]


def groups_of(lib_dir: str, **kw):
    lib = Library(lib_dir)
    try:
        return find_duplicates(lib, **kw)
    finally:
        lib.close()


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_each_photo_in_one_group_of_the_right_kind(mixed):
    lib, tree, accordion, camera = mixed
    groups = groups_of(lib)
    assert [g.kind for g in groups] == ["exact", "near", "burst", "raw+jpeg"], [(g.kind, names(g)) for g in groups]
    listed = [p.path for g in groups for p in g.photos]
    assert len(listed) == len(set(listed))  # no photo twice, whatever the kinds
    exact, near, burst, pair = groups
    assert set(names(exact)) == {accordion.name} and len(exact.photos) == 2
    assert set(names(near)) == {camera.name, "small.jpg"} and near.keep.path == str(camera)

    # The byte copy of a frame is inside the burst, marked, not an exact group of its own.
    assert names(burst)[0] == "frame-sharp.jpg" and burst.decided_by == "sharpness"
    assert set(names(burst)) == {"frame-sharp.jpg", "frame-blurred.jpg", "frame-blurred copy.jpg"}
    byid = {p.id: Path(p.path).name for p in burst.photos}
    copy = next(p for p in burst.photos if p.path.endswith("frame-blurred copy.jpg"))
    assert byid[burst.same_bytes[copy.id]] == byid[burst.copy_of[copy.id]] == "frame-blurred.jpg"
    assert burst.reason.startswith("best shot frame-sharp.jpg") and "is a copy of frame-blurred.jpg" in burst.reason
    assert [Path(p.path).name for p in burst.keepers] == ["frame-sharp.jpg"]

    # Both files of the pair are kept by default.
    assert names(pair) == ["IMG_0001.dng", "IMG_0001.JPG"] and pair.reason.startswith("RAW + JPEG pair")
    assert len(pair.keepers) == 2 and pair.removable == [] and pair.bytes_to_free == 0


def test_keeper_rules_choose_inside_a_burst_but_sharpness_comes_first_by_default(mixed):
    lib, tree, *_ = mixed
    later = str(tree / "burst" / "later")
    burst = next(g for g in groups_of(lib, rules=KeeperRules(order=("folder", "sharpness", "name"), folders=(later,)))
                 if g.kind == "burst")
    assert names(burst)[0] == "frame-blurred.jpg" and burst.decided_by == "folder"
    burst = next(g for g in groups_of(lib, rules=KeeperRules(order=("folder", "name"), folders=(later,)))
                 if g.kind == "burst")
    assert names(burst)[0] == "frame-sharp.jpg"  # sharpness not placed by the person: it comes first


def test_removal_of_copies_leaves_bursts_and_pairs_then_bursts_keep_the_best_shot_and_undo_restores_all(
        mixed, capsys, tmp_path):
    lib, tree, accordion, camera = mixed
    before = tree_digest(tree)
    frames_and_pair = [tree / "burst" / "frame-sharp.jpg", tree / "burst" / "later" / "frame-blurred.jpg",
                       tree / "raw" / "IMG_0001.dng", tree / "raw" / "IMG_0001.JPG"]

    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "moved 3 photo(s)" in out, out
    assert not (tree / "backup" / accordion.name).exists() and not (tree / "camera" / "small.jpg").exists()
    assert not (tree / "burst" / "later" / "frame-blurred copy.jpg").exists()  # a copy of a frame: a copy
    assert all(p.exists() for p in frames_and_pair) and accordion.exists() and camera.exists()
    assert [g.kind for g in groups_of(lib)] == ["burst", "raw+jpeg"]
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and "nothing to remove" in out

    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--kind", "burst", "--yes")
    assert code == 0 and "moved 1 photo(s)" in out
    assert (tree / "burst" / "frame-sharp.jpg").exists()
    assert not (tree / "burst" / "later" / "frame-blurred.jpg").exists()
    assert all(p.exists() for p in frames_and_pair[2:])

    # The last frame left is refused by trash, as a last copy is.
    code, _, err = run(capsys, "--library", lib, "trash", str(tree / "burst" / "frame-sharp.jpg"))
    assert code == 2 and "every frame of a burst" in err and "last one" in err

    csv_path = tmp_path / "groups.csv"
    assert run(capsys, "--library", lib, "dupes", "--csv", str(csv_path))[0] == 0
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert sorted(r["kind"] for r in rows) == ["raw+jpeg", "raw+jpeg"] and all(r["keeper"] == "yes" for r in rows)

    for _ in range(2):  # one undo step per removal
        assert run(capsys, "--library", lib, "undo")[0] == 0
    assert tree_digest(tree) == before
    assert [g.kind for g in groups_of(lib)] == ["exact", "near", "burst", "raw+jpeg"]


def test_a_raw_and_its_jpeg_go_only_by_a_format_rule_and_the_kind_asked_for(mixed, capsys):
    lib, tree, *_ = mixed
    before = tree_digest(tree)
    raw, jpeg = tree / "raw" / "IMG_0001.dng", tree / "raw" / "IMG_0001.JPG"
    code, out, err = run(capsys, "--library", lib, "dupes", "--remove-copies", "--kind", "raw+jpeg", "--yes")
    assert code == 0 and "nothing to remove" in out and "'format' keeper rule" in err
    assert raw.exists() and jpeg.exists()

    code, _, err = run(capsys, "--library", lib, "trash", str(raw), str(jpeg))
    assert code == 2 and "both files of a RAW + JPEG pair" in err and raw.exists() and jpeg.exists()

    assert run(capsys, "--library", lib, "dupes", "--keep-rules", "format,resolution")[0] == 0
    pair = next(g for g in groups_of(lib) if g.kind == "raw+jpeg")
    assert len(pair.keepers) == 2 and pair.keep_when_asked == 1  # still both kept by default
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--yes")
    assert code == 0 and raw.exists() and jpeg.exists()  # a removal of copies never takes either

    assert run(capsys, "--library", lib, "config", "dupes.format_order", "jpeg,raw")[0] == 0
    code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--kind", "raw+jpeg", "--yes")
    assert code == 0 and "moved 1 photo(s)" in out and jpeg.exists() and not raw.exists()
    code, _, err = run(capsys, "--library", lib, "trash", str(jpeg))
    assert code == 2 and "both files of a RAW + JPEG pair" in err and jpeg.exists()

    for _ in range(2):
        assert run(capsys, "--library", lib, "undo")[0] == 0
    assert tree_digest(tree) == before


def test_json_and_listing_mark_copies_inside_a_burst(mixed, capsys):
    lib, tree, *_ = mixed
    import json

    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    burst = next(g for g in json.loads(out) if g["kind"] == "burst")
    blurred = str(tree / "burst" / "later" / "frame-blurred.jpg")
    copy = next(p for p in burst["photos"] if p["path"].endswith("frame-blurred copy.jpg"))
    assert copy["copy_of"] == copy["exact_copy_of"] == blurred and not copy["keep"]
    pair = next(g for g in json.loads(out) if g["kind"] == "raw+jpeg")
    assert len(pair["keepers"]) == 2 and pair["bytes_to_free"] == 0
    code, out, _ = run(capsys, "--library", lib, "dupes")
    assert "(burst): best shot frame-sharp.jpg" in out and "(raw+jpeg): RAW + JPEG pair: keep both" in out
    assert "IMG_0001.JPG [kept]" in out


def test_similar_shows_each_capture_once_and_each_burst_frame_apart(mixed):
    """`similar` collapses what one capture left (byte copies, re-encodes, a RAW and its camera JPEG)
    into one result, as `dupes` groups them; two frames of a burst are different moments and stay two
    results, also when they are alike enough to be near-duplicate candidates."""
    from photosim.services.calibration import duplicate_threshold, set_duplicate_threshold
    from photosim.services.similar import similar, similar_answer

    lib_dir, tree, accordion, camera = mixed
    sharp = str(tree / "burst" / "frame-sharp.jpg")
    later = tree / "burst" / "later"
    blurred, copy = str(later / "frame-blurred.jpg"), str(later / "frame-blurred copy.jpg")
    lib = Library(lib_dir)
    try:
        every = {n.photo.path: n.cosine for n in similar(lib, sharp, k=20, all_copies=True)}
        # The library's threshold just under the frames' similarity: they are a candidate pair that the
        # geometric check confirms, so only the sorting into copies and frames can keep them apart.
        set_duplicate_threshold(lib, round(every[blurred] - 0.01, 4))
        threshold = duplicate_threshold(lib).value
        assert every[blurred] >= threshold
        burst = next(g for g in find_duplicates(lib, threshold) if g.kind == "burst")
        assert set(names(burst)) == {"frame-sharp.jpg", "frame-blurred.jpg", "frame-blurred copy.jpg"}

        answer = similar_answer(lib, sharp, k=5)
        shown = {n.photo.path: n for n in answer.results}
        assert blurred in shown or copy in shown  # the other moment is a result of its own ...
        frame = shown.get(blurred) or shown[copy]
        assert {frame.photo.path} | {c.photo.path for c in frame.copies} == {blurred, copy}  # ... with its copy
        assert answer.query_copies == []  # the best shot has no copy: the other frame is none
        answer = similar_answer(lib, blurred, k=5)
        assert [c.photo.path for c in answer.query_copies] == [copy] and sharp in {n.photo.path for n in answer.results}

        # Copies of one picture, exact and near, and a RAW with its camera JPEG: each one result.
        dng, jpg = str(tree / "raw" / "IMG_0001.dng"), str(tree / "raw" / "IMG_0001.JPG")
        assert [c.photo.path for c in similar_answer(lib, jpg, k=3).query_copies] == [dng]
        assert [c.photo.path for c in similar_answer(lib, str(camera), k=3).query_copies] == \
            [str(tree / "camera" / "small.jpg")]
        assert [c.photo.path for c in similar_answer(lib, str(accordion), k=3).query_copies] == \
            [str(tree / "backup" / accordion.name)]
    finally:
        lib.close()


def test_csv_sizes_are_what_the_removals_would_free(mixed, capsys, tmp_path):
    """The CSV's freed_by_default adds up to the dry run of the default removal (copies only, the burst's
    byte copy of a frame included, never a frame nor the RAW + JPEG pair); freed_by_kind on the burst's
    rows to the dry run of `--kind burst`."""
    lib, tree, *_ = mixed
    csv_path = tmp_path / "groups.csv"
    assert run(capsys, "--library", lib, "dupes", "--csv", str(csv_path))[0] == 0
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))

    def would_move(*kind: str) -> tuple[set[str], str]:
        code, out, _ = run(capsys, "--library", lib, "dupes", "--remove-copies", "--dry-run", *kind)
        assert code == 0 and "nothing moved" in out
        moved = {line.split("would move: ")[1].split("  (keeping")[0] for line in out.splitlines()
                 if line.startswith("would move: ")}
        return moved, out.splitlines()[-1]

    def total(column: str, kind: str | None = None) -> tuple[set[str], int]:
        chosen = [r for r in rows if int(r[column]) and kind in (None, r["kind"])]
        return {r["path"] for r in chosen}, sum(int(r[column]) for r in chosen)

    moved, summary = would_move()
    paths, freed = total("freed_by_default")
    assert paths == moved and len(moved) == 3, (paths, moved)  # backup copy, small.jpg, the frame's byte copy
    assert str(tree / "burst" / "later" / "frame-blurred copy.jpg") in paths
    assert f"would move 3 photo(s), {_size(freed)}," in summary, summary
    assert not any(int(r["freed_by_default"]) for r in rows if r["kind"] == "raw+jpeg")

    moved, summary = would_move("--kind", "burst")
    paths, freed = total("freed_by_kind", "burst")
    assert paths == moved == {str(tree / "burst" / "later" / n) for n in ("frame-blurred.jpg", "frame-blurred copy.jpg")}
    assert f"would move 2 photo(s), {_size(freed)}," in summary, summary
    sizes = {r["path"]: int(r["size"]) for r in rows}
    assert freed == sum(sizes[p] for p in moved)

    # --json carries the same figures a group.
    import json

    code, out, _ = run(capsys, "--library", lib, "dupes", "--json")
    groups = json.loads(out)
    assert sum(g["freed_by_default"] for g in groups) == total("freed_by_default")[1]
    burst = next(g for g in groups if g["kind"] == "burst")
    assert burst["freed_by_kind"] == freed and burst["freed_by_default"] == sizes[
        str(tree / "burst" / "later" / "frame-blurred copy.jpg")] < burst["bytes_to_free"]
