"""The adversary's cases of "nothing lost" (issue 18), run as a person would: `photosim` processes on real
photos, links, two processes at once, a damaged library. Used by benchmarks/faults.py for its table.

Each case prepares a folder, attacks it with the commands an adversary used, then undoes every removal
and compares every photo's sha256 with what was there before the attack: "lost" counts photos missing
or changed. A traceback in any output counts too.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "data" / "caltech101-20"


@dataclass
class Case:
    name: str
    command: str      # what shows it held
    held: bool        # the expected refusal or outcome was seen
    lost: int         # photos missing or changed after the attack and the undos
    tracebacks: int
    said: str         # the line photosim answered with


def photo(kind: str = "pizza", n: int = 0) -> Path:
    return sorted((PHOTOS / kind).iterdir())[n]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    return {str(p): sha(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink()
            and ".photosim-trash" not in p.parts}


class World:
    """One case's folder, its library and a log of every command's output."""

    def __init__(self, work: Path, name: str) -> None:
        self.dir = work / name
        self.dir.mkdir(parents=True)
        self.lib = self.dir / "L"
        self.tracebacks = 0

    def start(self, *argv, env=None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "photosim.cli", "--library", str(self.lib), *map(str, argv)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})})

    def wait(self, proc: subprocess.Popen) -> tuple[int, str]:
        out, err = proc.communicate(timeout=600)
        self.tracebacks += "Traceback" in out + err
        return proc.returncode, (out + err).strip()

    def run(self, *argv, env=None) -> tuple[int, str]:
        return self.wait(self.start(*argv, env=env))

    def index(self, *paths) -> None:
        code, text = self.run("index", "-q", "--no-adapt", *paths)
        if code != 0:
            raise RuntimeError(text)

    def undo_all(self) -> None:
        for _ in range(20):
            if self.run("undo")[0] != 0:
                return

    def copy(self, dest: Path, kind: str = "pizza", n: int = 0) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo(kind, n), dest)
        return dest


def lost(before: dict[str, str]) -> int:
    return sum(not os.path.isfile(p) or sha(Path(p)) != h for p, h in before.items())


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].replace("|", "/")[:160] if lines else ""


def case_outputs(w: World) -> Case:
    t = w.dir / "T"
    for n in range(3):
        w.copy(t / f"cup_{n:04d}.jpg", "cup", n)
    w.index(t)
    before = {**snapshot(t), str(w.lib / "library.db"): sha(w.lib / "library.db")}
    a = w.run("export", t / "cup_0001.jpg")
    b = w.run("dupes", "--csv", w.lib / "library.db", "--force")
    return Case("1. outputs onto a photo or the library", "export T/cup_0001.jpg; dupes --csv L/library.db --force",
                a[0] == 2 and b[0] == 2 and "refusing" in a[1] + b[1], lost(before), w.tracebacks, last_line(a[1]))


def case_link_keeper(w: World) -> Case:
    t = w.dir / "T"
    w.copy(t / "photos-2019" / "IMG_0001.jpg")
    (t / "Albums").mkdir()
    os.symlink("../photos-2019/IMG_0001.jpg", t / "Albums" / "fav.jpg")
    w.index(t)
    before = snapshot(t)
    code, text = w.run("dupes", "--remove-copies", "--yes")
    held = "nothing to remove" in text and (t / "photos-2019" / "IMG_0001.jpg").is_file()
    return Case("2. a link kept, the real file moved", "index T; dupes --remove-copies --yes", held, lost(before),
                w.tracebacks, last_line(text))


def case_two_paths(w: World) -> Case:
    out = w.dir / "OUT"
    for n in range(3):
        w.copy(out / f"p{n}.jpg", "pizza", n)
    p = w.dir / "P"
    p.mkdir()
    os.symlink(out, p / "ext")
    w.index(p)
    w.index(out)
    before = snapshot(out)
    code, text = w.run("dupes", "--remove-copies", "--yes")
    w.undo_all()
    return Case("3. one file by two paths", "ln -s OUT P/ext; index P; index OUT; dupes --remove-copies --yes",
                "nothing to remove" in text and lost(before) == 0, lost(before), w.tracebacks, last_line(text))


def case_race(w: World) -> Case:
    t = w.dir / "T"
    w.copy(t / "a" / "x.jpg")
    w.copy(t / "b" / "x.jpg")
    w.copy(t / "a" / "other.jpg", "cup")
    w.index(t)
    before = snapshot(t)
    held_locks = []
    for name in (".library.lock", ".removal.lock"):  # another writer holds the library as both start
        fh = open(w.lib / name, "a+b")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        held_locks.append(fh)
    slow = {"PHOTOSIM_TEST_MOVE_DELAY": "1"}
    procs = [w.start("trash", t / "a" / "x.jpg", env=slow), w.start("trash", t / "b" / "x.jpg", env=slow)]
    time.sleep(4)
    for fh in held_locks:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
    results = [w.wait(p) for p in procs]
    left = sum((t / d / "x.jpg").is_file() for d in "ab")
    w.undo_all()
    refused = [text for code, text in results if code == 2]
    return Case("4. two trash calls at once", "trash T/a/x.jpg & trash T/b/x.jpg (both waiting on the lock)",
                left == 1 and len(refused) == 1, lost(before), w.tracebacks,
                f"copies left in place: {left}; " + (last_line(refused[0]) if refused else ""))


def case_changed_copy(w: World) -> Case:
    t = w.dir / "T"
    w.copy(t / "original.jpg")
    w.copy(t / "copy.jpg")
    w.index(t)
    shutil.copyfile(photo("cup"), t / "copy.jpg")
    before = snapshot(t)
    code, text = w.run("trash", t / "original.jpg")
    w.undo_all()
    return Case("5. the other copy's bytes replaced", "cp other.jpg T/copy.jpg; trash T/original.jpg",
                code == 2 and (t / "original.jpg").is_file(), lost(before), w.tracebacks, last_line(text))


def case_folder_link(w: World) -> Case:
    orig = w.dir / "ORIG"
    for n in range(2):
        w.copy(orig / f"pizza_{n + 1:04d}.jpg", "pizza", n)
    t = w.dir / "T"
    w.copy(t / "cup.jpg", "cup")
    os.symlink(orig, t / "0link")
    w.run("folders", "protect", orig)
    w.index(t)
    before = snapshot(orig)
    code, text = w.run("trash", t / "0link" / "pizza_0001.jpg")
    w.undo_all()
    return Case("6. a folder link out of the indexed tree", "ln -s ORIG T/0link; folders protect ORIG; index T; "
                "trash T/0link/pizza_0001.jpg", code == 2, lost(before), w.tracebacks, last_line(text))


def case_protect_link(w: World) -> Case:
    real = w.dir / "REAL"
    w.copy(real / "Originals" / "x.jpg")
    os.symlink(real, w.dir / "HOME")
    w.index(real)
    w.run("folders", "protect", w.dir / "HOME" / "Originals")
    before = snapshot(real)
    code, text = w.run("trash", real / "Originals" / "x.jpg")
    w.undo_all()
    return Case("7. protect through a linked path", "ln -s REAL HOME; index REAL; folders protect HOME/Originals; "
                "trash REAL/Originals/x.jpg", code == 2 and "protected" in text, lost(before), w.tracebacks,
                last_line(text))


def case_blocked_undo(w: World) -> Case:
    t = w.dir / "T"
    for d, kind in (("a", "pizza"), ("b", "cup"), ("c", "camera")):
        w.copy(t / d / "p.jpg", kind)
    elsewhere = w.dir / "elsewhere"
    elsewhere.mkdir()
    w.index(t)
    before = snapshot(t)
    w.run("trash", *(t / d / "p.jpg" for d in "abc"))
    (t / "a").rmdir()
    (t / "a").write_text("a file now")
    (t / "b").rmdir()
    os.symlink(elsewhere, t / "b")
    code, text = w.run("undo")
    first = (t / "c" / "p.jpg").is_file() and not any(elsewhere.iterdir())
    (t / "a").unlink()
    (t / "b").unlink()
    again, text2 = w.run("undo")
    return Case("8. one photo cannot go back", "trash 3; a/ becomes a file, b/ a link; undo; fix; undo",
                code == 1 and first and again == 0, lost(before), w.tracebacks,
                last_line(text) + " → then: " + last_line(text2))


def case_two_index(w: World) -> Case:
    big, small = w.dir / "A", w.dir / "B"
    for kind in ("pizza", "cup", "camera", "accordion"):
        for n in range(10):
            w.copy(big / kind / f"{n}.jpg", kind, n)
    for n in range(5):
        w.copy(small / f"{n}.jpg", "chair", n)
    before = {**snapshot(big), **snapshot(small)}
    first = w.start("index", "-q", big)
    lock = w.lib / ".library.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = w.start("index", "-q", small)
    (c1, _), (c2, t2) = w.wait(first), w.wait(second)
    return Case("9. two index runs on one library", "index A & index B (A re-adapts)",
                c1 == 0 and c2 == 0 and "waiting" in t2, lost(before), w.tracebacks,
                next((line for line in t2.splitlines() if "waiting" in line), last_line(t2))[:160])


def case_quarantine(w: World) -> Case:
    t = w.dir / "T"
    for n in range(3):
        w.copy(t / f"{n}.jpg", "pizza", n)
    w.index(t)
    before = snapshot(t)
    w.run("trash", t / "0.jpg")
    code, text = w.run("index", w.lib / ".photosim-trash")
    w.undo_all()
    w.index(t)
    code2, info = w.run("info")
    return Case("10. indexing the quarantine", "trash T/0.jpg; index L/.photosim-trash; undo; index",
                code == 2 and "0 missing" in info, lost(before), w.tracebacks, last_line(text))


def case_damaged(w: World) -> Case:
    t = w.dir / "T"
    for n in range(3):
        w.copy(t / f"{n}.jpg", "pizza", n)
    huge = t / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(12 * 2**30)  # sparse
    code_i, text_i = w.run("index", "-q", "--no-adapt", t)
    huge.unlink()
    before = snapshot(t)
    con = sqlite3.connect(w.lib / "library.db")
    con.execute("UPDATE models SET spec = CAST(x'7ba0ff7d' AS TEXT) WHERE id = 0")
    con.commit()
    con.close()
    code, text = w.run("info")
    code_r, text_r = w.run("repair")
    return Case("11. flipped bytes in the database; a 12 GB .jpg", "index T (with a 12 GB file); corrupt a text; info; "
                "repair", code_i == 0 and "3 embedded" in text_i and code == 2 and "damaged" in text
                and "codec" not in text, lost(before), w.tracebacks, last_line(text))


CASES = (case_outputs, case_link_keeper, case_two_paths, case_race, case_changed_copy, case_folder_link,
         case_protect_link, case_blocked_undo, case_two_index, case_quarantine, case_damaged)


def adversary(work: Path) -> list[Case]:
    out = []
    for make in CASES:
        w = World(work, make.__name__)
        out.append(make(w))
    return out


if __name__ == "__main__":
    import tempfile

    os.environ.setdefault("PHOTOSIM_CACHE", str(ROOT / ".pytest_cache" / "photosim-cache"))
    with tempfile.TemporaryDirectory(prefix="photosim-adversary-") as d:
        for c in adversary(Path(d)):
            print(f"{'held' if c.held else 'FAILED'}  lost {c.lost}  tracebacks {c.tracebacks}  {c.name}: {c.said}")
