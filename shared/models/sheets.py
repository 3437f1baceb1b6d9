"""Handover sheets: each one part of its event, kept encrypted beside the event log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class SheetRecord(Base):
    """The sheet an event carried: its kind in clear, its items only as a Fernet token.

    The event's own body is stored without the sheet; ``occurred_at`` and ``kind`` are what the
    retention purge needs without decrypting anything.
    """

    __tablename__ = "event_sheets"
    __table_args__ = (
        # An event is (poster, event_id): an event_id is unique per posting organization.
        ForeignKeyConstraint(
            ["poster_org_id", "event_id"],
            ["events.poster_org_id", "events.event_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("poster_org_id", "event_id"),
        Index("ix_event_sheets_kind_occurred_at", "kind", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID]
    poster_org_id: Mapped[str] = mapped_column(String(32))
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
