"""Indexing speed: photosim against a simple reference and imagededup, same run, same photos.

The machine is shared and noisy, so every figure that matters is a ratio to a
reference pipeline measured in the same run on the same photos:

- **ours**: the real ``index_folders`` service (scan, read, hash, decode,
  ONNX Runtime inference, SQLite writes, HNSW add, index save) into a fresh
  library. The engine is made once beforehand (its one-off start-up is
  printed separately).
- **reference**: Pillow draft decode + Lite0 in torch (channels_last),
  batches of 32, decoding and inference one after the other.
- **network alone**: the same engine (threads, concurrent batches) on the
  same photos already decoded: the limit of any pipeline with this engine;
  ours / network alone says how close indexing comes to it.
- **imagededup CNN**: its MobileNetV3 pipeline (``CNN.encode_images``) with
  random weights, since its weights cannot be downloaded here (speed only).
- **imagededup PHash / DHash**: its hash encoders (``encode_images``).

Photo sets are generated into a temporary folder from the shared photos,
with noise so they compress like real photos: ``12mp`` (about 12 megapixels,
JPEG quality 90) and ``1mp`` (just under 1 megapixel); ``small`` is the
shared Caltech photos themselves (about 300x200). Also measured: where one
photo's CPU time goes (each stage alone, one thread), and how fast Ctrl-C
stops ``photosim index`` (a real subprocess gets SIGINT mid-run; the library
must keep every photo it reported as embedded, each with its vector).

    python benchmarks/index_speed.py [--sets 12mp,1mp,small] [--n12 120] [--n1 400]
                                     [--repeats 2] [--stops 3] [--keep DIR] [--no-doc]

Prints a table and rewrites the index-speed section of docs/benchmarks.md.
imagededup is optional (``pip install -e .[bench]``); without it those rows
are skipped with a note.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import CALTECH, conditions, write_section  # noqa: E402

BATCH = 32
#: 12 MP: ours / reference must not fall below what it was before the pipeline was rewritten.
TARGET_RATIO_12MP = 1.94
TARGET_NETWORK_SHARE = 0.8
INFERENCE = "inference (ONNX Runtime, 1 thread)"


@dataclass
class Run:
    name: str
    photos: int
    seconds: float
    cpu_seconds: float | None = None  # this process's CPU time (all threads), None when not meaningful

    @property
    def rate(self) -> float:
        return self.photos / self.seconds if self.seconds > 0 else 0.0

    @property
    def cores(self) -> float | None:
        return self.cpu_seconds / self.seconds if self.cpu_seconds is not None and self.seconds > 0 else None


# --- photo sets -------------------------------------------------------------------------
def shared_photos() -> list[Path]:
    if not CALTECH.is_dir():
        sys.exit(f"shared photos not found at {CALTECH}")
    return sorted(p for p in CALTECH.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def _generate(args: tuple[str, str, float, int]) -> None:
    """One camera-like JPEG: the source scaled to ``megapixels``, with sensor-like noise."""
    src, dst, megapixels, seed = args
    with Image.open(src) as im:
        im = im.convert("RGB")
        scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        big = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(big, dtype=np.int16)
    noise = rng.normal(0.0, 4.0, size=pixels.shape[:2] + (1,)).astype(np.int16)  # luminance grain
    noise = noise + rng.integers(-2, 3, size=pixels.shape, dtype=np.int16)  # and a little chroma
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(dst, "JPEG", quality=90)


def make_set(dest: Path, sources: list[Path], megapixels: float) -> Path:
    """Generate one JPEG per source into ``dest`` (reused when it already holds them all)."""
    dest.mkdir(parents=True, exist_ok=True)
    jobs = [(str(src), str(dest / f"{i:05d}_{src.stem}.jpg"), megapixels, i) for i, src in enumerate(sources)]
    todo = [j for j in jobs if not os.path.exists(j[1])]
    if todo:
        t = time.monotonic()
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
            list(ex.map(_generate, todo, chunksize=4))
        print(f"  generated {len(todo)} photos of {megapixels:g} MP in {time.monotonic() - t:.0f} s", flush=True)
    return dest


def pick(photos: list[Path], n: int) -> list[Path]:
    """``n`` photos spread over every class (evenly spaced in sorted order)."""
    if n >= len(photos):
        return photos
    step = len(photos) / n
    return [photos[int(i * step)] for i in range(n)]


# --- the pipelines ----------------------------------------------------------------------
def run_ours(folder: Path, engine) -> Run:
    from photosim.core.types import SimpleContext
    from photosim.services.indexing import index_folders
    from photosim.store.library import Library

    with tempfile.TemporaryDirectory(prefix="bench-lib-") as tmp:
        lib = Library(tmp)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            report = index_folders(lib, [str(folder)], SimpleContext(), engine=engine)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            lib.close()
    if report.failed:
        print(f"  warning: {report.failed} photos failed: {report.errors[:2]}")
    return Run("photosim index", report.embedded, wall, cpu)


def _reference_decode(path: str) -> np.ndarray:
    with Image.open(path) as im:
        im.draft("RGB", (224, 224))
        return np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BICUBIC))


def run_reference(folder: Path, module) -> Run:
    """Pillow draft decode, then Lite0 in torch (channels_last), batch by batch, one after the other."""
    import torch

    files = sorted(str(p) for p in folder.iterdir())
    n = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for start in range(0, len(files), BATCH):
            batch = np.stack([_reference_decode(f) for f in files[start:start + BATCH]])
            module(torch.from_numpy(batch)).numpy()
            n += len(batch)
    return Run("reference (Pillow draft + torch channels_last)", n, time.perf_counter() - wall,
               time.process_time() - cpu)


def decoded_pixels(folder: Path, size: int) -> np.ndarray:
    """The network's input for every photo of ``folder``, decoded as the indexer decodes them."""
    from photosim.core.decode import decode_file

    return np.stack([decode_file(str(p), size, with_keypoints=False).pixels for p in sorted(folder.iterdir())])


