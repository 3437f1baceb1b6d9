"""The append-only event log: the only truth; everything else is a fold of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class EventRecord(Base):
    """One handover event exactly once (``event_id`` unique per poster), its body as received."""

    __tablename__ = "events"
    __table_args__ = (
        # domain.md: an event_id is unique per posting organization, never across them.
        UniqueConstraint("poster_org_id", "event_id", name="uq_events_poster_org_id_event_id"),
        Index("ix_events_episode_id_seq", "episode_id", "seq"),
        # The HL7 v2 stay lookup: a patient's admissions at a hospital (SS-MIX2 has no PV1-19).
        Index(
            "ix_events_admission_hospital_patient_id",
            "hospital_id",
            text("((body -> 'patient'::text) ->> 'hospital_patient_id'::text)"),
            postgresql_where=text("type = 'admission'"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[uuid.UUID]
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hospital_id: Mapped[str] = mapped_column(String(32))
    poster_org_id: Mapped[str] = mapped_column(String(32))
    poster_key_id: Mapped[uuid.UUID | None]
    cancels_event_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
