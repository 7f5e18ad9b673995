"""Index folders: scan, skip what is unchanged, recognise moves, embed the rest.

Every batch is one transaction (photos, vectors, errors, in-flight marks), so
a crash or a cancel keeps everything finished before it and never stores a
photo without its vector. The HNSW index is saved at checkpoints and at the
end; if the process dies in between, its sidecar no longer matches SQLite and
it is rebuilt on the next load.

Files are marked in flight (committed) before they are decoded and unmarked
in the transaction that stores them. If the process dies, the next run finds
the marks: those files are decoded first in a child process
(:mod:`photosim.core.safe_decode`), so a file that crashes a native decoder
is reported and skipped instead of killing every later run too.

A library folder that is missing or empty (an unplugged drive) only marks its
photos offline; nothing is ever deleted because it was not found.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..core import safe_decode, verify
from ..core.decode import content_hash, decode_bytes, read_photo_bytes
from ..core.embed import embed_files, make_engine
from ..core.paths import same_file, under_any
from ..core.scan import scan
from ..core.types import DecodeError, FileStat, PhotoState, TaskContext
from ..store import removals
from ..store import checks as check_store
from ..store import repositories as repo
from ..store.db import WRITE_ERRORS
from ..store.library import Library
from . import UserError
from .folders import scan_plan
from .library import writing
from .models import map_new_photos
from .views import ViewSampler

CHECKPOINT_SECONDS = 20.0
_DISK_FULL = (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))


@dataclass
class IndexReport:
    scanned: int = 0
    unchanged: int = 0
    embedded: int = 0
    moved: int = 0
    failed: int = 0
    missing: int = 0
    aliases: int = 0  # other names (links, hard links) of photos listed once, at their real path
    offline_folders: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    errors: list[DecodeError] = field(default_factory=list)
    engine_note: str = ""  # why embedding did not run on ONNX Runtime, when it did not

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
    """Index ``paths`` (no paths: rescan every library folder). A full disk stops it with a
    UserError; everything committed before stays."""
    try:
        with writing(lib, "indexing", ctx):
            return _index(lib, paths, ctx, engine, batch_size, retry_errors)
    except (*WRITE_ERRORS, OSError) as exc:
        if not _is_disk_full(exc):
            raise
        raise UserError("the disk is full (or the file-size limit was reached): indexing stopped. "
                        "Everything indexed before is kept; free some space and run it again.") from exc


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in _DISK_FULL
    text = str(getattr(exc, "orig", exc)).lower()
    return "disk is full" in text or "disk i/o error" in text


def _index(lib: Library, paths: list[str], ctx: TaskContext, engine, batch_size: int,
           retry_errors: bool) -> IndexReport:
    """Scan, compare with the library (size + mtime), mark what vanished, embed the rest."""
    start = time.monotonic()
    plan = scan_plan(lib, paths)
    roots, offline = plan.roots, plan.offline
    if not roots and not offline:
        raise UserError("no folders to index: name at least one folder")
    with lib.db.session() as s:
        repo.add_folders(s, [r for r in roots if os.path.isdir(r)])
        watched = repo.list_folders(s)
    ctx.progress(0, 0, "scanning")
    found = scan(roots, ctx.cancelled, inside=watched, excluded=[lib.directory])
    report = IndexReport(scanned=len(found.files), offline_folders=offline, aliases=len(found.aliases))
    if ctx.cancelled():
        report.cancelled = True
        return report
    present = {f.path for f in found.files}
    known, bad = _record_scan_errors(lib, found, present, roots, report)
    todo, revived = _changed(found.files, known, bad, retry_errors, report)
    by_hash = _settle_states(lib, known, present, roots, offline, revived, report)
    todo = _screen_suspects(lib, todo, report)
    if todo:
        with verify.one_thread_each():  # only when there is something to decode: importing cv2 takes 0.2 s
            _embed(lib, todo, _MoveFinder(by_hash, present, offline), ctx, engine, batch_size, report)
    report.seconds = time.monotonic() - start
    return report


def _record_scan_errors(lib: Library, found, present: set[str], roots: list[str], report: IndexReport):
    """Keep what the scan could not read; forget errors of files that are gone (deleted, renamed: the
    new name is scanned). Returns the library's (stat map, error map) as they were."""
    reported = {e.path for e in found.errors}
    with lib.db.session() as s:
        known = repo.stat_map(s)
        bad = repo.error_map(s)
        for e in found.errors:  # dangling links, link loops, unreadable folders, named pipes
            repo.record_error(s, e)
        repo.clear_errors(s, [p for p in bad if p not in present and p not in reported and under_any(p, roots)])
    report.errors.extend(found.errors)
    report.failed += len(found.errors)
    return known, bad


