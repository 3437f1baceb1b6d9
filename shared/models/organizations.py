"""Organizations: hospitals, care offices (居宅介護支援事業所), support centres, municipalities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Organization(Base):
    """A party of the rule; its id is the 医療機関コード / 介護保険事業所番号 or a stable code."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    medical_area: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(64), index=True)
    # MSH-4 of the hospital's HL7 v2 feed: the MLLP listener finds the sender by it.
    hl7_sending_facility: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
