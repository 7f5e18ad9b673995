"""Duplicate grouping on toy values, the keeper rule on hand-made photos, the geometric check on real ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from photosim.core import verify
from photosim.core.duplicates import (UnionFind, added_border, choose_keeper, confirm_pairs, detail_ratio,
                                      exact_groups, near_pairs, upscaled_members)
from support.reference import group_pairs
from photosim.core.types import Photo, PhotoState


def photo(id: int, w: int = 300, h: int = 200, **kw) -> Photo:
    base = dict(path=f"/p/IMG_{id}.jpg", size=1000, mtime_ns=1_000 + id, content_hash=f"h{id}", width=w, height=h,
                state=PhotoState.OK, format="JPEG", jpeg_quality=90, exif_tags=10)
    base.update(kw)
    return Photo(id=id, **base)


# ---- grouping ---------------------------------------------------------------------------------

def test_exact_groups_share_bytes_only():
    photos = [photo(1, content_hash="a"), photo(2, content_hash="b"), photo(3, content_hash="a"),
              photo(4, content_hash=None), photo(5, content_hash=None), photo(6, content_hash="b"),
              photo(7, content_hash="c")]
    groups = sorted(exact_groups({p.id: p.content_hash for p in photos}))
    assert groups == [[1, 3], [2, 6]]  # no hash (never read) is never "the same bytes"


def test_union_find_joins_chains_and_keeps_singletons_out():
    uf = UnionFind()
    for a, b in [(1, 2), (3, 4), (2, 3), (10, 11)]:
        uf.union(a, b)
    uf.find(99)
    assert sorted(uf.groups()) == [[1, 2, 3, 4], [10, 11]]


def test_near_pairs_from_knn_table_dedupes_and_thresholds():
    ids = np.array([10, 20, 30])
    nid = np.array([[10, 20, 30], [20, 10, 30], [30, 20, 10]])
    nsim = np.array([[1.0, 0.95, 0.5], [1.0, 0.93, 0.7], [1.0, 0.7, 0.5]], np.float32)
    pairs = sorted(near_pairs(ids, nid, nsim, 0.7))
    assert [(a, b) for a, b, _ in pairs] == [(10, 20), (20, 30)]
    assert pairs[0][2] == pytest.approx(0.95)  # the larger of the two directions


def test_near_pairs_lower_bar_only_between_a_greyscale_and_a_colour_photo():
    ids = np.array([1, 2, 3, 4])
    nid = np.array([[2], [3], [4], [1]])
    nsim = np.array([[0.75], [0.75], [0.75], [0.65]], np.float32)
    grey = {2: True, 4: True}
    # 1-2 and 2-3 and 3-4 mix grey and colour: 0.75 reaches 0.80 - 0.10; 4-1 (0.65) does not.
    assert sorted((a, b) for a, b, _ in near_pairs(ids, nid, nsim, 0.80, grey)) == [(1, 2), (2, 3), (3, 4)]
    grey_pair = {1: True, 2: True, 3: True, 4: True}  # all grey: no allowance, same as colour
    assert near_pairs(ids, nid, nsim, 0.80, grey_pair) == []
    assert near_pairs(ids, nid, nsim, 0.80) == []


def test_group_pairs_never_joins_a_forbidden_pair_directly():
    pairs = [(1, 2, 0.9), (3, 4, 0.9), (5, 6, 0.9)]
    assert sorted(group_pairs(pairs, {(3, 4)})) == [[1, 2], [5, 6]]


def test_confirm_pairs_checks_best_first_and_skips_pairs_already_joined():
    # 1-2-3 are copies (all pairs candidates), 4 only looks like them.
    pairs = [(1, 2, 0.99), (1, 3, 0.97), (2, 3, 0.96), (3, 4, 0.92), (5, 6, 0.98)]
    inliers = {(1, 2): 200, (1, 3): 150, (2, 3): 140, (3, 4): 5}
    calls = []

    def check(a, b):
        calls.append((a, b))
        return inliers.get((a, b))  # (5, 6): cannot be checked

    kept = confirm_pairs(pairs, check, min_inliers=30, unverified_threshold=0.95)
    assert sorted((a, b) for a, b, _ in kept) == [(1, 2), (1, 3), (5, 6)]
    assert (2, 3) not in calls  # already joined through 1
    assert sorted(group_pairs(kept, set())) == [[1, 2, 3], [5, 6]]
    # A pair that cannot be checked needs the strict similarity.
    assert confirm_pairs([(5, 6, 0.94)], check, unverified_threshold=0.95) == []
    # A forbidden pair is never checked nor kept.
    assert confirm_pairs([(1, 2, 0.99)], check, forbidden={(1, 2)}) == []


def test_confirm_pairs_stops_checking_a_photo_after_its_failed_checks():
    # Photo 1 looks like 2, 3, 4 (a burst: none is a copy) and like its copy 5; 6-7 are copies.
    pairs = [(1, 2, 0.95), (1, 3, 0.94), (1, 4, 0.93), (1, 5, 0.90), (6, 7, 0.85)]
    inliers = {(1, 5): 120, (6, 7): 90}
    calls = []

    def check(a, b):
        calls.append((a, b))
        return inliers.get((a, b), 4)

    kept = confirm_pairs(pairs, check, min_inliers=20, max_failed=2)
    assert calls == [(1, 2), (1, 3), (6, 7)]  # 1 failed twice: its weaker candidates are skipped
    assert [(a, b) for a, b, _ in kept] == [(6, 7)]
    kept = confirm_pairs(pairs, check, min_inliers=20, max_failed=4)
    assert sorted((a, b) for a, b, _ in kept) == [(1, 5), (6, 7)]


# ---- keeper rule ------------------------------------------------------------------------------

def test_white_background_original_is_not_bordered_but_a_letterboxed_copy_is():
    original = photo(1, 300, 200, border=0.20)          # a product on white: 40 flat rows
    letterbox = photo(2, 300, 250, border=0.36)         # + 25 black rows top and bottom: (50 + 40) / 250
    crop = photo(3, 252, 168, border=0.048)             # 8% cut from each side: fewer flat rows
    recompressed = photo(4, 300, 200, border=0.20, jpeg_quality=35)
    assert added_border(letterbox, original)
    assert not added_border(original, letterbox)
    assert not added_border(original, crop) and not added_border(crop, original)
    assert not added_border(original, recompressed)
    ranked, why = choose_keeper([letterbox, crop, recompressed, original])
    # Underived copies first (the crop lost pixels, nothing was done to it), then the derived ones.
    assert [p.id for p in ranked] == [1, 3, 4, 2]
    # The rules alone would keep the taller letterbox: the guard says so in the reason.
    # One sentence: the rule that decided, then the guard that applied, each member's story told once.
    assert why.startswith("keep IMG_1.jpg (decided by resolution, after the border guard: IMG_2.jpg has an added "
                          "border, so it is not kept though resolution preferred it): ")
    assert why.count("IMG_2.jpg") == 1
    assert "IMG_3.jpg is smaller (252×168)" in why
    assert "IMG_4.jpg is a later, more compressed copy (JPEG quality ≈35)" in why


def test_a_border_on_a_flat_original_and_a_pillarbox_are_not_confused():
    # Same picture size and same flat fraction: nothing was added.
    assert not added_border(photo(1, 300, 200, border=0.3), photo(2, 300, 200, border=0.3))
    # Taller, but the extra height is not flat: a different crop, not a border.
    assert not added_border(photo(1, 300, 250, border=0.0), photo(2, 300, 200, border=0.0))


def test_keeper_original_over_upscaled_and_grey_copies_then_exif_then_oldest():
    original = photo(1, 300, 200)
    upscaled = photo(2, 600, 400)
    grey = photo(3, 300, 200, grey=True)
    ranked, why = choose_keeper([upscaled, grey, original], upscaled={2})
    assert [p.id for p in ranked] == [1, 3, 2]
    assert "IMG_2.jpg is an upscaled copy (600×400, no more detail)" in why
    assert "IMG_3.jpg is a greyscale copy" in why
    # Without the measurement the bigger file would win: the rule needs it.
    assert choose_keeper([upscaled, original])[0][0].id == 2

    stripped = photo(4, exif_tags=2, mtime_ns=1)      # oldest file, but its EXIF was stripped
    full = photo(5, exif_tags=30, mtime_ns=9)
    ranked, why = choose_keeper([stripped, full])
    assert ranked[0].id == 5 and "IMG_4.jpg has less EXIF (2 tags against 30)" in why

    older = photo(6, taken_at="2019-05-01T10:00:00")
    newer = photo(7, taken_at="2019-05-01T10:00:00", mtime_ns=10**12)
    ranked, why = choose_keeper([newer, older])
    assert ranked[0].id == 6 and "IMG_7.jpg is newer" in why
    # A photo that is grey in every copy is not a "grey copy".
    assert choose_keeper([photo(8, grey=True, exif_tags=1), photo(9, grey=True)])[0][0].id == 9


def test_being_the_original_comes_before_exif():
    original = photo(1, jpeg_quality=85, exif_tags=3)
    recompressed = photo(2, jpeg_quality=40, exif_tags=30)  # later and clearly lower: a shared copy
    ranked, why = choose_keeper([recompressed, original])
    assert ranked[0].id == 1 and "IMG_2.jpg is a later, more compressed copy (JPEG quality ≈40)" in why
    # A later export at higher quality is no better than its older source: EXIF, then age, decide.
    older_source = photo(3, jpeg_quality=50, exif_tags=0, mtime_ns=1)
    export = photo(4, jpeg_quality=95, exif_tags=1, mtime_ns=2)  # an editor wrote only Orientation
    ranked, why = choose_keeper([export, older_source])
    assert ranked[0].id == 3 and "IMG_4.jpg is newer" in why
    # A few points of quality mean nothing; EXIF decides.
    assert choose_keeper([photo(5, jpeg_quality=85, exif_tags=3), photo(6, jpeg_quality=78, exif_tags=30)])[0][0].id == 6


# ---- on real photos ---------------------------------------------------------------------------

def test_detail_ratio_finds_an_upscaled_copy(caltech: Path):
    src = Image.open(sorted((caltech / "elephant").iterdir())[0]).convert("L")
    up = src.resize((src.width * 2, src.height * 2), Image.Resampling.BICUBIC)
    half = src.resize((src.width // 2, src.height // 2), Image.Resampling.LANCZOS)
    detail = {1: detail_ratio(np.asarray(src)), 2: detail_ratio(np.asarray(up)), 3: detail_ratio(np.asarray(half))}
    members = [photo(1, *src.size), photo(2, *up.size), photo(3, *half.size)]
    assert upscaled_members(members, detail) == {2}


def test_geometric_check_tells_a_copy_from_another_photo_of_the_same_thing(caltech: Path, tmp_path: Path):
    files = sorted((caltech / "grand_piano").iterdir())
    src = ImageOps.grayscale(Image.open(files[0]))
    w, h = src.size
    crop = src.crop((round(w * 0.08), round(h * 0.08), w - round(w * 0.08), h - round(h * 0.08)))
    crop.save(tmp_path / "crop.jpg", quality=60)
    a, b, other = (verify.keypoints(verify.load_grey(str(p))) for p in (files[0], tmp_path / "crop.jpg", files[1]))
    assert a.enough and b.enough and other.enough
    assert verify.inliers(a, b) >= 60
    assert verify.inliers(a, other) < 25
    assert verify.load_grey(str(tmp_path / "missing.jpg")) is None


def test_jpeg_quality_estimate_matches_the_encoder(caltech: Path, tmp_path: Path):
    """The keeper rule compares JPEG qualities, so the decoder's estimate must be on the encoder's scale."""
    from photosim.core.decode import decode_file

    src = Image.open(sorted((caltech / "lamp").iterdir())[0]).convert("RGB")
    for q in (35, 50, 75, 95):
        src.save(tmp_path / f"q{q}.jpg", quality=q)
        assert abs(decode_file(str(tmp_path / f"q{q}.jpg")).jpeg_quality - q) <= 2


def _as_photo(id: int, path: Path) -> Photo:
    from photosim.core.decode import decode_file

    d = decode_file(str(path))
    return photo(id, d.width, d.height, path=str(path), grey=d.grey, border=d.border, jpeg_quality=d.jpeg_quality)


def test_decoder_facts_feed_the_rule_on_a_white_background_product_shot(tmp_path: Path):
    # A colour product on white (flat rows above and below it), its letterboxed and greyscale copies.
    im = Image.new("RGB", (300, 200), "white")
    rng = np.random.default_rng(0)
    im.paste(Image.fromarray(rng.integers(0, 255, (80, 120, 3), dtype=np.uint8)), (90, 60))
    im.save(tmp_path / "original.jpg", quality=90)
    box = Image.new("RGB", (300, 250), "black")
    box.paste(im, (0, 25))
    box.save(tmp_path / "letterbox.jpg", quality=90)
    ImageOps.grayscale(im).convert("RGB").save(tmp_path / "grey.jpg", quality=90)
    original, letterbox, grey = (_as_photo(i, tmp_path / n) for i, n in
                                 enumerate(("original.jpg", "letterbox.jpg", "grey.jpg"), 1))
    assert original.border > 0.5 and not original.grey  # flat white rows, a little colour: still colour
    assert grey.grey
    assert added_border(letterbox, original) and not added_border(original, letterbox)
    ranked, why = choose_keeper([letterbox, grey, original])
    assert ranked[0].id == 1
    assert "letterbox.jpg has an added border" in why and "grey.jpg is a greyscale copy" in why
