"""Flags: each missed or late handover, with who must act and when it was raised and cleared."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Flag(Base):
    """One flag of one episode; at most one open flag per (episode, kind)."""

    __tablename__ = "flags"
    __table_args__ = (
        Index(
            "uq_flags_open_episode_kind",
            "episode_id",
            "kind",
            unique=True,
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index("ix_flags_party_org_id_kind", "party_org_id", "kind"),
        Index("ix_flags_hospital_id", "hospital_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    hospital_id: Mapped[str] = mapped_column(String(32))
    party_org_id: Mapped[str | None] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_reason: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledgement_note: Mapped[str | None] = mapped_column(String(1000))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
