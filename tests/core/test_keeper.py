"""Keeper rules on hand-made photos: each rule decides when it comes first, guards are never
overridden silently, and groups hold each photo once with their exact copies marked."""
from __future__ import annotations

import os

from dataclasses import dataclass

import numpy as np
import pytest

from photosim.core.duplicates import DuplicateGroup, make_group
from support.reference import join_groups
from photosim.core.keeper import RULES, KeeperRules, format_family, rank
from photosim.core.types import Photo, PhotoState


def photo(id: int, w: int = 300, h: int = 200, path: str | None = None, **kw) -> Photo:
    base = dict(path=path or f"/p/IMG_{id}.jpg", size=1000, mtime_ns=1_000 + id, content_hash=f"h{id}", width=w,
                height=h, state=PhotoState.OK, format="JPEG", jpeg_quality=90, exif_tags=10)
    base.update(kw)
    return Photo(id=id, **base)


def keeper(photos, **rules) -> Photo:
    return rank(photos, KeeperRules(**rules)).photos[0]


def test_each_rule_decides_when_it_comes_first():
    big = photo(1, 400, 300, size=500)
    heavy = photo(2, 300, 200, size=9000)
    assert keeper([heavy, big], order=("resolution",)).id == 1
    assert keeper([big, heavy], order=("size",)).id == 2

    old = photo(3, taken_at="2015-01-01T10:00:00")
    new = photo(4, taken_at="2020-01-01T10:00:00")
    assert keeper([new, old], order=("date",)).id == 3
    assert keeper([old, new], order=("date",), newest=True).id == 4

    jpeg = photo(5, path="/p/a.jpg", format="JPEG")
    heic = photo(6, path="/p/a.heic", format="HEIF")
    png = photo(7, path="/p/a.png", format="PNG")
    dng = photo(8, path="/p/a.dng", format="JPEG")  # a RAW read through its embedded preview is still RAW
    assert format_family(dng) == "raw" and format_family(heic) == "heic"
    assert keeper([jpeg, png, heic, dng], order=("format",)).id == 8
    assert keeper([jpeg, png, heic], order=("format",)).id == 6
    assert keeper([jpeg, png], order=("format",), formats=("jpeg", "png")).id == 5

    a = photo(9, path="/photos/phone/x.jpg")
    b = photo(10, path="/photos/originals/x.jpg")
    assert keeper([a, b], order=("folder",), folders=("/photos/originals",)).id == 10
    assert keeper([b, a], order=("folder",), folders=("/photos/phone", "/photos/originals")).id == 9

    plain = photo(11, path="/p/beach.jpg", mtime_ns=9_000)
    copy = photo(12, path="/p/beach copy.jpg", mtime_ns=1)
    numbered = photo(13, path="/p/beach (1).jpg", mtime_ns=2)
    assert keeper([copy, numbered, plain], order=("name",)).id == 11
    assert keeper([copy, plain], order=("date",)).id == 12  # without the name rule, the older file


def test_rules_apply_in_the_persons_order_and_the_reason_names_the_deciding_rule():
    big_new = photo(1, 400, 300, taken_at="2021-05-01T10:00:00")
    small_old = photo(2, 300, 200, taken_at="2011-05-01T10:00:00")
    r = rank([small_old, big_new], KeeperRules(order=("resolution", "date")))
    assert r.photos[0].id == 1 and r.decided_by == "resolution"
    assert r.reason == "keep IMG_1.jpg (decided by resolution): IMG_2.jpg is smaller (300×200)"
    r = rank([small_old, big_new], KeeperRules(order=("date", "resolution")))
    assert r.photos[0].id == 2 and r.decided_by == "date" and "IMG_1.jpg is newer" in r.reason


def test_sharpness_is_used_when_measured():
    @dataclass(frozen=True)
    class Measured(Photo):
        sharpness: float | None = None

    base = dict(size=1000, content_hash=None, width=300, height=200, state=PhotoState.OK)
    soft = Measured(id=1, path="/p/1.jpg", mtime_ns=1, sharpness=2.0, **base)
    sharp = Measured(id=2, path="/p/2.jpg", mtime_ns=2, sharpness=9.0, **base)
    unknown = Measured(id=3, path="/p/3.jpg", mtime_ns=0, **base)
    r = rank([soft, unknown, sharp], KeeperRules(order=("sharpness",)))
    assert [p.id for p in r.photos] == [2, 1, 3] and "IMG" not in r.reason and "1.jpg is less sharp" in r.reason
    # Plain photos (no measure at all) tie on it and fall through to the next rule.
    assert keeper([photo(4, 300, 200), photo(5, 400, 300)], order=("sharpness", "resolution")).id == 5