def _changed(files: list[FileStat], known: dict, bad: dict, retry_errors: bool,
             report: IndexReport) -> tuple[list[FileStat], list[int]]:
    """(files to read, ids of missing photos found again unchanged)."""
    todo: list[FileStat] = []
    revived: list[int] = []
    for f in files:
        k = known.get(f.path)
        if k and k[1] == f.size and k[2] == f.mtime_ns and k[3] != PhotoState.ERROR.value:
            report.unchanged += 1
            if k[3] == PhotoState.MISSING.value:
                revived.append(k[0])
        elif not retry_errors and bad.get(f.path) == (f.size, f.mtime_ns):
            report.unchanged += 1  # the same broken file as last time: reported, not retried
        else:
            todo.append(f)
    return todo, revived


def _settle_states(lib: Library, known: dict, present: set[str], roots: list[str], offline: list[str],  # noqa: PLR0913 - the scan's findings, passed down from _index
                   revived: list[int], report: IndexReport) -> dict[str, list[tuple[int, str]]]:
    """Photos under the scanned roots that were not found, and every photo of an offline folder:
    marked missing, never purged (the drive may come back). Returns the photos by content hash,
    for telling a move from a new photo (those in the quarantine left out: undo brings them back)."""
    gone = {path: v[0] for path, v in known.items()
            if v[3] != PhotoState.MISSING.value and path not in present
            and (under_any(path, roots) or under_any(path, offline))}
    by_hash: dict[str, list[tuple[int, str]]] = {}
    with lib.db.session() as s:
        repo.set_state(s, revived, PhotoState.OK)
        repo.set_state(s, gone.values(), PhotoState.MISSING)
        removed = set(removals.quarantined_facts(s))
        for photo in repo.all_photos(s):
            if photo.content_hash and photo.id not in removed:
                by_hash.setdefault(photo.content_hash, []).append((photo.id, photo.path))
    report.missing = len(gone)
    return by_hash


@dataclass
class _Alias:
    """A new path that is another name of a photo already in the library (a hard link made since)."""

    stat: FileStat
    photo_id: int


class _MoveFinder:
    """Recognises a new path whose bytes belong to a photo that is no longer at its old path,
    and a new path that is the same file as a photo already known (one photo, never two).

    A photo of an offline folder is not "moved" to a copy found elsewhere: its
    own file is only out of reach and comes back with the drive. An old path that
    is a link to the new one (a library made before photos were known by their
    real paths) is a move: the photo keeps its vector and its labels.
    """

    def __init__(self, by_hash: dict[str, list[tuple[int, str]]], present: set[str], offline: list[str]) -> None:
        self._by_hash = by_hash
        self._present = present
        self._offline = offline
        self._claimed: set[int] = set()
        self._lock = threading.Lock()

    def owner(self, digest: str, path: str) -> int | None:
        for photo_id, old_path in self._by_hash.get(digest, ()):
            if under_any(old_path, self._offline):
                continue  # only out of reach
            if old_path in self._present or os.path.lexists(old_path):
                if not (os.path.islink(old_path) and same_file(old_path, path)):
                    continue  # the old file is still there: a copy, not a move
            with self._lock:
                if photo_id not in self._claimed:
                    self._claimed.add(photo_id)
                    return photo_id
        return None

    def alias_of(self, digest: str, path: str) -> int | None:
        """The photo that ``path`` is another name of (same device and inode), if any."""
        for photo_id, old_path in self._by_hash.get(digest, ()):
            if old_path != path and old_path in self._present and same_file(old_path, path):
                return photo_id
        return None


def _screen_suspects(lib: Library, todo: list[FileStat], report: IndexReport) -> list[FileStat]:
    """Files left in flight by a run that died are decoded in a child first; culprits are reported."""
    with lib.db.session() as s:
        suspects = repo.in_flight(s)
    if not suspects:
        return todo
    pending = {f.path: f for f in todo}
    culprits = safe_decode.probe([p for p in suspects if p in pending])
    errors = [DecodeError(p, pending[p].size, pending[p].mtime_ns, reason) for p, reason in culprits.items()]
    with lib.db.session() as s:
        for e in errors:
            repo.record_error(s, e)
        repo.clear_in_flight(s, list(suspects))
    report.errors.extend(errors)
    report.failed += len(errors)
    return [f for f in todo if f.path not in culprits]


