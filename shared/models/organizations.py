"""Organizations: hospitals, care offices (居宅介護支援事業所), support centres, municipalities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base


class Organization(Base):
    """A party of the rule; its id is the 医療機関コード / 介護保険事業所番号 or a stable code."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    medical_area: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
