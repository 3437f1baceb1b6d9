"""The access log: which person or key was shown which episode's patient fields, when, where."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

ACTOR_TYPES = ("user", "api_key")


class AccessLogEntry(Base):
    """One episode shown to one reader in one answer; ids only, never the patient fields.

    ``actor_id`` is the person's id (``actor_type`` ``user``) or the API key's (``api_key``); the
    bootstrap admin token is no key row, so it is recorded as ``api_key`` with ``actor_id`` null.
    No foreign keys: the log outlives a removed key, person or episode, and an insert never waits
    on a lock held on an episode.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint("actor_type IN ('user', 'api_key')", name="actor_type"),
        CheckConstraint("actor_type = 'api_key' OR actor_id IS NOT NULL", name="user_has_id"),
        # Pages are newest first by id, filtered by the reader's organization or the episode.
        Index("ix_access_log_organization_id_id", "organization_id", "id"),
        Index("ix_access_log_episode_id_id", "episode_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    actor_type: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[uuid.UUID | None]
    organization_id: Mapped[str | None] = mapped_column(String(32))  # the reader's
    episode_id: Mapped[uuid.UUID]
    path: Mapped[str] = mapped_column(Text)  # the request's own path, without the query
    address: Mapped[str | None] = mapped_column(String(64))
