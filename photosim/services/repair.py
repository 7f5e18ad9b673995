"""`photosim repair`: check a library and rebuild what can be rebuilt from what is intact.

SQLite is the truth and everything else is derived from it, so a repair
checks the database first (``integrity_check``), rewrites it into a fresh file
when it is damaged but still readable (the damaged one is kept beside it),
checks every model version's stored weights, falls back to the plain model
(version 0) when the version in use is damaged, rebuilds every version's HNSW
file from the stored vectors, and removes what interrupted writes left behind
(temporary files, empty quarantine folders). No photo is touched.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field

from ..core.adapt import Projection
from ..core.paths import QUARANTINE
from ..store import model_versions as versions
from ..store.db import DB_NAME, LibraryError, connect
from ..store.library import Library
from .library import writing


@dataclass
class RepairReport:
    lines: list[str] = field(default_factory=list)  # what was found and done, one sentence each
    damaged: bool = False   # something was wrong (found and repaired, or left as said)
    unrepaired: bool = False  # something is still wrong: the lines say what to do


def check_database(path: str) -> list[str]:
    """The problems ``PRAGMA integrity_check`` lists for the database file at ``path`` ([]: none)."""
    try:
        con = connect(path, read_only=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def rewrite_database(directory: str) -> tuple[bool, str]:
    """Copy a damaged library.db into a fresh file with VACUUM INTO; if the copy checks out, it
    becomes library.db and the damaged file is kept beside it. (ok?, what happened)."""
    path = os.path.join(directory, DB_NAME)
    fresh = path + ".repaired"
    for leftover in (fresh,):
        if os.path.exists(leftover):
            os.unlink(leftover)
    try:
        con = connect(path, autocommit=True)  # VACUUM runs outside a transaction
        try:
            con.execute("VACUUM INTO ?", (fresh,))
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return False, f"it could not be copied into a fresh file ({exc})"
    problems = check_database(fresh)
    if problems:
        os.unlink(fresh)
        return False, f"a fresh copy is damaged too ({problems[0]})"
    kept = f"{path}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    os.replace(path, kept)
    for side in ("-wal", "-shm"):
        if os.path.exists(path + side):
            os.replace(path + side, kept + side)
    os.replace(fresh, path)
    return True, f"rewritten into a fresh file; the damaged one is kept as {kept}"


def repair(directory: str) -> RepairReport:
    """Check and repair the library in ``directory`` (see the module's text)."""
    out = RepairReport()
    path = os.path.join(directory, DB_NAME)
    if not os.path.exists(path):
        raise LibraryError(f"no library at {directory}")
    problems = check_database(path)
    if problems:
        out.damaged = True
        ok, what = rewrite_database(directory)
        out.lines.append(f"database: damaged ({problems[0]}{'; ...' if len(problems) > 1 else ''}); {what}")
        if not ok:
            out.unrepaired = True
            out.lines.append("the database cannot be repaired here: move the library folder aside and index your "
                             "folders again (your photos are not touched; quarantined photos stay in "
                             f"{os.path.join(directory, QUARANTINE)})")
            return out
    else:
        out.lines.append("database: integrity check ok")
    lib = Library(directory, check=False)
    try:
        with writing(lib, "repairing"):
            _check_models(lib, out)
            _rebuild_indexes(lib, out)
            _tidy(lib, out)
    finally:
        lib.close()
    return out


def _check_models(lib: Library, out: RepairReport) -> None:
    from ..core.train.apply import NumpyAdapter
    from .models import forget_model

    with lib.db.session() as s:
        ids = versions.model_ids(s)
    bad = []
    for model_id in ids:
        try:
            with lib.db.session() as s:
                row = versions.get_model(s, model_id)  # decodes its spec and summary
                if row.weights is not None:
                    if row.adapted:
                        Projection.from_bytes(row.weights)
                    else:
                        NumpyAdapter(row.weights)
        except Exception as exc:  # noqa: BLE001 - any failure to read it back is damage
            bad.append(model_id)
            out.damaged = True
            out.lines.append(f"model {model_id}: damaged ({type(exc).__name__}: {exc})")
    active = _active(lib)
    if active in bad or active not in ids:
        if 0 in bad:
            out.unrepaired = True
            out.lines.append("the plain model's record is damaged: move the library folder aside and index again")
            return
        lib.set_active_model(0)
        forget_model(lib, active)
        out.damaged = True
        out.lines.append(f"model {active} was in use and is damaged: back to the plain model (0); "
                         "'photosim adapt' or 'photosim train' makes a new one")
    elif not bad:
        out.lines.append(f"models: {len(ids)} version(s) readable")


def _active(lib: Library) -> int:
    try:
        return lib.active_model
    except ValueError:
        return -1


def _rebuild_indexes(lib: Library, out: RepairReport) -> None:
    active = lib.active_model
    with lib.db.session() as s:
        with_vectors = versions.models_with_vectors(s)
    for model_id in with_vectors:
        state = lib.index_state(model_id)
        if model_id == active or os.path.exists(lib.index_path(model_id)):
            lib.rebuild_index(model_id)
            out.lines.append(f"index of model {model_id}: rebuilt from the stored vectors (was {state})")


def _tidy(lib: Library, out: RepairReport) -> None:
    removed = 0
    for name in os.listdir(lib.directory):
        if name.startswith(".tmp-") and name.endswith(".json"):
            os.unlink(os.path.join(lib.directory, name))
            removed += 1
    quarantine = os.path.join(lib.directory, QUARANTINE)
    for folder, _, _ in sorted(os.walk(quarantine, topdown=False), reverse=False):
        try:
            os.rmdir(folder)  # only empty ones
        except OSError:
            pass
    if removed:
        out.lines.append(f"removed {removed} temporary file(s) an interrupted write left")
