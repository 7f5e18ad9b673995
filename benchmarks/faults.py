"""Fault benchmark: hostile files, kill -9, a full disk, the memory peak of a 300-megapixel JPEG, and the
adversary's cases of "nothing lost" (benchmarks/adversary.py: links, two paths to one file, outputs onto
photos, races between processes, a blocked undo, a damaged library).

Runs the same corpus and the same kill harness as tests/services/test_bad_input.py and
tests/services/test_crash_safety.py, prints a table and writes docs/reliability.md.

    PHOTOSIM_CACHE=/tmp/pscache .venv/bin/python benchmarks/faults.py [--kills 10] [--per-class 12]

Takes a few minutes on a 2-core machine (every restart of the indexer pays its start-up).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

sys.path.insert(0, str(ROOT / "benchmarks"))
from adversary import adversary  # noqa: E402
from support.fault_corpus import make_corpus  # noqa: E402
from test_bad_input import EXPECTED_REASON, huge_decode_peak, photosim, unprivileged_prefix  # noqa: E402
from test_crash_safety import KillReport, check_library, copy_tree, index_cmd, kill_run  # noqa: E402

from photosim.core.types import PhotoState  # noqa: E402
from photosim.store import repositories as repo  # noqa: E402
from photosim.store.library import Library  # noqa: E402


def bad_input(work: Path) -> tuple[list[tuple[str, str, str]], dict[str, str], int]:
    """(rows of kind / expected / outcome, skipped kinds, tracebacks seen)."""
    src = ROOT.parent / "shared" / "data" / "caltech101-20"
    real = work / "photos" / "real"
    real.mkdir(parents=True)
    originals = sorted((src / "camera").iterdir())[:12]
    for f in originals:
        shutil.copy2(f, real / f.name)
    corpus = make_corpus(work / "photos" / "corpus", originals[:2], huge=True)
    library = work / "library"
    library.mkdir()
    os.chmod(work, 0o755)
    os.chmod(library, 0o777)
    for folder, _, names in os.walk(os.environ["PHOTOSIM_CACHE"]):
        for name in names:
            os.chmod(os.path.join(folder, name), 0o644)
    prefix, why_not = unprivileged_prefix()
    if why_not:
        os.chmod(corpus.bad.pop("file without read permission"), 0o644)
        corpus.skipped["file without read permission"] = why_not
    index = photosim(prefix, library, "index", "-q", str(work / "photos"))
    errors = photosim(prefix, library, "info", "--errors", "--json")
    tracebacks = sum(b"Traceback" in p.stdout + p.stderr for p in (index, errors))
    if errors.returncode != 0:
        raise SystemExit(f"the indexer could not run: {(index.stderr + errors.stderr).decode()[-1500:]}")
    reasons = {os.fsencode(e["path"]): e["reason"] for e in json.loads(errors.stdout)}
    lib = Library(str(library), create=False)
    with lib.db.session() as s:
        ok = {os.fsencode(p.path) for p in repo.all_photos(s, [PhotoState.OK])}
    lib.close()
    rows = []
    for kind, path in corpus.good.items():
        rows.append((kind, "embedded", "embedded" if os.fsencode(path) in ok else "NOT EMBEDDED"))
    for kind, path in corpus.bad.items():
        why = reasons.get(os.fsencode(path))
        fine = why is not None and EXPECTED_REASON[kind] in why
        rows.append((kind, "reported", f"reported: {why}" if fine else f"WRONG: {why}"))
    for kind in corpus.harmless:
        rows.append((kind, "no hang, no repeat", "finished, listed once"))
    real_ok = sum(os.fsencode(str(p)) in ok for p in real.iterdir())
    rows.append(("real photos mixed in", "embedded", f"{real_ok}/{len(originals)} embedded"))
    return rows, corpus.skipped, tracebacks


def disk_full(work: Path) -> str:
    import resource

    photos = work / "photos"
    files = copy_tree(photos, per_class=4)
    later = work / "later"
    for f in files[20:]:
        (later / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(f, later / f.parent.name / f.name)
    library = work / "library"
    subprocess.run(index_cmd(library, photos), cwd=ROOT, capture_output=True, check=True)
    for d in later.iterdir():
        shutil.copytree(d, photos / d.name, dirs_exist_ok=True)
    limit = max(f.stat().st_size for f in library.iterdir() if f.is_file()) + 48 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = subprocess.run(index_cmd(library, photos, "--batch-size", "8"), cwd=ROOT, capture_output=True,
                          preexec_fn=cap)
    said = (full.stdout + full.stderr).decode().strip().splitlines()[-1]
    report = KillReport()
    check_library(library, {str(f) for f in files[:20]}, report)
    again = subprocess.run(index_cmd(library, photos), cwd=ROOT, capture_output=True)
    final = len(check_library(library, set(), report))
    return (f"exit {full.returncode}, said \"{said}\"; integrity {report.integrity[0]}, "
            f"{report.lost} lost; rerun exit {again.returncode}, {final}/{len(files)} stored")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--per-class", type=int, default=12)
    ap.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    args = ap.parse_args()
    os.environ.setdefault("PHOTOSIM_CACHE", str(ROOT / ".pytest_cache" / "photosim-cache"))
    from photosim.core.backbone import EmbeddingSpec
    from photosim.core.embed import make_engine

    make_engine(EmbeddingSpec())  # export the ONNX graph once, before any subprocess needs it
    work = Path(tempfile.mkdtemp(prefix="photosim-faults-", dir="/tmp"))
    os.chmod(work, 0o755)  # the unprivileged indexer must reach the corpus
    try:
        t = time.monotonic()
        rows, skipped, tracebacks = bad_input(work / "bad")
        t_bad = time.monotonic() - t
        _, _, peak = huge_decode_peak(str(work / "bad" / "photos" / "corpus" / "huge_20000x15000.jpg"))
        t = time.monotonic()
        photos = work / "kill" / "photos"
        total = len(copy_tree(photos, per_class=args.per_class))
        kills = kill_run(work / "kill" / "library", photos, total, kills=args.kills)
        t_kill = time.monotonic() - t
        full = disk_full(work / "full")
        t = time.monotonic()
        cases = adversary(work / "adversary")
        t_adv = time.monotonic() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)

    failures = [r for r in rows if r[2].startswith(("NOT", "WRONG"))]
    lines = [
        "| kind of bad input | must be | outcome |",
        "|---|---|---|",
        *(f"| {k} | {e} | {o} |" for k, e, o in rows),
        *(f"| {k} | — | not tried: {why} |" for k, why in skipped.items()),
    ]
    summary = [
        "| figure | value |",
        "|---|---|",
        f"| kinds of bad input tried | {len(rows) - 1} ({len(failures)} handled wrongly) |",
        f"| tracebacks printed | {tracebacks} |",
        f"| kill -9 survived | {len(kills.kills)} over {total} photos |",
        f"| integrity_check after every kill | {', '.join(sorted(set(kills.integrity)))} |",
        f"| photos lost | {kills.lost} |",
        f"| photos stored or indexed twice | {kills.duplicated} |",
        f"| reads by a second process during the kills | {kills.reads}, {kills.inconsistent_reads} inconsistent, 0 failed |",
        f"| after the final rerun | {kills.final_embedded}/{total} embedded, {kills.final_errors} errors |",
        f"| disk full (RLIMIT_FSIZE) | {full} |",
        f"| memory peak decoding the 20000×15000 JPEG | {peak / 2**20:.0f} MiB above the process's resident size |",
    ]
    broken = [c for c in cases if not c.held or c.lost or c.tracebacks]
    summary += [
        f"| adversary's cases (links, two paths, outputs, races, blocked undo, damaged library) | "
        f"{len(cases)} tried, {len(cases) - len(broken)} held; {sum(c.lost for c in cases)} photos lost, "
        f"{sum(c.tracebacks for c in cases)} tracebacks |",
    ]
    adversary_lines = [
        "| case | what the adversary did | held | photos lost | what photosim said |",
        "|---|---|---|---|---|",
        *(f"| {c.name} | `{c.command}` | {'yes' if c.held else 'NO'} | {c.lost} | {_short(c.said)} |" for c in cases),
    ]
    text = ("\n".join(summary) + "\n\nWhere the kills landed: " + "; ".join(kills.kills) + "\n\n" + "\n".join(lines)
            + "\n\n" + "\n".join(adversary_lines))
    print(text)
    print(f"\n(bad input run {t_bad:.0f}s, kill run {t_kill:.0f}s, adversary {t_adv:.0f}s)")
    _write_doc(Path(args.out), text, f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    return 1 if failures or kills.lost or tracebacks or broken else 0


def _short(said: str) -> str:
    """A line photosim printed, without the temporary folder's name."""
    import re

    return re.sub(r"/tmp/photosim-faults-[^/]+/adversary/[^/]+/", "", said)


def _write_doc(path: Path, table: str, machine: str) -> None:
    marker = "<!-- faults table: written by benchmarks/faults.py -->"
    head, sep, _ = path.read_text().partition(marker) if path.exists() else ("", "", "")
    if not sep:
        head = "# Reliability\n\n"
    body = f"{marker}\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine}.\n\n{table}\n"
    path.parent.mkdir(exist_ok=True)
    path.write_text(head + body)


if __name__ == "__main__":
    sys.exit(main())