def _marked_in_flight(lib: Library, todo: list[FileStat], chunk: int) -> Iterator[FileStat]:
    """Yield ``todo``, committing in-flight marks a chunk ahead of the decoder."""
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        with lib.db.session() as s:
            repo.mark_in_flight(s, [f.path for f in part])
        yield from part


def _embed(lib: Library, todo: list[FileStat], moves: _MoveFinder, ctx: TaskContext, engine, batch_size: int,  # noqa: PLR0913 - the run's state, passed down from _index
           report: IndexReport) -> None:
    """Read each file once (hash + reduced decode), embed in batches, one transaction per batch;
    the index is saved at checkpoints, at the end, and on the way out of a failure. (Seven
    parameters: the run's state, passed down from _index.)"""
    spec = lib.base_spec()
    if engine is None:
        engine = make_engine(spec)
        _note_engine(lib, engine, report)
    active, total, done, last_save = lib.active_model, len(todo), 0, time.monotonic()

    def read(f: FileStat):
        got = read_photo_bytes(f.path, f)
        if isinstance(got, DecodeError):
            return got
        data, st = got
        digest = content_hash(data)
        stat_now = FileStat(f.path, st.st_size, st.st_mtime_ns)
        known = moves.alias_of(digest, f.path)
        if known is not None:
            return _Alias(stat_now, known)
        owner = moves.owner(digest, f.path)
        if owner is not None:
            return _Moved(stat_now, owner)
        return decode_bytes(f.path, data, st.st_size, st.st_mtime_ns, spec.size, digest)

    ctx.progress(0, total, "embedding")
    views = ViewSampler.for_run(lib, engine, total)
    try:
        files = _marked_in_flight(lib, todo, batch_size)
        for batch in embed_files(files, engine, batch_size=batch_size, cancelled=ctx.cancelled, decode=read):
            ids = _store_batch(lib, active, batch, report)
            views.add(ids, batch.photos, ctx.cancelled)
            done += len(batch.photos) + len(batch.errors) + len(batch.others)
            ctx.progress(done, total, "embedding")
            if time.monotonic() - last_save > CHECKPOINT_SECONDS:
                lib.save_index()
                last_save = time.monotonic()
    except BaseException:
        try:
            views.close()  # the views in flight are stored or dropped; the first error is the one to report
        except Exception:  # noqa: BLE001
            pass
        try:  # keep what the index holds if we can; the first error is the one to report
            lib.save_index()
        except Exception:  # noqa: BLE001 - the sidecar then mismatches and the index is rebuilt
            pass
        raise
    report.cancelled = ctx.cancelled()
    if report.cancelled:  # files whose decoding was abandoned by a cancel are no suspects
        with lib.db.session() as s:
            repo.clear_in_flight(s, [f.path for f in todo[done:]])
    lib.save_index()
    views.finish()


def _note_engine(lib: Library, engine, report: IndexReport) -> None:
    """Say it when the engine fell back to torch (the window's status bar, `photosim info`)."""
    report.engine_note = getattr(engine, "fallback", None) or ""
    try:
        if report.engine_note:
            lib.db.set_meta("engine_fallback", report.engine_note)
        else:
            lib.db.delete_meta("engine_fallback")
    except WRITE_ERRORS:  # a note only: a busy library gets it next time
        pass


def _store_batch(lib: Library, active: int, batch, report: IndexReport) -> list[int]:
    """One batch in one transaction: photos, vectors, keypoints, errors, moves; then the index.
    Returns the ids of the photos embedded (in the order of ``batch.photos``)."""
    with lib.db.session() as s:
        ids = repo.upsert_decoded_many(s, batch.photos)
        if ids:
            repo.put_vectors(s, 0, ids, batch.vectors)
            check_store.put_keypoints(s, ids, [d.keypoints for d in batch.photos])
        for e in batch.errors:
            repo.record_error(s, e)
        for m in batch.others:
            if isinstance(m, _Moved):
                repo.move_photo(s, m.photo_id, m.stat.path, m.stat)
        if ids and active != 0:  # an adapted version also augments them from their neighbours
            active_vectors = map_new_photos(lib, s, active, batch.vectors)
            repo.put_vectors(s, active, ids, active_vectors)
        repo.clear_in_flight(s, [d.path for d in batch.photos] + [e.path for e in batch.errors]
                             + [m.stat.path for m in batch.others])
    if ids:
        lib.add_to_index(active, np.asarray(ids), batch.vectors if active == 0 else active_vectors)
    report.embedded += len(ids)
    report.moved += sum(isinstance(m, _Moved) for m in batch.others)
    report.aliases += sum(isinstance(m, _Alias) for m in batch.others)
    report.failed += len(batch.errors)
    report.errors.extend(batch.errors)
    return ids
