"""Near-duplicate quality at the shipped defaults, through the real services and the real backbone.

The set (tests/near_duplicate_set.py): every third usable shared photo gets
1–3 variants (JPEG q35, half size, 8% crop, EXIF-6 rotation, brightness and
contrast, a captioned box, a letterbox, greyscale); every other photo is a
distractor of the same classes. Pairwise precision and recall over all pairs
inside the predicted groups.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from support.helpers import SHARED, caltech_or_skip  # noqa: E402
from support.near_duplicate_set import MIN_BASES, build, pair_scores  # noqa: E402

from photosim.core.duplicates import DEFAULT_THRESHOLD  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.services.duplicates import find_duplicates  # noqa: E402
from photosim.store.library import Library  # noqa: E402


@pytest.mark.slow
def test_near_duplicates_precision_and_recall(tmp_path: Path, engine):
    caltech_or_skip()
    ds = build(SHARED, tmp_path / "photos")
    assert ds.bases >= MIN_BASES and ds.distractors > ds.bases
    lib = Library(str(tmp_path / "library"))
    try:
        report = index_folders(lib, [str(ds.folder)], SimpleContext(), engine=engine)
        assert report.failed == 0 and report.embedded == len(ds.group_of)
        groups = find_duplicates(lib, DEFAULT_THRESHOLD)
    finally:
        lib.close()
    precision, recall, predicted, true = pair_scores([[p.path for p in g.photos] for g in groups],
                                                     ds.true_pairs())
    print(f"\nnear-duplicates: {ds.bases} bases, {ds.distractors} distractors, {len(ds.group_of)} files; "
          f"{len(groups)} groups; precision {precision:.4f} recall {recall:.4f} ({predicted} predicted pairs, "
          f"{true} true pairs)")
    assert precision >= 0.97
    assert recall >= 0.90
    # Edited copies are copies: none of them is taken for another moment of a burst.
    assert [g.kind for g in groups if g.kind not in ("exact", "near")] == []
    # Every group names a keeper and says why, in words.
    assert all(g.reason.startswith("keep ") for g in groups)