def run_network(pixels: np.ndarray, engine) -> Run:
    """The network alone on already decoded images: the same engine, threads and concurrent batches
    (streams) as the indexer, batches of 32, nothing read, decoded or stored. No pipeline with this
    engine can be faster, so ours / this is how close indexing comes to its own limit."""
    from concurrent.futures import ThreadPoolExecutor

    streams = max(1, int(getattr(engine, "streams", 1)))
    batches = [pixels[i:i + BATCH] for i in range(0, len(pixels), BATCH)]
    with ThreadPoolExecutor(max_workers=streams) as pool:
        list(pool.map(engine, batches[:streams]))  # warm-up, one batch per stream
        wall, cpu = time.perf_counter(), time.process_time()
        list(pool.map(engine, batches))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run("network alone (same engine, decoded images)", len(pixels), wall, cpu)


def imagededup_available() -> bool:
    try:
        import imagededup  # noqa: F401
    except ImportError:
        return False
    return True


def run_imagededup_cnn(folder: Path) -> Run:
    import torch
    from imagededup.methods import CNN
    from imagededup.utils.models import CustomModel, MobilenetV3
    from torchvision import models

    class RandomMobilenetV3(torch.nn.Module):
        """imagededup's MobilenetV3 feature extractor, built without its (undownloadable) weights."""

        def __init__(self) -> None:
            super().__init__()
            net = models.mobilenet_v3_small(weights=None).eval()
            self.mobilenet_gap_op = torch.nn.Sequential(net.features, net.avgpool)

        def forward(self, x):
            return self.mobilenet_gap_op(x).squeeze(dim=3).squeeze(dim=2)

    config = CustomModel(name="mobilenet_v3_small-random", model=RandomMobilenetV3().eval(),
                         transform=MobilenetV3.transform)
    cnn = CNN(verbose=False, model_config=config)
    wall, cpu = time.perf_counter(), time.process_time()
    encodings = cnn.encode_images(image_dir=str(folder), recursive=True)
    return Run("imagededup CNN (MobileNetV3, random weights)", len(encodings), time.perf_counter() - wall,
               time.process_time() - cpu)


