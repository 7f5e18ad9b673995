"""Test helpers importable from any test module (`from support.helpers import ...`)."""
from __future__ import annotations

import hashlib
import os
import stat
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository
SHARED = ROOT.parent / "shared" / "data"
CALTECH = SHARED / "caltech101-20"


def caltech_or_skip() -> Path:
    """The shared real photos. Missing on a developer's machine: the test is skipped, saying so.
    Missing in CI (CI=true): the test fails, so a run that tested nothing real cannot pass."""
    if not CALTECH.is_dir():
        message = f"shared photos not found at {CALTECH}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}: CI must provide them", pytrace=False)
        pytest.skip(f"{message} (tests that need real photos are skipped)")
    return CALTECH


def copy_photos(dest: Path, classes: tuple[str, ...] = ("accordion", "camera", "pizza"), per_class: int = 6) -> Path:
    """A small tree of real photos: one folder per class."""
    src = caltech_or_skip()
    for c in classes:
        (dest / c).mkdir(parents=True, exist_ok=True)
        for f in sorted((src / c).iterdir())[:per_class]:
            shutil.copy2(f, dest / c / f.name)
    return dest


class Recorder:
    """A TaskContext that records progress and can be told to stop after N reports."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.reports: list[tuple[int, int, str]] = []
        self.stop_after = stop_after

    def progress(self, done: int, total: int, text: str = "") -> None:
        self.reports.append((done, total, text))

    def cancelled(self) -> bool:
        return self.stop_after is not None and sum(1 for r in self.reports if r[0] > 0) >= self.stop_after


def joined_groups(found) -> list[set[str]]:
    """The paths of `dupes` groups as a person sees them: groups that share a photo (exact and near) joined."""
    groups: list[set[str]] = []
    for g in found:
        paths = {p.path for p in g.photos}
        for other in [o for o in groups if o & paths]:
            paths |= other
            groups.remove(other)
        groups.append(paths)
    return groups


def tree_digest(root: Path) -> dict[str, tuple]:
    """path -> (kind, mode, and for files: size, mtime_ns, sha256); folders list their entries."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        st = os.lstat(folder)
        out[rel] = ("dir", stat.S_IMODE(st.st_mode), tuple(sorted(dirs + files)))
        for name in files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            out[os.path.join(rel, name)] = ("file", stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns, digest)
    return out
