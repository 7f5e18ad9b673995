"""RAW indexing speed, and the cost of the best-shot measures taken at indexing.

RAW: DNGs written from the shared photos enlarged to camera size (``--megapixels``, default 12), with
the full-size JPEG preview cameras embed and without one (then the sensor data is demosaiced at half
size), against the same pictures as JPEG files. Figures: the decoder's time per file (read, hash,
decode, keypoints, measures: what indexing does per photo besides the network) and whole indexing
runs (network included), in the same run, on the same pictures.

Measures: core/bursts.measure on the duplicate check's grey pictures of the shared photos, against
finding their keypoints (what indexing already did on that picture), one thread.

Writes the sections "raw-speed" and "shot-measures" of docs/benchmarks.md.

    python benchmarks/raw_speed.py [--files 12] [--megapixels 12]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _docs import CALTECH, conditions, write_section  # noqa: E402
from support.raw_samples import write_dng  # noqa: E402

from PIL import Image  # noqa: E402

from photosim.core import bursts, verify  # noqa: E402
from photosim.core.decode import decode_file  # noqa: E402
from photosim.core.types import SimpleContext  # noqa: E402
from photosim.services.indexing import index_folders  # noqa: E402
from photosim.store.library import Library  # noqa: E402


def per_file(paths: list[Path]) -> float:
    """Median milliseconds of decode_file per file (each file once, after one warm-up)."""
    decode_file(str(paths[0]))
    times = []
    for p in paths:
        start = time.perf_counter()
        d = decode_file(str(p))
        times.append(time.perf_counter() - start)
        assert not hasattr(d, "reason"), d
    return 1000 * statistics.median(times)


def indexing_rate(folder: Path, work: Path) -> float:
    lib = Library(str(work))
    try:
        report = index_folders(lib, [str(folder)], SimpleContext())
        assert report.failed == 0, report.errors[:2]
        return report.embedded / report.seconds
    finally:
        lib.close()


def raw_speed(files: int, megapixels: float, tmp: Path) -> str:
    sources = sorted(CALTECH.glob("*/image_0001.jpg"))[:files]
    folders = {k: tmp / k for k in ("jpeg", "dng-preview", "dng-sensor")}
    for f in folders.values():
        f.mkdir()
    for n, src in enumerate(sources):
        with Image.open(src) as im:
            im = im.convert("RGB")
            scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
            big = im.resize((round(im.width * scale) // 2 * 2, round(im.height * scale) // 2 * 2),
                            Image.Resampling.BICUBIC)
        big.save(folders["jpeg"] / f"IMG_{n:04d}.jpg", quality=92)
        write_dng(big, folders["dng-preview"] / f"IMG_{n:04d}.dng", preview=True)
        write_dng(big, folders["dng-sensor"] / f"IMG_{n:04d}.dng", preview=False)
    rows = []
    for kind, folder in folders.items():
        paths = sorted(folder.iterdir())
        mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        rows.append((kind, mb, per_file(paths), indexing_rate(folder, tmp / f"lib-{kind}")))
    base = rows[0][2]
    lines = [f"`python benchmarks/raw_speed.py --files {files} --megapixels {megapixels:g}` — {conditions()}", "",
             f"{len(sources)} shared photos enlarged to {megapixels:g} MP each; JPEG quality 92; DNG: 12-bit RGGB "
             "mosaic, uncompressed, with the full-size JPEG preview a camera embeds or without one.", "",
             "| files | MB each | decode per file (ms, one file at a time) | × JPEG | indexing (photos/s, network included) |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {mb:.1f} | {ms:.0f} | {ms / base:.1f} | {rate:.1f} |" for k, mb, ms, rate in rows]
    return "\n".join(lines)


def measure_cost(n: int) -> str:
    import cv2

    cv2.setNumThreads(1)  # as in indexing: one thread per decoder
    greys = []
    for src in sorted(CALTECH.glob("*/*"))[:n]:
        g = verify.load_grey(str(src))
        if g is not None:
            greys.append(g)
    timings = {}
    for name, fn in (("keypoints (ORB, already done at indexing)", verify.keypoints), ("sharpness + exposure", bursts.measure)):
        for g in greys[:5]:
            fn(g)
        start = time.perf_counter()
        for _ in range(3):
            for g in greys:
                fn(g)
        timings[name] = 1000 * (time.perf_counter() - start) / (3 * len(greys))
    orb = next(iter(timings.values()))
    lines = [f"`python benchmarks/raw_speed.py` — {conditions()}", "",
             f"Per photo, on the duplicate check's grey picture (long side {verify.LONG_SIDE} px) of {len(greys)} "
             "shared photos, one thread:", "", "| step | ms per photo | × keypoints |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.3f} | {v / orb:.2f} |" for k, v in timings.items()]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--megapixels", type=float, default=12.0)
    args = ap.parse_args()
    cost = measure_cost(300)
    print(cost, flush=True)
    write_section("shot-measures", "## Best-shot measures at indexing\n\n" + cost)
    with tempfile.TemporaryDirectory() as tmp:
        speed = raw_speed(args.files, args.megapixels, Path(tmp))
    print(speed)
    write_section("raw-speed", "## RAW indexing speed\n\n" + speed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
