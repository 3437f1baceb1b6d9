"""Episodes (one hospital stay): the fold of their events, the dirty and set-aside marks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Episode(Base):
    """Folded state plus the columns the work lists and authorization query by."""

    __tablename__ = "episodes"
    __table_args__ = (
        UniqueConstraint("hospital_id", "encounter_ref"),
        Index("ix_episodes_party_org_ids", "party_org_ids", postgresql_using="gin"),
        Index(
            "ix_episodes_dirty_since",
            "dirty_since",
            postgresql_where=text("dirty_since IS NOT NULL"),
        ),
        Index(
            "ix_episodes_fold_failed_at",
            "fold_failed_at",
            postgresql_where=text("fold_failed_at IS NOT NULL"),
        ),
        # The work lists read open stays only; these stay small while history grows.
        Index(
            "ix_episodes_open_hospital_id",
            "hospital_id",
            postgresql_where=text("has_admission IS true AND discharged_at IS NULL"),
        ),
        Index(
            "ix_episodes_open_care_office_id",
            "care_office_id",
            postgresql_where=text("has_admission IS true AND discharged_at IS NULL"),
        ),
        # /v1/metrics' admissions_within_deadline (shared.metrics.in_progress) reads only the
        # stays still owed their 入院時情報提供, by deadline: a few days' admissions, however long
        # the history.
        Index(
            "ix_episodes_admission_info_owed_deadline",
            "admission_info_deadline",
            postgresql_where=text("has_admission IS true AND admission_info_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    hospital_id: Mapped[str] = mapped_column(String(32))
    encounter_ref: Mapped[str] = mapped_column(String(64))
    party_org_ids: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    care_office_id: Mapped[str | None] = mapped_column(String(32), index=True)
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    discharged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    planned_discharge_date: Mapped[date | None] = mapped_column(Date)
    admission_info_deadline: Mapped[date | None] = mapped_column(Date)
    admission_info_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_coordination_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    computed_version: Mapped[int] = mapped_column(BigInteger, default=0)
    dirty_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set aside by the worker: its fold raised at fold_failed_version (no personal data here:
    # the exception class and the function that raised). A newer version is tried again.
    fold_error: Mapped[str | None] = mapped_column(String(120))
    fold_error_where: Mapped[str | None] = mapped_column(String(200))
    fold_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fold_failed_version: Mapped[int | None] = mapped_column(BigInteger)
    has_admission: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
