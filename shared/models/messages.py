"""Hospital system messages as received (HL7 v2, FHIR), kept with the events they produced."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class InboundMessage(Base):
    """One stored message exactly once per fingerprint (hospital, control id, trigger, hash).

    Written in the transaction of its events; a message that stored nothing (AE, AR, a trigger
    the rule does not use) leaves no row.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index(
            "ix_inbound_messages_raw_received_at",
            "received_at",
            postgresql_where=text("raw IS NOT NULL"),
        ),
        UniqueConstraint(
            "hospital_id",
            "control_id",
            "trigger",
            "content_sha256",
            name="uq_inbound_messages_fingerprint",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(8))  # mllp, http (HL7 v2 over HTTPS), fhir
    hospital_id: Mapped[str] = mapped_column(String(32))
    control_id: Mapped[str] = mapped_column(String(200))  # MSH-10, or the Bundle's key
    trigger: Mapped[str] = mapped_column(String(40))  # MSH-9.2, or the eventCoding code
    content_sha256: Mapped[str] = mapped_column(String(64))
    # The bytes as received; None once older than HANDOVER_RAW_MESSAGE_DAYS (the worker's daily
    # purge), when the fingerprint above still recognises a resend.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    outcome: Mapped[str] = mapped_column(String(16))  # stored
    event_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