def run_imagededup_hash(folder: Path, kind: str) -> Run:
    from imagededup import methods

    hasher = getattr(methods, kind)(verbose=False)
    wall = time.perf_counter()
    encodings = hasher.encode_images(image_dir=str(folder), recursive=True)  # its own worker processes
    return Run(f"imagededup {kind}", len(encodings), time.perf_counter() - wall)


# --- where one photo's time goes ----------------------------------------------------------
def breakdown(folder: Path, engine, sample: int = 64) -> dict[str, float]:
    """CPU milliseconds per photo of each stage run alone on one thread (no overlap, no contention
    between stages): what the pipeline has to spread over the cores."""
    from photosim.core.decode import content_hash, decode_bytes, read_photo_bytes
    from photosim.core.embed import OnnxEngine
    from photosim.store import checks
    from photosim.store import repositories as repo
    from photosim.store.library import Library

    files = sorted(str(p) for p in folder.iterdir())[:sample]
    out: dict[str, float] = {}

    def per_photo(fn) -> float:
        cpu = time.process_time()
        fn()
        return (time.process_time() - cpu) * 1000.0 / len(files)

    got = []
    out["read file"] = per_photo(lambda: got.extend(read_photo_bytes(f) for f in files))
    digests = []
    out["content hash"] = per_photo(lambda: digests.extend(content_hash(d) for d, _ in got))
    plain = per_photo(lambda: [decode_bytes(f, d, st.st_size, st.st_mtime_ns, 224, h, with_keypoints=False)
                               for f, (d, st), h in zip(files, got, digests)])
    decoded = []
    with_keypoints = per_photo(lambda: decoded.extend(
        decode_bytes(f, d, st.st_size, st.st_mtime_ns, 224, h) for f, (d, st), h in zip(files, got, digests)))
    out["decode + resize"] = plain
    out["keypoints (duplicate check)"] = with_keypoints - plain
    pixels = np.stack([d.pixels for d in decoded])
    single = OnnxEngine(engine.spec, threads=1, streams=1)
    single(pixels[:BATCH])  # warm-up
    out[INFERENCE] = per_photo(
        lambda: [single(pixels[i:i + BATCH]) for i in range(0, len(pixels), BATCH)])
    vectors = np.concatenate([single(pixels[i:i + BATCH]) for i in range(0, len(pixels), BATCH)])
    with tempfile.TemporaryDirectory(prefix="bench-lib-") as tmp:
        lib = Library(tmp)

        def store() -> None:
            for i in range(0, len(decoded), BATCH):
                part = decoded[i:i + BATCH]
                with lib.db.session() as s:
                    repo.mark_in_flight(s, [d.path for d in part])
                with lib.db.session() as s:
                    ids = repo.upsert_decoded_many(s, part)
                    repo.put_vectors(s, 0, ids, vectors[i:i + BATCH])
                    checks.put_keypoints(s, ids, [d.keypoints for d in part])
                    repo.clear_in_flight(s, [d.path for d in part])

        out["SQLite writes"] = per_photo(store)
        out["HNSW add"] = per_photo(lambda: [lib.add_to_index(0, np.arange(i + 1, i + 1 + len(vectors[i:i + BATCH])),
                                                              vectors[i:i + BATCH])
                                             for i in range(0, len(vectors), BATCH)])
        lib.close()
    return out


