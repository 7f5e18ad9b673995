"""Model versions as the store hands them to services: a ``ModelRecord`` with its spec and summary
decoded, never an ORM row; a summary changes through ``update_summary``, never in place."""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .schema import ModelVersion, Vector

#: The kind of a version adapted to the library (core/adapt.py); a trained one has another.
LIBRARY_KIND = "library"


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    spec: dict  # the backbone's spec (version 0), a projection's or an adapter's configuration
    parent: int  # the version this one maps from (0: the base vectors)
    weights: bytes | None = field(repr=False)  # the projection or adapter; None for version 0
    summary: dict  # what made it: photos, labels, timings, its shown-similarity scale
    created_at: float
    vectors: int = 0  # how many photos have a vector of it (list_models only)
    active: bool = False  # set by services, which know the library's active version

    @property
    def kind(self) -> str:
        return "" if self.id == 0 else self.spec.get("kind", "")

    @property
    def adapted(self) -> bool:
        return self.kind == LIBRARY_KIND

    def as_dict(self) -> dict:
        """The JSON form (`photosim models --json`): everything but the weights."""
        return {"id": self.id, "name": self.name, "spec": self.spec, "parent": self.parent, "summary": self.summary,
                "created_at": self.created_at, "vectors": self.vectors, "active": self.active}


def _record(m: ModelVersion, vectors: int = 0) -> ModelRecord:
    return ModelRecord(m.id, m.name, json.loads(m.spec), int(m.parent_id or 0), m.weights,
                       json.loads(m.summary or "{}"), m.created_at, vectors)


def get_model(s: Session, model_id: int) -> ModelRecord | None:
    row = s.get(ModelVersion, model_id)
    return _record(row) if row is not None else None


def list_models(s: Session) -> list[ModelRecord]:
    counts = dict(s.execute(select(Vector.model_id, func.count()).group_by(Vector.model_id)).all())
    return [_record(m, counts.get(m.id, 0)) for m in s.scalars(select(ModelVersion).order_by(ModelVersion.id))]


def model_ids(s: Session) -> list[int]:
    return list(s.scalars(select(ModelVersion.id).order_by(ModelVersion.id)))


def models_with_vectors(s: Session) -> list[int]:
    return list(s.scalars(select(Vector.model_id).distinct().order_by(Vector.model_id)))


def update_summary(s: Session, model_id: int, **changes) -> ModelRecord:
    """Add or replace entries of a version's summary; returns the version as it is now."""
    row = s.get(ModelVersion, model_id)
    row.summary = json.dumps({**json.loads(row.summary or "{}"), **changes})
    return dataclasses.replace(_record(row))


def delete_model(s: Session, model_id: int) -> None:
    """Remove a derived model version and its vectors (never version 0)."""
    if model_id == 0:
        raise ValueError("version 0 holds the base vectors and is never removed")
    s.execute(delete(Vector).where(Vector.model_id == model_id))
    s.execute(delete(ModelVersion).where(ModelVersion.id == model_id))


def add_model(s: Session, name: str, spec: dict, weights: bytes | None, summary: dict, parent: int = 0) -> int:
    row = ModelVersion(name=name, spec=json.dumps(spec), parent_id=parent, weights=weights,
                       summary=json.dumps(summary), created_at=time.time())
    s.add(row)
    s.flush()
    return row.id
