"""Hostile files mixed into real photos: indexing finishes, every good photo is embedded,
every bad one is reported with a reason a person understands, and nothing prints a traceback.

The indexer runs as `photosim index` in a subprocess (as an unprivileged user when the
tests run as root, so a mode-000 file really cannot be read), exactly as a user runs it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from photosim.core.decode import decode_file
from photosim.core.types import DecodedPhoto, PhotoState
from photosim.store import repositories as repo
from photosim.store.library import Library

from support.fault_corpus import NON_UTF8_NAME, make_corpus
from support.helpers import caltech_or_skip

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
pytestmark = pytest.mark.slow  # one index run over the corpus, a 300-megapixel JPEG included

#: What a person must be told for each kind of bad file (a word of the reason).
EXPECTED_REASON = {
    "zero-byte file": "empty",
    "truncated JPEG (a third of its bytes)": "truncated",
    "text file named .jpg": "not an image",
    "HTML file named .jpg": "not an image",
    "decompression bomb (PNG declaring 60000x60000)": "too large",
    "PNG with a broken checksum": "checksum",
    "file without read permission": "permission denied",
    "dangling symlink": "broken link",
    "symlink loop (file pointing at itself)": "loop",
    "named pipe called .jpg": "not a regular file",
}


def unprivileged_prefix() -> tuple[list[str], str | None]:
    """How to run a command so that file permissions apply: ([] when we are not root)."""
    if os.geteuid() != 0:
        return [], None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return [], "running as root and setpriv is not available: cannot test an unreadable file"
    probe = subprocess.run([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return [], f"running as root and cannot drop to an unprivileged user ({probe.stderr.decode().strip()})"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"], None


def photosim(prefix: list[str], library: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = prefix + [sys.executable, "-m", "photosim.cli", "--library", str(library), *args]
    return subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def bad_run(engine):
    """One index run over real photos and the whole corpus (the 300-megapixel JPEG included)."""
    src = caltech_or_skip()
    work = Path(tempfile.mkdtemp(prefix="photosim-bad-input-", dir="/tmp"))
    os.chmod(work, 0o755)  # the unprivileged indexer must reach the photos and the library
    try:
        real = work / "photos" / "real"
        real.mkdir(parents=True)
        originals = []
        for cls in ("accordion", "camera", "pizza"):
            for f in sorted((src / cls).iterdir())[:4]:
                shutil.copy2(f, real / f"{cls}_{f.name}")
                originals.append(f)
        corpus = make_corpus(work / "photos" / "corpus", originals[:2], huge=True)
        library = work / "library"
        library.mkdir()
        os.chmod(library, 0o777)
        prefix, why_not = unprivileged_prefix()
        for folder, _, names in os.walk(os.environ["PHOTOSIM_CACHE"]):  # the exported model is made 0600
            for name in names:
                os.chmod(os.path.join(folder, name), 0o644)
        if why_not:  # test_a_file_without_read_permission_is_reported says so as a skip
            os.chmod(corpus.bad.pop("file without read permission"), 0o644)
            corpus.skipped["file without read permission"] = why_not
        index = photosim(prefix, library, "index", "-q", str(work / "photos"))
        errors = photosim(prefix, library, "info", "--errors", "--json")
        yield {"corpus": corpus, "real": real, "library": library, "index": index, "errors": errors,
               "prefix": prefix}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _output(p: subprocess.CompletedProcess) -> str:
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def test_indexing_finishes_without_a_traceback(bad_run):
    for p in (bad_run["index"], bad_run["errors"]):
        assert p.returncode == 0, _output(p)
        assert "Traceback" not in _output(p)


def test_a_heic_photo_is_embedded(bad_run):
    corpus = bad_run["corpus"]
    if "HEIC" in corpus.skipped:
        pytest.skip(corpus.skipped["HEIC"])
    lib = Library(str(bad_run["library"]), create=False)
    try:
        with lib.db.session() as s:
            photo = repo.photo_by_path(s, corpus.good["HEIC"])
            assert photo is not None and photo.state == PhotoState.OK and photo.format == "HEIF"
            assert len(repo.get_vectors(s, 0, [photo.id])[0]) == 1
    finally:
        lib.close()


def test_a_file_without_read_permission_is_reported(bad_run):
    corpus = bad_run["corpus"]
    if "file without read permission" in corpus.skipped:
        pytest.skip(corpus.skipped["file without read permission"])
    reasons = {e["path"]: e["reason"] for e in json.loads(bad_run["errors"].stdout)}
    assert "permission denied" in reasons[corpus.bad["file without read permission"]]


def test_every_good_photo_is_embedded_once(bad_run):
    corpus = bad_run["corpus"]
    lib = Library(str(bad_run["library"]), create=False)
    try:
        with lib.db.session() as s:
            photos = {p.path: p for p in repo.all_photos(s)}
            ids, _ = repo.get_vectors(s, 0)
        expected = set(corpus.good.values()) | {corpus.upright} | {str(p) for p in bad_run["real"].iterdir()}
        missing = expected - set(photos)
        assert not missing, f"good photos not embedded: {sorted(map(ascii, missing))}"
        assert all(photos[p].state == PhotoState.OK for p in expected)
        assert set(photos) == expected  # nothing else (no bad file, nothing listed twice through the link loop)
        assert sorted(ids.tolist()) == sorted(p.id for p in photos.values())  # one vector per photo
        assert lib.index().count() == len(expected)
        huge = photos.get(corpus.good.get("20000×15000 JPEG", ""))
        assert huge is not None and (huge.width, huge.height) == (20000, 15000)
    finally:
        lib.close()


def test_every_bad_file_is_reported_with_a_plain_reason(bad_run):
    listed = json.loads(bad_run["errors"].stdout)
    reasons = {os.fsencode(e["path"]): e["reason"] for e in listed}
    for kind, path in bad_run["corpus"].bad.items():
        reason = reasons.get(os.fsencode(path))
        assert reason is not None, f"{kind} ({path}) is not in `photosim info --errors`"
        assert EXPECTED_REASON[kind] in reason, f"{kind}: {reason!r}"
        assert not re.search(r"\b[A-Z]\w*(Error|Exception)\b", reason), f"{kind}: a programmer's reason {reason!r}"
    assert len(listed) == len(bad_run["corpus"].bad)  # the good files and the harmless ones are not errors


def test_orientations_rotations_and_first_frames_embed_like_the_photo(bad_run):
    corpus = bad_run["corpus"]
    lib = Library(str(bad_run["library"]), create=False)
    try:
        with lib.db.session() as s:
            by_path = {p.path: p.id for p in repo.all_photos(s)}
            ids, vectors = repo.get_vectors(s, 0)
    finally:
        lib.close()
    vec = {int(i): v for i, v in zip(ids, vectors)}

    def v(path: str) -> np.ndarray:
        return vec[by_path[path]]

    upright = v(corpus.upright)
    cosines = [float(v(corpus.good[f"EXIF orientation {o}"]) @ upright) for o in range(1, 9)]
    print("\norientation 1-8 cosine to upright:", " ".join(f"{c:.3f}" for c in cosines))
    assert min(cosines) > 0.97, cosines
    # The same photo turned sideways without a tag is clearly further away: ignoring the tag would fail.
    sideways = float(v(corpus.good["photo turned sideways, no orientation tag"]) @ upright)
    assert sideways < min(cosines) - 0.05, (sideways, cosines)
    same_photo = v(corpus.good["PNG named .jpg"])
    for kind in ("animated GIF", "animated WebP", "CMYK JPEG", "corrupt EXIF block",
                 "garbage after the JPEG end marker", "palette PNG with transparency"):
        cos = float(v(corpus.good[kind]) @ same_photo)
        assert cos > 0.85, f"{kind}: cosine {cos:.3f} to the same photo as a plain PNG"


def test_sixteen_bit_grey_is_scaled_not_clipped(bad_run):
    d = decode_file(bad_run["corpus"].good["16-bit greyscale PNG"])
    assert isinstance(d, DecodedPhoto)
    grey = d.pixels[..., 0]
    assert grey.min() < 8 and grey.max() > 247 and len(np.unique(grey)) > 200


def test_a_name_that_is_not_utf8_is_stored_and_shown_without_loss(bad_run):
    path = os.path.join(os.fsencode(bad_run["corpus"].root), NON_UTF8_NAME)
    lib = Library(str(bad_run["library"]), create=False)
    try:
        with lib.db.session() as s:
            photo = repo.photo_by_path(s, os.fsdecode(path))
    finally:
        lib.close()
    assert photo is not None and os.fsencode(photo.path) == path
    # The photo is the PNG-named-.jpg photo turned by 3 degrees: a copy of that query, so it is
    # among the neighbours listed with every copy (by default the query's own copies are left out).
    query = bad_run["corpus"].good["PNG named .jpg"]
    shown = photosim(bad_run["prefix"], bad_run["library"], "similar", "--json", "-k", "40", "--all-copies", query)
    assert shown.returncode == 0 and "Traceback" not in _output(shown), _output(shown)
    found = [os.fsencode(n["path"]) for n in json.loads(shown.stdout)]
    assert path in found  # the JSON gives back the exact bytes of the name
    text = photosim(bad_run["prefix"], bad_run["library"], "similar", "-k", "40", "--all-copies", query)
    assert text.returncode == 0 and "caf\\udce9 \\udcff photo.jpg" in text.stdout.decode(), _output(text)


#: Run in a fresh process: peak resident memory (VmHWM) after the decode minus resident memory before it.
MEASURE_DECODE = """
import sys
from photosim.core.decode import decode_file

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))

before = status("VmRSS")
d = decode_file(sys.argv[1])
print(d.width, d.height, status("VmHWM") - before)
"""


def huge_decode_peak(path: str) -> tuple[int, int, int]:
    """(width, height, extra bytes at the peak) of decoding ``path`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE_DECODE, path], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=True)
    w, h, extra = out.stdout.split()
    return int(w), int(h), int(extra)


def test_huge_jpeg_is_decoded_at_reduced_scale_within_a_gigabyte(bad_run):
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc/self/status to read the memory peak from")
    w, h, extra = huge_decode_peak(bad_run["corpus"].good["20000×15000 JPEG"])
    print(f"\nmemory peak decoding a 20000x15000 JPEG: {extra / 2**20:.0f} MiB extra")
    assert (w, h) == (20000, 15000)
    assert extra < 2**30  # a full decode would need 900 MB for the pixels alone, and more to resize them
