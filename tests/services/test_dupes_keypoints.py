"""The duplicate check runs on keypoints stored while indexing, so `dupes` need not read photos again.

Real photos, a real library and the real backbone: a photo, an 8%-cropped copy
and a greyscale copy among photos of the same classes.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from PIL import Image, ImageOps

from support.helpers import copy_photos  # noqa: E402

from photosim.core import verify  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.services.info import info  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.store import checks
from photosim.store import repositories as repo  # noqa: E402
from photosim.store.db import DB_NAME  # noqa: E402
from photosim.store.library import Library  # noqa: E402
from photosim.store.schema import SCHEMA_VERSION  # noqa: E402


def _tree_with_copies(tmp_path: Path) -> tuple[Path, Path, set[str]]:
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "pizza"), per_class=5)
    original = sorted((tree / "accordion").iterdir())[0]
    with Image.open(original) as im:
        w, h = im.size
        im.crop((round(w * 0.08), round(h * 0.08), w - round(w * 0.08), h - round(h * 0.08))).save(
            tree / "accordion" / "copy_cropped.jpg", quality=90)
        ImageOps.grayscale(im).save(tree / "accordion" / "copy_grey.jpg", quality=90)
    copies = {str(original), str(tree / "accordion" / "copy_cropped.jpg"), str(tree / "accordion" / "copy_grey.jpg")}
    return tree, original, copies


def _near_groups(lib: Library) -> list[set[str]]:
    return [{p.path for p in g.photos} for g in find_duplicates(lib) if g.kind == "near"]


def _scramble(tree: Path) -> None:
    """Overwrite every photo with zeros, keeping size and mtime: the library still thinks it knows them."""
    for f in tree.rglob("*.jpg"):
        st = f.stat()
        f.write_bytes(bytes(st.st_size))
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_dupes_confirms_copies_from_stored_keypoints_without_reading_the_photos(tmp_path: Path, engine):
    tree, _, copies = _tree_with_copies(tmp_path)
    lib = Library(str(tmp_path / "library"))
    try:
        report = index_folders(lib, [str(tree)], SimpleContext(), engine=engine)
        with lib.db.session() as s:
            ids = [p.id for p in repo.all_photos(s)]
            stored = checks.get_keypoints(s, ids)
        assert report.embedded == len(ids) == 12 and set(stored) == set(ids)
        assert all(verify.unpack(b).enough for b in stored.values())
        assert _near_groups(lib) == [copies]

        _scramble(tree)  # from now on a photo read from disk cannot be checked
        assert verify.load_grey(sorted(copies)[0]) is None
        assert _near_groups(lib) == [copies]

        # Without the stored keypoints the crop and the grey copy (similarity < 0.95) stay unconfirmed.
        with lib.db.session() as s:
            checks.put_keypoints(s, ids, [None] * len(ids))
        assert _near_groups(lib) == []
    finally:
        lib.close()


def test_library_from_schema_1_gets_keypoints_at_its_first_dupes(tmp_path: Path, engine):
    tree, _, copies = _tree_with_copies(tmp_path)
    lib = Library(str(tmp_path / "library"))
    index_folders(lib, [str(tree)], SimpleContext(), engine=engine)
    lib.close()
    con = sqlite3.connect(tmp_path / "library" / DB_NAME)  # what a first-release library looks like
    con.execute("DROP TABLE keypoints")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()

    lib = Library(str(tmp_path / "library"))
    try:
        assert lib.db.schema_version() == SCHEMA_VERSION
        with lib.db.session() as s:
            by_path = {p.path: p.id for p in repo.all_photos(s)}
            assert checks.get_keypoints(s, by_path.values()) == {}
        assert info(lib).with_keypoints == 0 and info(lib).indexed == 12  # what `photosim info` warns of
        assert _near_groups(lib) == [copies]  # read from the files this once
        with lib.db.session() as s:
            kept = checks.get_keypoints(s, by_path.values())
        assert {by_path[p] for p in copies} <= set(kept)
        _scramble(tree)
        assert _near_groups(lib) == [copies]  # and from the library from then on
    finally:
        lib.close()
