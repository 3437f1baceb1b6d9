"""The audit trail: who changed what (an event, a flag, a key …), when, and from where.

Who was shown which patient is the access log (``access_log``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class AuditEntry(Base):
    """One change; never holds personal data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_episode_id_at", "episode_id", "at"),
        Index("ix_audit_log_organization_id_at", "organization_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    key_id: Mapped[uuid.UUID | None]
    organization_id: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    episode_id: Mapped[uuid.UUID | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
