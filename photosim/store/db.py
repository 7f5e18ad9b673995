"""Open (or create) a library: a folder holding library.db and the derived HNSW index.

WAL mode lets a second process (or the GUI) read while the indexer writes.
The schema carries a version number; `MIGRATIONS` upgrades older files in
place, one step at a time, inside a transaction.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator
from urllib.parse import quote

from sqlalchemy import URL, Engine, create_engine, event, select, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..core.spec import EmbeddingSpec
from .schema import (SCHEMA_VERSION, Base, KeypointRow, Meta, ModelVersion, PairCheck, ProtectedFolder, ViewRow,
                     RemovalBatch)

DB_NAME = "library.db"

#: What a write to a busy, read-only or full library raises: services catch these without knowing SQL.
WRITE_ERRORS: tuple[type[Exception], ...] = (OperationalError, sqlite3.OperationalError)


class LibraryError(Exception):
    """The library cannot be opened or used; the message says why in one line."""


#: A library whose database is at most this large is checked (PRAGMA quick_check) each time it
#: is opened; a larger one when an error says it may be damaged, and by `photosim repair`.
QUICK_CHECK_BYTES = 16 << 20
#: What SQLite raises on a damaged file (and on a busy or read-only one: WRITE_ERRORS first).
DATABASE_ERRORS: tuple[type[Exception], ...] = (DatabaseError, sqlite3.DatabaseError)


#: How long a writer waits for another (indexing holds a transaction per batch of 32 photos).
BUSY_TIMEOUT_S = 10.0


def connect(path: str, read_only: bool = False, wait: float = BUSY_TIMEOUT_S, shared: bool = False,
            autocommit: bool = False) -> sqlite3.Connection:
    """Every DB-API connection photosim opens to a library file (SQLAlchemy's are set up by the
    same ``configure``): never creates the file (mode rw/ro: a library that went away is not made
    again, empty); ``read_only`` ones cannot write (query_only); ``shared``: usable from any thread
    (the caller serialises); ``autocommit``: the caller issues BEGIN and COMMIT."""
    con = sqlite3.connect(f"file:{quote(path)}?mode={'ro' if read_only else 'rw'}", uri=True, timeout=wait,
                          check_same_thread=not shared, isolation_level=None if autocommit else "")
    configure(con, read_only, wait)
    return con


def configure(con, read_only: bool = False, wait: float = BUSY_TIMEOUT_S) -> None:
    """The settings every connection of a library has: WAL (set by writers: it is kept in the file),
    synchronous NORMAL (durable across app crashes, fast with WAL), foreign keys, a busy timeout."""
    cur = con.cursor()
    if not read_only:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    if read_only:
        cur.execute("PRAGMA query_only=ON")
    cur.close()


def quick_check(path: str) -> str | None:
    """None if SQLite's quick_check finds nothing wrong in the database file at ``path``, else its
    first complaint (read-only: a check never writes)."""
    try:
        con = connect(path, read_only=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA quick_check")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        return str(exc)
    return None if rows == ["ok"] else rows[0]


def damaged(path: str, what: str) -> str:
    """The sentence a damaged library gets, naming the file and what to do."""
    return (f"the library database {path} is damaged ({what}); 'photosim repair' checks it and rebuilds "
            "what can be rebuilt (your photos are not touched)")


def _create_v1(conn) -> None:
    Base.metadata.create_all(conn)


def _add_keypoints_v2(conn) -> None:
    # A library from before keypoints were stored: its photos get theirs when `dupes` first reads them.
    KeypointRow.__table__.create(conn, checkfirst=True)


def _removal_journal_v3(conn) -> None:
    # Moves get a state (pending before the rename, done after it) so a crash between the two is
    # finished or rolled back on the next start; batches get their own table so two processes never
    # take the same batch number. A new library already has all of it (create_all at version 1).
    columns = {row[1] for row in conn.execute(text("PRAGMA table_info(trash_moves)"))}
    if "state" not in columns:
        conn.execute(text("ALTER TABLE trash_moves ADD COLUMN state VARCHAR(10) NOT NULL DEFAULT 'done'"))
        conn.execute(text("UPDATE trash_moves SET state = 'restored' WHERE restored"))
    if "restored_path" not in columns:
        conn.execute(text("ALTER TABLE trash_moves ADD COLUMN restored_path BLOB"))
    if "size" not in columns:
        conn.execute(text("ALTER TABLE trash_moves ADD COLUMN size INTEGER"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_trash_moves_state ON trash_moves (state)"))
    RemovalBatch.__table__.create(conn, checkfirst=True)
    ProtectedFolder.__table__.create(conn, checkfirst=True)
    conn.execute(text("INSERT OR IGNORE INTO removal_batches (id, label, at) "
                      "SELECT batch, 'trash', min(at) FROM trash_moves GROUP BY batch"))


def _add_shot_facts_v4(conn) -> None:
    # Photos indexed before have none: no capture instant (bursts are told by their pictures alone) and no
    # measures (`dupes` measures a burst's frames from their files once, and keeps them).
    for column, kind in (("taken_subsec", "VARCHAR(9)"), ("camera", "VARCHAR(64)"), ("sharpness", "FLOAT"),
                         ("exposure", "FLOAT")):
        if column not in {row[1] for row in conn.execute(text("PRAGMA table_info(photos)"))}:
            conn.execute(text(f"ALTER TABLE photos ADD COLUMN {column} {kind}"))


def _pair_checks_v5(conn) -> None:
    # Empty at first: pairs are checked as before, and their verdicts kept from then on.
    PairCheck.__table__.create(conn, checkfirst=True)


def _views_v6(conn) -> None:
    # Empty at first: the next indexing (or `photosim adapt`) makes the views of a sample of photos.
    ViewRow.__table__.create(conn, checkfirst=True)


#: version -> function that brings a database at version-1 up to version.
MIGRATIONS: dict[int, Callable] = {1: _create_v1, 2: _add_keypoints_v2, 3: _removal_journal_v3,
                                   4: _add_shot_facts_v4, 5: _pair_checks_v5, 6: _views_v6}


class Database:
    def __init__(self, directory: str, spec: EmbeddingSpec | None = None, create: bool = True,
                 check: bool = True) -> None:
        self.directory = os.path.abspath(directory)
        self.path = os.path.join(self.directory, DB_NAME)
        if not os.path.exists(self.path):
            if not create:
                raise LibraryError(f"no library at {self.directory}")
            try:
                os.makedirs(self.directory, exist_ok=True)
            except OSError as exc:
                raise LibraryError(f"cannot create the library folder {self.directory}: {exc.strerror}") from exc
        elif not os.access(self.path, os.R_OK):
            raise LibraryError(f"cannot read the library {self.path}: permission denied")
        # URL.create keeps the path as it is: in "sqlite:///<path>" a '?' in a folder name would start
        # the URL's query and the database would be made somewhere else.
        self.engine: Engine = create_engine(URL.create("sqlite", database=self.path), future=True)
        event.listen(self.engine, "connect", _on_connect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._now: sqlite3.Connection | None = None  # write_now's own connection, opened at its first write
        self._now_lock = threading.Lock()
        try:
            if check and os.path.exists(self.path) and os.path.getsize(self.path) <= QUICK_CHECK_BYTES:
                problem = self.quick_check()
                if problem:
                    raise LibraryError(damaged(self.path, problem))
            self._migrate(spec or EmbeddingSpec())
        except UnicodeDecodeError as exc:
            raise LibraryError(damaged(self.path, "a stored text is not valid UTF-8")) from exc
        except (DatabaseError, OperationalError, sqlite3.DatabaseError) as exc:
            text = str(exc.orig if hasattr(exc, 'orig') else exc)
            if "malformed" in text or "not a database" in text or "decode to utf-8" in text.lower():
                raise LibraryError(damaged(self.path, text)) from exc
            raise LibraryError(f"the library {self.path} cannot be opened: {text}") from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("PRAGMA user_version")).scalar() or 0)

    def _migrate(self, spec: EmbeddingSpec) -> None:
        with self.engine.begin() as conn:
            version = int(conn.execute(text("PRAGMA user_version")).scalar() or 0)
            if version > SCHEMA_VERSION:
                raise LibraryError(
                    f"the library was made by a newer photosim (schema {version}, this one knows {SCHEMA_VERSION})"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[step](conn)
                conn.execute(text(f"PRAGMA user_version = {step}"))
        with self.session() as s:
            if s.get(ModelVersion, 0) is None:
                s.add(ModelVersion(id=0, name="ImageNet (pretrained)", spec=json.dumps(spec.__dict__),
                                   parent_id=None, weights=None, summary="{}", created_at=time.time()))
                s.add(Meta(key="active_model", value="0"))

    # --- small key/value settings -------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        # A plain statement: `similar` reads a few of these on every query, and a session's
        # ORM get cost several times SQLite's answer.
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
        return row[0] if row else default

    def set_meta(self, key: str, value: str, session: Session | None = None) -> None:
        if session is not None:
            session.merge(Meta(key=key, value=value))
            return
        with self.session() as s:
            s.merge(Meta(key=key, value=value))

    def delete_meta(self, key: str) -> None:
        with self.session() as s:
            row = s.get(Meta, key)
            if row is not None:
                s.delete(row)

    def write_now(self, write: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``write`` (given a DB-API connection) in a transaction that never waits for another
        writer: it raises one of WRITE_ERRORS at once instead. For what may be written later (a cache),
        on a connection kept open for it: opening one costs several times such a write."""
        with self._now_lock:
            if self._now is None:
                # mode=rw: a library whose file went away is not made again, empty
                self._now = connect(self.path, wait=0, shared=True, autocommit=True)
            con = self._now
            con.execute("BEGIN IMMEDIATE")
            try:
                write(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def base_spec(self) -> EmbeddingSpec:
        with self.session() as s:
            row = s.execute(select(ModelVersion.spec).where(ModelVersion.id == 0)).scalar_one()
        return EmbeddingSpec(**json.loads(row))

    def quick_check(self) -> str | None:
        """None if SQLite's quick_check finds nothing wrong, else its first complaint."""
        return quick_check(self.path)

    def close(self) -> None:
        with self._now_lock:
            if self._now is not None:
                self._now.close()
                self._now = None
        self.engine.dispose()


def _on_connect(dbapi_conn, _record) -> None:
    configure(dbapi_conn)
