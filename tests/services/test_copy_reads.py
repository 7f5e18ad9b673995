"""The reads `similar` makes to fold copies ask for the candidates only, and answer as reading
everything would: "not duplicates" marks touching some photos, and which of some photos are RAW
files — on a real SQLite library."""
from __future__ import annotations

import numpy as np

from photosim.core.types import DecodedPhoto
from photosim.store import checks
from photosim.store import repositories as repo
from photosim.store.library import Library


def _photo(n: int, fmt: str) -> DecodedPhoto:
    return DecodedPhoto(path=f"/photos/{n:03d}.{fmt.lower()}", size=1000 + n, mtime_ns=n, content_hash=f"{n:032x}",
                        pixels=np.zeros((1, 1, 3), np.uint8), width=40, height=30, format=fmt)


def test_marks_and_raws_of_a_few_photos_match_the_whole_table(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        ids = repo.upsert_decoded_many(s, [_photo(n, "NEF" if n % 3 == 0 else "JPEG") for n in range(12)])
    marked = [(ids[0], ids[1]), (ids[2], ids[3]), (ids[1], ids[5]), (ids[7], ids[8])]
    with lib.db.session() as s:
        for a, b in marked:
            repo.add_not_duplicate(s, a, b)
    with lib.db.session() as s:
        every = repo.not_duplicate_pairs(s)
        for some in ({ids[1]}, {ids[3], ids[8]}, {ids[10]}, set(ids), set()):
            assert repo.not_duplicate_pairs_touching(s, some) == {p for p in every if p[0] in some or p[1] in some}
        assert repo.not_duplicate_pairs_touching(s, {ids[1]}) == {(ids[0], ids[1]), (ids[1], ids[5])}
        assert repo.ids_of_formats(s, {"NEF"}, ids[1:8]) == [ids[3], ids[6]]
        assert repo.ids_of_formats(s, {"NEF", "CR2"}, []) == []
    lib.close()


def test_verdicts_among_some_photos_match_the_whole_table_and_name_current_bytes_only(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with lib.db.session() as s:
        ids = repo.upsert_decoded_many(s, [_photo(n, "JPEG") for n in range(1200)])
    rng = np.random.default_rng(0)
    pairs = {tuple(sorted(int(x) for x in rng.choice(ids, 2, replace=False))) for _ in range(3000)}
    digest = {i: f"{n:032x}" for n, i in enumerate(ids)}
    verdicts = [(a, b, digest[a], digest[b], (a * b) % 50, "copy" if (a + b) % 7 == 0 else None) for a, b in pairs]
    stale = (ids[0], ids[1], "f" * 32, digest[ids[1]], 99, None)  # made on bytes photo 0 no longer holds
    with lib.db.session() as s:
        checks.put_pair_checks(s, verdicts + [stale])
    every = {v[:2]: v for v in verdicts}
    with lib.db.session() as s:
        assert {v[:2]: (*v[:4], v[4]) for v in checks.all_pair_checks(s)} == {k: v[:5] for k, v in every.items()}
        for some in (ids[:40], ids[::3], ids):  # one statement, and the chunked read of a large batch
            want = {k: v for k, v in every.items() if k[0] in set(some) and k[1] in set(some)}
            assert {v[:2]: v for v in checks.pair_checks_among(s, some)} == want
    # A verdict written again without a kind keeps the kind known for the same bytes.
    a, b = next((v[0], v[1]) for v in verdicts if v[5] == "copy")
    with lib.db.session() as s:
        checks.put_pair_checks(s, [(a, b, digest[a], digest[b], 31, None)])
        assert checks.pair_checks_among(s, [a, b]) == [(a, b, digest[a], digest[b], 31, "copy")]
        repo.delete_photos(s, [a])
        assert checks.pair_checks_among(s, [a, b]) == []
    lib.close()
