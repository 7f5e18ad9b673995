"""What the library holds: counts, model, index state, errors; and the numpy export."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from ..core.types import DecodeError, PhotoState
from ..store import model_versions as versions
from ..store import repositories as repo
from ..store.db import DB_NAME
from ..store.library import Library
from .outputs import write_output


@dataclass(frozen=True)
class DiskUse:
    database: int  # bytes, with the write-ahead log
    index: int
    per_photo: int | None


@dataclass(frozen=True)
class LibraryInfo:
    """What `photosim info` shows; ``as_dict`` is its --json."""
    library: str
    schema: int
    folders: list[str]
    indexed: int
    missing: int
    failed: int
    with_keypoints: int  # the rest are read from their files at the next `dupes`
    model_id: int
    model_name: str
    embedding: str
    index: str
    engine: str  # as the last indexing found it
    bytes: DiskUse

    def as_dict(self) -> dict:
        data = asdict(self)
        data["model"] = {"id": data.pop("model_id"), "name": data.pop("model_name")}
        return data


def disk_use(lib: Library, photos: int) -> DiskUse:
    """Bytes the library takes: the database (with its write-ahead log) and the HNSW index files.
    The quarantine is not counted: those are the person's photos, not photosim's data."""
    def size(name: str) -> int:
        try:
            return os.path.getsize(os.path.join(lib.directory, name))
        except OSError:
            return 0

    names = os.listdir(lib.directory)
    database = sum(size(n) for n in names if n.startswith(DB_NAME))
    index = sum(size(n) for n in names if n.startswith("index-m") and n.endswith((".hnsw", ".hnsw.json")))
    return DiskUse(database, index, round((database + index) / photos) if photos else None)


def info(lib: Library) -> LibraryInfo:
    with lib.db.session() as s:
        counts = repo.counts(s)
        with_keypoints = repo.keypoint_count(s)
        model = versions.get_model(s, lib.active_model)
        folders = repo.list_folders(s)
    return LibraryInfo(
        library=lib.directory, schema=lib.db.schema_version(), folders=folders,
        indexed=counts["indexed"], missing=counts["missing"], failed=counts["failed"], with_keypoints=with_keypoints,
        model_id=model.id, model_name=model.name, embedding=lib.base_spec().key, index=lib.index_state(),
        engine=lib.db.get_meta("engine_fallback") or "ONNX Runtime",
        bytes=disk_use(lib, counts["indexed"] + counts["missing"]))


def errors(lib: Library) -> list[DecodeError]:
    with lib.db.session() as s:
        return repo.list_errors(s)


def export_npz(lib: Library, out: str, include_missing: bool = True, force: bool = False) -> int:
    """Write paths, vectors (active model, float32) and the model id to ``out`` (.npz), which
    must not exist yet (``force``: may replace a file that is not the library's or a photo)."""
    model = lib.active_model
    with lib.db.session() as s:
        ids, vectors = repo.get_vectors(s, model)
        photos = repo.photos_by_id(s, ids.tolist())
    keep = [n for n, i in enumerate(ids) if include_missing or photos[i].state == PhotoState.OK]
    paths = np.array([photos[int(ids[n])].path for n in keep], dtype=object).astype(str)
    arr = vectors[keep] if len(keep) else np.zeros((0, 0), np.float32)

    def write(fh) -> None:
        np.savez(fh, paths=paths, vectors=arr.astype(np.float32), model=np.int64(model), photo_ids=ids[keep])

    write_output(lib, out, write, force=force, binary=True)
    return len(keep)
