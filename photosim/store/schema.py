"""The library's tables (SQLAlchemy 2 typed ORM). SQLite is the source of truth.

Paths are stored as the bytes the file system uses (os.fsencode), so a file
name that is not valid UTF-8 is kept and found again without loss.
"""
from __future__ import annotations

import os

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 6  # 2: keypoints; 3: removal journal, protected folders; 4: capture instant, camera,
                    # sharpness and exposure (bursts); 5: geometric checks' verdicts; 6: pretext views


class FsPath(TypeDecorator):
    """A str path stored as its exact file-system bytes."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else os.fsencode(value)

    def process_result_value(self, value, dialect):
        return None if value is None else os.fsdecode(bytes(value))


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)


class Folder(Base):
    """A folder the user added; rescans walk these."""

    __tablename__ = "folders"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    added_at: Mapped[float]


class PhotoRow(Base):
    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int]
    mtime_ns: Mapped[int]
    content_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    width: Mapped[int | None]
    height: Mapped[int | None]
    format: Mapped[str | None] = mapped_column(String(16))
    taken_at: Mapped[str | None] = mapped_column(String(19))
    exif_tags: Mapped[int] = mapped_column(default=0)
    jpeg_quality: Mapped[int | None]
    grey: Mapped[bool] = mapped_column(default=False)
    border: Mapped[float] = mapped_column(default=0.0)
    taken_subsec: Mapped[str | None] = mapped_column(String(9))
    camera: Mapped[str | None] = mapped_column(String(64))
    sharpness: Mapped[float | None]
    exposure: Mapped[float | None]
    state: Mapped[str] = mapped_column(String(8), index=True)
    added_at: Mapped[float]


class ModelVersion(Base):
    """A model that made vectors. Version 0 is the pretrained backbone, always present."""

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String)
    spec: Mapped[str] = mapped_column(String)  # JSON: backbone spec (version 0) or adapter config
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    weights: Mapped[bytes | None] = mapped_column(LargeBinary)  # trained adapter, None for the backbone
    summary: Mapped[str] = mapped_column(String, default="{}")  # JSON: training summary, label counts
    created_at: Mapped[float]


class Vector(Base):
    __tablename__ = "vectors"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    __table_args__ = (Index("ix_vectors_model", "model_id", "photo_id"),)


class KeypointRow(Base):
    """The photo's packed ORB keypoints (core/verify.py), found while indexing, so the duplicate
    check compares stored keypoints instead of reading the files again."""

    __tablename__ = "keypoints"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ViewRow(Base):
    """A sampled photo's augmented views as base vectors (core/pretext.py), made while indexing from
    the pixels already decoded: what the pretext task learns from. float16, VIEWS x D."""

    __tablename__ = "views"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class PairCheck(Base):
    """The geometric check's verdict on a pair of photos (a_id < b_id) as their files were (content
    hashes): the number of inliers and, for a confirmed pair once sorted, whether the two are copies
    or two frames of a burst. The same bytes give the same stored keypoints, so `similar` and
    `dupes` need not check the pair again; a row whose hashes are not the photos' current ones is
    ignored and overwritten, and deleting a photo deletes its rows."""

    __tablename__ = "pair_checks"
    a_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    a_hash: Mapped[str] = mapped_column(String(32))
    b_hash: Mapped[str] = mapped_column(String(32))
    inliers: Mapped[int]
    kind: Mapped[str | None] = mapped_column(String(8))  # "copy" | "burst" | None (not confirmed, or not sorted)
    # Deleting a photo finds its rows as b too (a is the primary key's first column).
    __table_args__ = (Index("ix_pair_checks_b", "b_id"),)


class ScanErrorRow(Base):
    """A file that could not be read; kept with its size+mtime so an unchanged bad file is not retried."""

    __tablename__ = "scan_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int]
    mtime_ns: Mapped[int]
    reason: Mapped[str]
    at: Mapped[float]


class InFlight(Base):
    """Files being decoded right now: if the process dies, the next run knows which file to blame."""

    __tablename__ = "in_flight"
    path: Mapped[str] = mapped_column(FsPath, primary_key=True)
    attempts: Mapped[int] = mapped_column(default=1)


class PairLabel(Base):
    """A similarity label: a and b are the same (or different) for this user."""

    __tablename__ = "pair_labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    same: Mapped[bool]
    created_at: Mapped[float]
    __table_args__ = (UniqueConstraint("a_id", "b_id"),)


class TripletLabel(Base):
    __tablename__ = "triplet_labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    positive_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    negative_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    created_at: Mapped[float]
    __table_args__ = (UniqueConstraint("anchor_id", "positive_id", "negative_id"),)


class NotDuplicate(Base):
    """A duplicate decision (not a similarity label): these two are not duplicates."""

    __tablename__ = "not_duplicates"
    a_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[float]


class RemovalBatch(Base):
    """One removal a person asked for (a `trash` call, one "keep the best"): one undo step."""

    __tablename__ = "removal_batches"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String)
    at: Mapped[float]


class TrashMove(Base):
    """One file moved out of the user's folders: the journal entry of the move (store/removals.py).

    ``state`` is written *before* each rename and updated after it, so a crash in
    between leaves a record that says which two paths to look at.
    """

    __tablename__ = "trash_moves"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[int] = mapped_column(index=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    original_path: Mapped[str] = mapped_column(FsPath)
    trashed_path: Mapped[str] = mapped_column(FsPath)
    method: Mapped[str] = mapped_column(String(16))  # "system" | "quarantine"
    at: Mapped[float]
    restored: Mapped[bool] = mapped_column(default=False)
    # pending -> done (in the quarantine) -> restoring -> restored; "gone": the file left the quarantine
    state: Mapped[str] = mapped_column(String(10), default="done", index=True)
    restored_path: Mapped[str | None] = mapped_column(FsPath)  # where undo puts it (beside the original if taken)
    size: Mapped[int | None]


class ProtectedFolder(Base):
    """A folder whose photos are never proposed for removal and never moved by `trash`."""

    __tablename__ = "protected_folders"
    path: Mapped[str] = mapped_column(FsPath, primary_key=True)
    added_at: Mapped[float]
