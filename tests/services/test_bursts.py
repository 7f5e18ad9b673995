"""Bursts and similar shots: kept apart from copies, with the best shot first.

The quality test builds the burst set of tests/burst_set.py (frames of a
scene a moment apart: camera moves, blur, defocus, exposure steps, a moving
object; plus edited copies of other photos) through the real services and the
real backbone, and asserts safety bounds: burst groups hold frames of one
scene, copies stay near-duplicates, and the best shot is mostly the untouched
frame. The other tests pin the capture-metadata rule and the grouping.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.burst_set import save_frame, build, defocus, exposure, score  # noqa: E402
from support.helpers import SHARED, caltech_or_skip  # noqa: E402
from support.reference import best_shot_order

from photosim.core import bursts  # noqa: E402
from photosim.core.types import Photo, PhotoState, SimpleContext  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.store.library import Library  # noqa: E402
from photosim.store.schema import SCHEMA_VERSION  # noqa: E402


def _photo(i: int, **kw) -> Photo:
    base = dict(id=i, path=f"/p/{i}.jpg", size=1000, mtime_ns=i, content_hash=str(i), width=400, height=300,
                state=PhotoState.OK, jpeg_quality=92)
    return Photo(**{**base, **kw})


def test_capture_metadata_decides_when_both_have_it():
    a = _photo(1, taken_at="2022-05-01T10:00:00", taken_subsec="12", camera="Canon EOS R5")
    assert bursts.classify(a, _photo(2, taken_at="2022-05-01T10:00:00", taken_subsec="12", camera="Canon EOS R5"),
                           None)[0] == "copy"
    kind, why = bursts.classify(a, _photo(3, taken_at="2022-05-01T10:00:00", taken_subsec="37",
                                          camera="Canon EOS R5"), None)
    assert kind == "burst" and "0.25 s apart" in why
    assert bursts.classify(a, _photo(4, taken_at="2022-05-01T10:00:02"), None)[0] == "burst"
    assert bursts.classify(a, _photo(5, taken_at="2022-05-01T10:00:00", taken_subsec="12", camera="Nikon Z 6"),
                           None)[0] == "burst"
    # The same second without sub-second digits decides nothing: the pictures do (here, alike: a copy).
    assert bursts.classify(_photo(6, taken_at="2022-05-01T10:00:00"), _photo(7, taken_at="2022-05-01T10:00:00"),
                           None)[0] == "copy"
    # Clearly blurrier at the same size and encoder settings, in the same second: another moment.
    same = dict(taken_at="2022-05-01T10:00:00")
    assert bursts.classify(_photo(8, sharpness=1.0, **same), _photo(9, sharpness=0.5, **same), None)[0] == "burst"
    # ... but not when one was recompressed (its sharpness measure moves either way).
    assert bursts.classify(_photo(8, sharpness=1.0, **same), _photo(9, sharpness=0.5, jpeg_quality=40, **same),
                           None)[0] == "copy"
    # Further apart than a burst: another visit to the scene, neither a copy nor a burst.
    kind, why = bursts.classify(a, _photo(10, taken_at="2022-05-01T10:05:00", camera="Canon EOS R5"), None)
    assert kind == "apart" and "5 min apart" in why


def test_a_photo_without_a_capture_time_is_never_a_burst_frame():
    """Another moment by the pictures, but one photo (or both) has no capture time: apart, not a burst."""
    blurred = _photo(9, sharpness=0.5)
    for a in (_photo(8, sharpness=1.0), _photo(8, sharpness=1.0, taken_at="2022-05-01T10:00:00")):
        kind, why = bursts.classify(a, blurred, None)
        assert kind == "apart" and "not a burst" in why
    moved = bursts.PairFacts(inliers=40, scale=1.0, outside_a=0.1, outside_b=0.1, keypoints_outside_a=5,
                             keypoints_outside_b=5, moved=0)
    assert bursts.classify(_photo(1), _photo(2), moved)[0] == "apart"
    assert bursts.classify(_photo(1, **same_second()), _photo(2, **same_second()), moved)[0] == "burst"


def same_second() -> dict:
    return {"taken_at": "2022-05-01T10:00:00"}


def test_units_keep_each_photo_in_one_group():
    # 1-2 copies; 2, 3, 4 frames of a burst; 5 is the camera JPEG of RAW 4; 6-7 a RAW + JPEG alone; 8-9 copies.
    found = bursts.sort_out(copies=[(1, 2), (8, 9)], bursts=[(2, 3), (3, 4)], raw_pairs=[(4, 5), (6, 7)])
    assert found.bursts == [[[1, 2], [3], [4, 5]]]
    assert found.paired == [[6, 7]] and found.near == [[8, 9]]
    # "Not duplicates" joins nothing directly.
    assert bursts.sort_out([(1, 2)], [(2, 3)], [], forbidden={(2, 3)}).bursts == []


def test_best_shot_is_sharpest_of_the_well_exposed():
    frames = [_photo(1, sharpness=0.9, exposure=-1.0), _photo(2, sharpness=1.2, exposure=0.2),
              _photo(3, sharpness=0.7, exposure=-1.1), _photo(4, sharpness=1.0, exposure=-0.9)]
    ranked = best_shot_order(frames)
    assert [p.id for p in ranked] == [4, 1, 3, 2]  # 2 is sharp but 1.1 stops brighter than the burst
    reason = bursts.best_shot_reason(ranked)
    assert reason.startswith("best shot 4.jpg") and "2.jpg is 1.1 stops brighter" in reason
    assert "3.jpg is less sharp (0.70)" in reason


def test_measures_follow_blur_and_light():
    with Image.open(caltech_or_skip() / "camera/image_0001.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    from photosim.core.verify import grey_at

    def measured(a: np.ndarray) -> tuple[float, float]:
        return bursts.measure(grey_at(Image.fromarray(a)))

    sharp, light = measured(arr)
    assert measured(defocus(arr, 2.0))[0] < 0.7 * sharp
    assert abs(measured(exposure(arr, -1.0))[1] - (light - 1.0)) < 0.25
    assert abs(measured(exposure(arr, -1.0))[0] - sharp) < 0.2 * sharp  # darker is not "less sharp"


def _exif_jpeg(arr: np.ndarray, path: Path, taken: str, subsec: str, camera: str = "Canon") -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = camera, f"{camera} EOS 5D"
    exif.get_ifd(0x8769).update({0x9003: taken, 0x9291: subsec})
    Image.fromarray(arr).save(path, "JPEG", quality=92, exif=exif.tobytes())


def test_a_tripod_bracket_is_a_burst_and_an_edited_copy_is_not(tmp_path: Path, library, engine):
    """Same framing, three exposures, three instants: only the metadata can tell; it says burst. A crop
    that kept the capture instant of its original is a copy, however it was edited."""
    with Image.open(caltech_or_skip() / "accordion/image_0005.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, (stops, sub) in enumerate(((0.0, "10"), (-0.7, "30"), (0.7, "50"))):
        _exif_jpeg(exposure(arr, stops), photos / f"IMG_{n}.jpg", "2023:08:01 09:15:42", sub)
    h, w = arr.shape[:2]
    _exif_jpeg(arr[h // 10:, w // 10:], photos / "IMG_0-crop.jpg", "2023:08:01 09:15:42", "10")
    report = index_folders(library, [str(photos)], SimpleContext(), engine=engine)
    assert report.embedded == 4
    groups = find_duplicates(library)
    assert [g.kind for g in groups] == ["burst"], [(g.kind, g.reason) for g in groups]
    names = [Path(p.path).name for p in groups[0].photos]
    assert names[0] == "IMG_0.jpg" and set(names) == {"IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg", "IMG_0-crop.jpg"}
    assert names[-1] == "IMG_0-crop.jpg"  # a copy of a frame, listed after the frames
    assert "s apart" in groups[0].reason and "IMG_0-crop.jpg is a copy of IMG_0.jpg" in groups[0].reason


def test_a_library_indexed_before_gets_its_measures(tmp_path: Path, engine):
    """Schema 4 adds the measures; a library from before has none until `dupes` measures a burst's frames."""
    caltech = caltech_or_skip()
    with Image.open(caltech / "pizza/image_0001.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    photos = tmp_path / "photos"
    photos.mkdir()
    h, w = arr.shape[:2]
    save_frame(arr[:, : w * 9 // 10], photos / "a.jpg")
    save_frame(defocus(arr[:, w // 10:], 2.5), photos / "b.jpg")
    lib = Library(str(tmp_path / "lib"))
    index_folders(lib, [str(photos)], SimpleContext(), engine=engine)
    lib.close()
    con = sqlite3.connect(tmp_path / "lib" / "library.db")
    for column in ("taken_subsec", "camera", "sharpness", "exposure"):
        con.execute(f"ALTER TABLE photos DROP COLUMN {column}")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    lib = Library(str(tmp_path / "lib"))
    try:
        assert lib.db.schema_version() == SCHEMA_VERSION
        groups = find_duplicates(lib)
        assert [g.kind for g in groups] == ["burst"]
        assert Path(groups[0].keep.path).name == "a.jpg" and "sharpness" in groups[0].reason
        assert all(p.sharpness is not None for p in find_duplicates(lib)[0].photos)  # kept
    finally:
        lib.close()


@pytest.mark.slow
def test_burst_quality_bounds(tmp_path: Path, engine):
    caltech_or_skip()
    bs = build(SHARED, tmp_path / "photos", scenes=50, distractors=120)
    lib = Library(str(tmp_path / "library"))
    try:
        report = index_folders(lib, [str(bs.folder)], SimpleContext(), engine=engine)
        assert report.failed == 0
        groups = find_duplicates(lib)
    finally:
        lib.close()
    s = score([(g.kind, [p.path for p in g.photos]) for g in groups], bs)
    print(f"\nbursts: {len(bs.references)} scenes; precision {s.precision:.4f} recall {s.recall:.4f} "
          f"({s.predicted} predicted, {s.true} true pairs); best shot {s.best_right}/{s.best_groups}; "
          f"frame pairs in near groups {s.moments_as_copies}; copies {s.copies}")
    assert s.precision >= 0.95
    assert s.recall >= 0.80
    assert s.best_right >= 0.8 * s.best_groups
    # Safety: few frames of a burst are taken for copies, and no edited copy for a burst frame.
    assert s.moments_as_copies <= 0.05 * s.true
    assert all(set(kinds) <= {"near", "none"} for kinds in s.copies.values()), s.copies


def test_the_shared_butterflies_without_capture_times_are_no_burst(tmp_path: Path, library, engine):
    """butterfly/image_0001.jpg (a photo) and image_0017.jpg (a labelled diagram of it) pass the geometric
    check, and the pictures say "the camera moved"; neither has a capture time, so they are no burst
    (a window once showed them as "2 frames of a burst")."""
    photos = tmp_path / "butterfly"
    photos.mkdir()
    for name in ("image_0001.jpg", "image_0017.jpg"):
        (photos / name).write_bytes((caltech_or_skip() / "butterfly" / name).read_bytes())
    index_folders(library, [str(photos)], SimpleContext(), engine=engine)
    assert [(g.kind, g.reason) for g in find_duplicates(library)] == []