def test_a_guard_beats_every_rule_and_the_reason_says_which():
    original = photo(1, 300, 200)
    upscaled = photo(2, 600, 400, size=50_000)
    grey = photo(3, 300, 200, grey=True, path="/p/best/grey.jpg")
    recompressed = photo(4, 300, 200, jpeg_quality=40, mtime_ns=10**12, exif_tags=40)
    for order in (("resolution",), ("size",), ("folder",), ("exif", "date")):
        r = rank([upscaled, grey, recompressed, original], KeeperRules(order=order, folders=("/p/best",), newest=True),
                 upscaled={2})
        assert r.photos[0].id == 1, order
        assert r.guards, order  # the rules alone preferred a derived copy: said in the reason
        assert "guard:" in r.reason and "so it is not kept though" in r.reason
        for p in (upscaled, grey, recompressed):  # each member's story is told once, not again after the head
            name = os.path.basename(p.path)
            assert r.reason.count(name) == 1, (order, r.reason)
    r = rank([upscaled, original], KeeperRules(order=("resolution",)), upscaled={2})
    # One sentence: the guard decided, and which rule it overrode.
    assert r.decided_by == "the upscale guard"
    assert r.reason == ("keep IMG_1.jpg (decided by the upscale guard: IMG_2.jpg is an upscaled copy "
                        "(600×400, no more detail), so it is not kept though resolution preferred it)")
    # No guard overrode anything: none is named in the head of the reason.
    r = rank([photo(5, 200, 100), photo(6, 300, 200)], KeeperRules(order=("resolution",)))
    assert "guard" not in r.reason and r.guards == []


def test_a_larger_photo_at_lower_quality_is_not_taken_for_a_recompressed_copy():
    small_sharp = photo(1, 300, 200, jpeg_quality=95, mtime_ns=1)
    large_later = photo(2, 600, 400, jpeg_quality=60, mtime_ns=2)
    assert keeper([small_sharp, large_later], order=("resolution",)).id == 2


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="unknown keeper rule 'biggest'"):
        KeeperRules(order=("biggest",))
    assert set(RULES) >= {"resolution", "size", "date", "format", "folder", "name", "sharpness", "exif"}


def test_each_photo_is_in_one_group_and_exact_copies_are_marked():
    # 1 and 2 share bytes; 3 is a re-encode of 1; 4-5 share bytes, alone; 6-7 near; 8 ~ 9 forbidden.
    same_bytes = [[1, 2], [4, 5]]
    pairs = [(1, 3, 0.95), (6, 7, 0.9), (8, 9, 0.9)]
    groups = join_groups(same_bytes, pairs, forbidden={(8, 9)})
    assert groups == [[1, 2, 3], [4, 5], [6, 7]]

    photos = [photo(1, 600, 400, content_hash="A"), photo(2, 600, 400, content_hash="A", path="/p/IMG_1 copy.jpg"),
              photo(3, 300, 200, content_hash="B", jpeg_quality=60)]
    vectors = {i: np.ones(4, np.float32) / 2 for i in (1, 2, 3)}
    g = make_group(None, photos, vectors)
    assert g.kind == "near" and g.keep.id == 1
    assert g.same_bytes == {2: 1}  # the byte copy is marked, pointing at the photo it repeats
    assert [p.id for p in g.removable] == [2, 3] and g.bytes_to_free == 2000
    exact = make_group(None, [photo(4, content_hash="C"), photo(5, content_hash="C")])
    assert exact.kind == "exact" and exact.same_bytes == {5: 4}


def test_a_group_may_keep_several_and_never_proposes_a_protected_photo():
    photos = [photo(1, 600, 400), photo(2, 500, 400), photo(3, 300, 200), photo(4, 200, 100)]
    g = make_group("raw+jpeg", photos, keep_count=2, protected={4})
    assert isinstance(g, DuplicateGroup) and g.kind == "raw+jpeg"
    assert [p.id for p in g.keepers] == [1, 2]
    assert [p.id for p in g.removable] == [3]  # 4 is protected: kept whatever its rank
    assert g.kept(photos[3]) and not g.kept(photos[2])
    assert g.reason.startswith("keep IMG_1.jpg, IMG_2.jpg (decided by resolution)")
    everything_protected = make_group(None, photos[:2], protected={1, 2})
    assert everything_protected.removable == [] and everything_protected.bytes_to_free == 0


def test_when_no_rule_separates_them_the_older_file_is_kept_and_said_so():
    a, b = photo(1, mtime_ns=5), photo(2, mtime_ns=9)
    r = rank([b, a], KeeperRules(order=("resolution",)))
    assert r.photos[0].id == 1 and r.decided_by == "the older file"
    assert r.reason == "keep IMG_1.jpg (decided by the older file): IMG_2.jpg is the same by every rule (kept the older file)"
