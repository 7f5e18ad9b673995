"""A library = the SQLite database plus the derived HNSW index of the active model.

The index file is a cache: it is loaded when its sidecar matches what SQLite
holds for that model version, and rebuilt from SQLite (then saved atomically)
when it is missing, stale or corrupt. One index file per model version, so an
index never mixes versions.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading

import numpy as np

from ..core.spec import EmbeddingSpec
from ..core.index import VectorIndex
from ..core.memo import Memo
from . import removals
from . import repositories as repo
from .db import Database


class Library:
    def __init__(self, directory: str, spec: EmbeddingSpec | None = None, create: bool = True,
                 check: bool = True) -> None:
        self.db = Database(directory, spec, create=create, check=check)
        self.directory = self.db.directory
        self._indexes: dict[int, VectorIndex] = {}  # loaded indexes, by model version
        self._lock = threading.RLock()
        self.memo = Memo()  # what services derive from this library's versions (core/memo.py)
        # A removal or undo killed half way is settled before anything reads the photos' states.
        self.recovery = removals.recover(self.db)

    # --- model versions ----------------------------------------------------------------
    @property
    def active_model(self) -> int:
        return int(self.db.get_meta("active_model", "0"))

    def set_active_model(self, model_id: int) -> None:
        self.db.set_meta("active_model", str(model_id))

    def base_spec(self) -> EmbeddingSpec:
        return self.db.base_spec()

    # --- the index ----------------------------------------------------------------------
    def index_path(self, model_id: int) -> str:
        return os.path.join(self.directory, f"index-m{model_id}.hnsw")

    def index_state(self, model_id: int | None = None) -> str:
        model_id = self.active_model if model_id is None else model_id
        path = self.index_path(model_id)
        if not os.path.exists(path):
            return "missing (will be rebuilt on next use)"
        return "current" if self._sidecar_matches(model_id) else "stale (will be rebuilt on next use)"

    def index(self, model_id: int | None = None) -> VectorIndex:
        """The HNSW index of ``model_id`` (default: active), loaded or rebuilt as needed."""
        model_id = self.active_model if model_id is None else model_id
        with self._lock:
            if model_id in self._indexes:
                return self._indexes[model_id]
            index = None
            if self._sidecar_matches(model_id):
                try:
                    index = VectorIndex.load(self.index_path(model_id), self._sidecar(model_id)["dim"])
                except Exception:  # noqa: BLE001 - a corrupt cache file is rebuilt, never fatal
                    index = None
            if index is None:
                index = self.rebuild_index(model_id)
            self._indexes[model_id] = index
            return index

    def rebuild_index(self, model_id: int, ids: np.ndarray | None = None,
                      vectors: np.ndarray | None = None, progress=None) -> VectorIndex:
        """Build the index from SQLite, or from ``ids``/``vectors`` the caller just stored there.
        ``progress(done, total)``: see VectorIndex.build."""
        if ids is None or vectors is None:
            with self.db.session() as s:
                ids, vectors = repo.get_vectors(s, model_id)
        index = VectorIndex.build(ids, vectors, progress) if len(ids) else VectorIndex(1, 16)
        with self._lock:
            self._indexes[model_id] = index
            self.save_index(model_id)
        return index

    def add_to_index(self, model_id: int, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add freshly stored vectors to the loaded index (the caller saves at checkpoints)."""
        with self._lock:
            index = self.index(model_id)
            if index.count() == 0 and index.dim != vectors.shape[1]:
                index = VectorIndex(vectors.shape[1], max(1024, len(ids)))
                self._indexes[model_id] = index
            index.add(ids, vectors)

    def save_index(self, model_id: int | None = None) -> None:
        """Save the loaded index of ``model_id`` (default: every loaded one)."""
        with self._lock:
            if model_id is None:
                for m in list(self._indexes):
                    self.save_index(m)
                return
            index = self._indexes.get(model_id)
            if index is None:
                return
            ids = index.ids()
            # The sidecar records what the file holds; if SQLite moved on (a crash between
            # the commit and this save), the mismatch makes the next load rebuild.
            index.save(self.index_path(model_id))
            meta = {"model": model_id, "count": int(len(ids)), "id_sum": int(ids.sum()) if len(ids) else 0,
                    "dim": index.dim}
            _atomic_write(self._sidecar_path(model_id), json.dumps(meta))

    def remove_index(self, model_id: int) -> None:
        """Forget a removed model version's index (loaded copy and files)."""
        with self._lock:
            self._indexes.pop(model_id, None)
            for path in (self.index_path(model_id), self._sidecar_path(model_id)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def drop_cached_index(self) -> None:
        with self._lock:
            self._indexes.clear()

    def _sidecar_path(self, model_id: int) -> str:
        return self.index_path(model_id) + ".json"

    def _sidecar(self, model_id: int) -> dict:
        with open(self._sidecar_path(model_id)) as fh:
            return json.load(fh)

    def _sidecar_matches(self, model_id: int) -> bool:
        if not os.path.exists(self.index_path(model_id)):
            return False
        try:
            meta = self._sidecar(model_id)
        except (OSError, ValueError):
            return False
        with self.db.session() as s:
            n, total = repo.vector_fingerprint(s, model_id)
        return meta.get("model") == model_id and meta.get("count") == n and meta.get("id_sum") == total

    def close(self) -> None:
        self.db.close()


def _atomic_write(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk: no empty temporary file left behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
