"""Index folders: scan, skip what is unchanged, recognise moves, embed the rest.

Every batch is one transaction (photos, vectors, errors), so a crash or a
cancel keeps everything finished before it. The HNSW index is saved at
checkpoints and at the end; if the process dies in between, its sidecar no
longer matches SQLite and it is rebuilt on the next load.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.decode import content_hash, decode_bytes
from ..core.embed import embed_files, make_engine
from ..core.scan import scan
from ..core.types import DecodedPhoto, DecodeError, FileStat, PhotoState, TaskContext
from ..store import repositories as repo
from ..store.library import Library
from . import UserError
from .models import apply_model

CHECKPOINT_SECONDS = 20.0


@dataclass
class IndexReport:
    scanned: int = 0
    unchanged: int = 0
    embedded: int = 0
    moved: int = 0
    failed: int = 0
    missing: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    errors: list[DecodeError] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Moved:
    """A new path whose bytes are those of a photo the library lost track of."""

    stat: FileStat
    photo_id: int


def index_folders(lib: Library, paths: list[str], ctx: TaskContext, engine=None, batch_size: int = 32,
                  retry_errors: bool = False) -> IndexReport:
    start = time.monotonic()
    roots = []
    for p in paths:
        if not os.path.exists(p):
            raise UserError(f"no such file or folder: {p}")
        roots.append(os.path.abspath(p))
    with lib.db.session() as s:
        repo.add_folders(s, [r for r in roots if os.path.isdir(r)])

    ctx.progress(0, 0, "scanning")
    found = scan(roots, ctx.cancelled)
    report = IndexReport(scanned=len(found.files))
    if ctx.cancelled():
        report.cancelled = True
        return report

    with lib.db.session() as s:
        known = repo.stat_map(s)
        bad = repo.error_map(s)
        for e in found.errors:  # dangling links, unreadable folders
            repo.record_error(s, e)
    report.errors.extend(found.errors)
    report.failed += len(found.errors)

    present = {f.path for f in found.files}
    todo: list[FileStat] = []
    revived: list[int] = []
    for f in found.files:
        k = known.get(f.path)
        if k and k[1] == f.size and k[2] == f.mtime_ns and k[3] != PhotoState.ERROR.value:
            report.unchanged += 1
            if k[3] == PhotoState.MISSING.value:
                revived.append(k[0])
        elif not retry_errors and bad.get(f.path) == (f.size, f.mtime_ns):
            report.unchanged += 1  # the same broken file as last time: reported, not retried
        else:
            todo.append(f)

    # Photos under the scanned roots that were not found: offline, never purged.
    vanished = {path: v[0] for path, v in known.items()
                if v[3] != PhotoState.MISSING.value and path not in present and _under(path, roots)}
    with lib.db.session() as s:
        repo.set_state(s, revived, PhotoState.OK)
        repo.set_state(s, vanished.values(), PhotoState.MISSING)
        by_hash: dict[str, list[tuple[int, str]]] = {}
        for photo in repo.all_photos(s):
            if photo.content_hash:
                by_hash.setdefault(photo.content_hash, []).append((photo.id, photo.path))
    report.missing = len(vanished)

    if todo:
        _embed(lib, todo, _MoveFinder(by_hash, present), ctx, engine, batch_size, report)
    report.seconds = time.monotonic() - start
    return report


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class _MoveFinder:
    """Recognises a new path whose bytes belong to a photo that is no longer at its old path."""

    def __init__(self, by_hash: dict[str, list[tuple[int, str]]], present: set[str]) -> None:
        self._by_hash = by_hash
        self._present = present
        self._claimed: set[int] = set()
        self._lock = threading.Lock()

    def owner(self, digest: str) -> int | None:
        for photo_id, old_path in self._by_hash.get(digest, ()):
            if old_path in self._present or os.path.lexists(old_path):
                continue  # the old file is still there: this is a copy, not a move
            with self._lock:
                if photo_id not in self._claimed:
                    self._claimed.add(photo_id)
                    return photo_id
        return None


def _embed(lib: Library, todo: list[FileStat], moves: _MoveFinder, ctx: TaskContext, engine, batch_size: int,
           report: IndexReport) -> None:
    spec = lib.base_spec()
    engine = engine or make_engine(spec)
    active = lib.active_model
    total = len(todo)
    done = 0
    last_save = time.monotonic()

    def read(f: FileStat):
        try:
            with open(f.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                data = fh.read()
        except OSError as exc:
            from ..core.decode import _os_reason

            return DecodeError(f.path, f.size, f.mtime_ns, _os_reason(exc))
        owner = moves.owner(content_hash(data))
        if owner is not None:
            return _Moved(FileStat(f.path, st.st_size, st.st_mtime_ns), owner)
        return decode_bytes(f.path, data, st.st_size, st.st_mtime_ns, spec.size)

    ctx.progress(0, total, "embedding")
    try:
        for batch in embed_files(todo, engine, batch_size=batch_size, cancelled=ctx.cancelled, decode=read):
            with lib.db.session() as s:
                ids = [repo.upsert_decoded(s, d) for d in batch.photos]
                if ids:
                    repo.put_vectors(s, 0, ids, batch.vectors)
                for e in batch.errors:
                    repo.record_error(s, e)
                for m in batch.others:
                    repo.move_photo(s, m.photo_id, m.stat.path, m.stat)
                if ids and active != 0:
                    active_vectors = apply_model(s, active, batch.vectors)
                    repo.put_vectors(s, active, ids, active_vectors)
            if ids:
                lib.add_to_index(active, np.asarray(ids), batch.vectors if active == 0 else active_vectors)
            report.embedded += len(ids)
            report.moved += len(batch.others)
            report.failed += len(batch.errors)
            report.errors.extend(batch.errors)
            done += len(batch.photos) + len(batch.errors) + len(batch.others)
            ctx.progress(done, total, "embedding")
            if time.monotonic() - last_save > CHECKPOINT_SECONDS:
                lib.save_index()
                last_save = time.monotonic()
    finally:
        report.cancelled = ctx.cancelled()
        lib.save_index()