def jpeg_floor(folder: Path, sample: int = 64) -> float | None:
    """CPU ms per photo of the least any decoder does with these JPEGs: libjpeg-turbo at 1/8 scale,
    grey (entropy decoding and the DC terms only, no IDCT, no colour). No photo can be read for less,
    so it bounds what ours / network alone can reach however the rest is arranged."""
    import cv2

    files = [p for p in sorted(folder.iterdir())[:sample] if p.suffix.lower() in (".jpg", ".jpeg")]
    if not files:
        return None
    data = [np.frombuffer(p.read_bytes(), np.uint8) for p in files]
    cv2.setNumThreads(1)
    cpu = time.process_time()
    for d in data:
        cv2.imdecode(d, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return (time.process_time() - cpu) * 1000.0 / len(data)


def inference_ceiling(engine, photos: list[Path], count: int = 256) -> float:
    """Images/s of the network alone on both cores (ONNX Runtime, 2 intra-op threads, batch 32),
    no file, no decoding: what no pipeline on this machine can exceed, whatever the photo size."""
    from photosim.core.decode import decode_file
    from photosim.core.embed import OnnxEngine

    pixels = np.stack([decode_file(str(p), with_keypoints=False).pixels for p in photos[:BATCH]])
    pixels = np.concatenate([pixels] * (count // len(pixels)))
    both = OnnxEngine(engine.spec, threads=2, streams=1)
    both(pixels[:BATCH])  # warm-up
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for i in range(0, len(pixels), BATCH):
            both(pixels[i:i + BATCH])
        best = max(best, len(pixels) / (time.perf_counter() - t))
    return best


# --- Ctrl-C ---------------------------------------------------------------------------------
def _photosim_command() -> list[str]:
    script = Path(sys.executable).with_name("photosim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "photosim.cli"]


def _count(db: str, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def stop_tree(dest: Path, photos: Path, copies: int = 2) -> Path:
    """The 12 MP set copied ``copies`` times (distinct files: links are one photo, at its real place),
    so a run lasts long enough to stop."""
    for c in range(copies):
        sub = dest / f"copy{c}"
        sub.mkdir(parents=True, exist_ok=True)
        for src in sorted(photos.iterdir()):
            copy = sub / src.name
            if copy.is_symlink():  # a tree made by an older version of this script
                copy.unlink()
            if not copy.exists():
                shutil.copy2(src, copy)
    return dest


def stop_latency(folder: Path, seed: int) -> dict:
    """Start ``photosim index``, send SIGINT mid-run, time until it exits; check what it kept."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-stop-") as lib:
        db = os.path.join(lib, "library.db")
        proc = subprocess.Popen(_photosim_command() + ["--library", lib, "index", "--quiet", str(folder)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if _count(db, "SELECT count(*) FROM vectors") > 0:
                break
            time.sleep(0.05)
        if proc.poll() is not None:
            out, err = proc.communicate()
            return {"error": f"finished before it could be stopped: {out.strip()} {err.strip()[-200:]}"}
        time.sleep(rng.uniform(0.2, 1.0))  # land somewhere inside a batch
        before = _count(db, "SELECT count(*) FROM vectors")
        if before >= sum(1 for _ in folder.rglob("*.jpg")):
            proc.wait()
            return {"error": "the run finished before the signal (use a larger --n12)"}
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return {"error": "did not stop within 60 s"}
        latency = time.perf_counter() - sent
        vectors = _count(db, "SELECT count(*) FROM vectors WHERE model_id = 0")
        ok_rows = _count(db, "SELECT count(*) FROM photos WHERE state = 'ok'")
        without = _count(db, "SELECT count(*) FROM photos p WHERE state = 'ok' AND NOT EXISTS "
                             "(SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model_id = 0)")
        in_flight = _count(db, "SELECT count(*) FROM in_flight")
        claimed = _embedded_claim(out)
        kept_ok = (proc.returncode == 130 and vectors >= before and without == 0 and in_flight == 0
                   and claimed == vectors == ok_rows)
        return {"latency": latency, "before": before, "kept": vectors, "claimed": claimed, "ok": kept_ok,
                "returncode": proc.returncode, "in_flight": in_flight, "without_vector": without}


def _embedded_claim(out: str) -> int | None:
    """N from the CLI's closing line '... found, N embedded (...'."""
    for line in out.splitlines():
        if " embedded" in line:
            head = line.split(" embedded", 1)[0]
            number = head.rsplit(" ", 1)[-1]
            if number.isdigit():
                return int(number)
    return None


# --- the run --------------------------------------------------------------------------------
def fmt_rate(run: Run | None) -> str:
    return f"{run.rate:6.1f}" if run else "   n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="12mp,1mp,small", help="comma list of 12mp, 1mp, small")
    ap.add_argument("--n12", type=int, default=120, help="photos in the 12 MP set")
    ap.add_argument("--n1", type=int, default=400, help="photos in the 1 MP set")
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of ours and the reference per set")
    ap.add_argument("--stops", type=int, default=3, help="Ctrl-C trials (0: skip)")
    ap.add_argument("--no-peers", action="store_true", help="skip imagededup")
    ap.add_argument("--no-breakdown", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="generate the sets here and keep them (reused next time)")
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()

    os.environ.setdefault("PHOTOSIM_CACHE", os.path.join(tempfile.gettempdir(), "photosim-bench-cache"))
    from photosim.core.backbone import EmbeddingSpec, embedder
    from photosim.core.embed import make_engine

    load_before = conditions()
    print("conditions:", load_before, flush=True)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-photos-"))
    photos = shared_photos()
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    sets: dict[str, Path] = {}
    for name in wanted:
        if name == "12mp":
            sets[name] = make_set(base / f"12mp-{args.n12}", pick(photos, args.n12), 12.0)
        elif name == "1mp":
            sets[name] = make_set(base / f"1mp-{args.n1}", pick(photos, args.n1), 0.99)
        elif name == "small":
            sets[name] = make_set_small(base / "small", photos)
        else:
            sys.exit(f"unknown set {name!r}")

    spec = EmbeddingSpec()
    t = time.perf_counter()
    engine = make_engine(spec)
    engine_start = time.perf_counter() - t
    module = embedder(spec)  # the reference's torch module (channels_last)
    print(f"engine: {engine.name}, {getattr(engine, 'threads', '?')} thread(s) x {getattr(engine, 'streams', 1)} "
          f"stream(s), ready in {engine_start:.1f} s", flush=True)
    peers = not args.no_peers and imagededup_available()
    if not args.no_peers and not peers:
        print("note: imagededup is not installed (pip install -e .[bench]); its rows are skipped", flush=True)

    results: dict[str, dict] = {}
    for name, folder in sets.items():
        count = len(list(folder.iterdir()))
        print(f"\n== {name}: {count} photos ==", flush=True)
        pixels = decoded_pixels(folder, spec.size)
        runs: dict[str, list[Run]] = {"ours": [], "ref": [], "net": []}
        for r in range(args.repeats):
            order = (("ref", "net", "ours") if r % 2 == 0 else ("ours", "net", "ref"))
            for which in order:
                if which == "ref":
                    run = run_reference(folder, module)
                elif which == "net":
                    run = run_network(pixels, engine)
                else:
                    run = run_ours(folder, engine)
                runs[which].append(run)
                print(f"  {run.name:48s} {run.rate:7.1f} photos/s  ({run.cores or 0:.2f} cores busy)", flush=True)
        del pixels
        entry = {"count": count, "ours": runs["ours"], "ref": runs["ref"], "net": runs["net"], "peers": []}
        print(f"  ours / network alone: {_mean_rate(runs['ours']) / _mean_rate(runs['net']):.2f}", flush=True)
        if peers:
            for fn in (run_imagededup_cnn, lambda f: run_imagededup_hash(f, "PHash"),
                       lambda f: run_imagededup_hash(f, "DHash")):
                run = fn(folder)
                entry["peers"].append(run)
                print(f"  {run.name:48s} {run.rate:7.1f} photos/s", flush=True)
        if not args.no_breakdown:
            entry["breakdown"] = breakdown(folder, engine)
            entry["floor"] = jpeg_floor(folder)
            print("  CPU ms per photo, each stage alone on one thread: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in entry["breakdown"].items()), flush=True)
        results[name] = entry

    ceiling = inference_ceiling(engine, photos)
    print(f"\ninference alone (ONNX Runtime, both cores, batch 32): {ceiling:.0f} images/s", flush=True)

    stops = []
    if args.stops and "12mp" in sets:
        print("\n== Ctrl-C during photosim index (12 MP set) ==", flush=True)
        tree = stop_tree(base / "stop", sets["12mp"])
        for i in range(args.stops):
            stops.append(stop_latency(tree, seed=i))
            print("  ", stops[-1], flush=True)

    load_after = conditions()
    print("\nconditions after:", load_after)
    body = render(results, stops, engine, engine_start, load_before, load_after, args, peers, ceiling)
    print("\n" + body)
    if not args.no_doc:
        write_section("index_speed", body)
        print("wrote docs/benchmarks.md (index_speed section)")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


def make_set_small(dest: Path, photos: list[Path]) -> Path:
    """The shared photos as they are (about 300x200), copied into one flat folder (links out of the
    indexed folder are reported, not followed: a photo is where its file is)."""
    dest.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(photos):
        copy = dest / f"{i:05d}_{src.name}"
        if copy.is_symlink():  # a set made by an older version of this script
            copy.unlink()
        if not copy.exists():
            shutil.copy2(src, copy)
    return dest


def _mean_rate(runs: list[Run]) -> float:
    return statistics.mean(r.rate for r in runs)


def render(results, stops, engine, engine_start, load_before, load_after, args, peers, ceiling) -> str:
    lines = ["## Indexing speed (`benchmarks/index_speed.py`)", "",
             f"Command: `python benchmarks/index_speed.py --sets {args.sets} --n12 {args.n12} --n1 {args.n1} "
             f"--repeats {args.repeats} --stops {args.stops}`", "",
             f"- Before: {load_before}", f"- After: {load_after}",
             f"- Engine: {engine.name}, {getattr(engine, 'threads', '?')} intra-op thread(s) x "
             f"{getattr(engine, 'streams', 1)} concurrent batches; session start-up {engine_start:.1f} s "
             "(once per process, not in the figures below)", "",
             "photos/s, end to end. *ours* = `index_folders` into a fresh library (scan, read, hash, decode, "
             "inference, SQLite, HNSW, index save); *reference* = Pillow draft decode + Lite0 in torch "
             "channels_last, batch 32, decode then infer. Each pair alternates; the ratio is mean(ours) / "
             "mean(reference) from the same run. *cores* = this process's CPU time / wall time.", "",
             "| set | photos | ours | cores | reference | cores | ours / reference | imagededup CNN (random w.) "
             "| imagededup PHash | imagededup DHash |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    limit = ["", "How close indexing comes to its own limit: *network alone* = the same engine (threads and "
             "concurrent batches as the indexer) on the same photos already decoded (224 px), batches of 32, "
             "nothing read, decoded or stored; measured between the runs of ours above. Target: ours / network "
             f"alone >= {TARGET_NETWORK_SHARE:.2f} for photos of 1 MP or less.", "",
             "*Stage ceiling* = inference / all stages in the CPU-time table below: the best ours / network "
             "alone could be if every other stage overlapped perfectly with no overhead at all. *Floor "
             "ceiling* = the same with the cheapest decode there is (libjpeg-turbo at 1/8 scale, grey: "
             "entropy decoding only, *JPEG floor*) and no keypoints at all: what no arrangement of these "
             "stages can beat on this machine.", "",
             "| set | ours | network alone | ours / network alone | stage ceiling | JPEG floor (ms) "
             "| floor ceiling |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, e in results.items():
        if e["ours"] and e.get("net"):
            ours, net = _mean_rate(e["ours"]), _mean_rate(e["net"])
            b = e.get("breakdown")
            stage = f"{b[INFERENCE] / sum(b.values()):.2f}" if b else "n/a"
            floor, best = "n/a", "n/a"
            if b and e.get("floor") is not None:
                rest = sum(v for k, v in b.items() if k not in ("decode + resize", "keypoints (duplicate check)"))
                floor, best = f"{e['floor']:.1f}", f"{b[INFERENCE] / (rest + e['floor']):.2f}"
            limit.append(f"| {name} | {ours:.1f} | {net:.1f} ({' / '.join(f'{r.rate:.1f}' for r in e['net'])}) "
                         f"| **{ours / net:.2f}** | {stage} | {floor} | {best} |")
    for name, e in results.items():
        if not e["ours"] or not e["ref"]:
            continue
        ours = statistics.mean(r.rate for r in e["ours"])
        ref = statistics.mean(r.rate for r in e["ref"])
        oc = statistics.mean(r.cores or 0 for r in e["ours"])
        rc = statistics.mean(r.cores or 0 for r in e["ref"])
        peer = {r.name.split(" (")[0]: r for r in e["peers"]}
        lines.append(f"| {name} | {e['count']} | {ours:.1f} ({' / '.join(f'{r.rate:.1f}' for r in e['ours'])}) "
                     f"| {oc:.2f} | {ref:.1f} ({' / '.join(f'{r.rate:.1f}' for r in e['ref'])}) | {rc:.2f} "
                     f"| **{ours / ref:.2f}x** | {fmt_rate(peer.get('imagededup CNN')).strip()} "
                     f"| {fmt_rate(peer.get('imagededup PHash')).strip()} "
                     f"| {fmt_rate(peer.get('imagededup DHash')).strip()} |")
    if not peers:
        lines += ["", "imagededup was not installed for this run: its columns are n/a."]
    lines += limit
    lines += ["", f"Targets: 12 MP ours / reference >= {TARGET_RATIO_12MP}x (what it was before the pipeline was "
              f"rewritten); <= 1 MP ours / network alone >= {TARGET_NETWORK_SHARE:.2f}.", "",
              f"The network alone, without reading or decoding anything (ONNX Runtime, both cores, batch 32, "
              f"224 px): **{ceiling:.0f} images/s** on this machine: no photo of any size can be indexed "
              "faster."]
    if any("breakdown" in e for e in results.values()):
        stages = next(iter(e["breakdown"] for e in results.values() if "breakdown" in e))
        lines += ["", "Where one photo's time goes: CPU ms per photo of each stage run alone on one thread "
                  "(64 photos; the pipeline spreads this over the cores, so photos/s is about "
                  "cores x 1000 / total when every stage overlaps).", "",
                  "| set | " + " | ".join(stages) + " | total |", "|---|" + "---:|" * (len(stages) + 1)]
        for name, e in results.items():
            if "breakdown" in e:
                b = e["breakdown"]
                lines.append(f"| {name} | " + " | ".join(f"{b[k]:.1f}" for k in stages) + f" | {sum(b.values()):.1f} |")
    if stops:
        good = [s for s in stops if "latency" in s]
        lines += ["", "Ctrl-C during `photosim index` (12 MP set, a real subprocess, SIGINT after its first "
                  "batch was stored, at a random moment): seconds from the signal to the process's exit, "
                  "and whether the library kept exactly what it reported (every embedded photo with its "
                  "vector, nothing left marked in flight, exit code 130).", "",
                  "| trial | stop latency (s) | stored at SIGINT | kept | reported embedded | kept correctly |",
                  "|---:|---:|---:|---:|---:|---|"]
        for i, s in enumerate(stops, 1):
            if "latency" in s:
                lines.append(f"| {i} | {s['latency']:.2f} | {s['before']} | {s['kept']} | {s['claimed']} "
                             f"| {'yes' if s['ok'] else 'NO: ' + str(s)} |")
            else:
                lines.append(f"| {i} | - | - | - | - | {s['error']} |")
        if good:
            lines += ["", f"Median stop latency {statistics.median(s['latency'] for s in good):.2f} s, "
                      f"worst {max(s['latency'] for s in good):.2f} s (target: under 1 s)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
