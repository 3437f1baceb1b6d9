"""Monthly rollups of ``daily_aggregates``: few enough rows that a fiscal year reads in O(months).

Their size is bounded by months x hospitals (x lead values), whatever the number of episodes.
They are kept by the same delta code and rebuild as ``daily_aggregates`` and hold exactly its
sums projected to their keys; ``month`` is the first day of the Asia/Tokyo month of ``day``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base
from shared.models.aggregates import Counted

MONTHLY_COUNT_KEYS = ("month", "side", "hospital_id", "medical_area", "region")
MONTHLY_LEAD_KEYS = ("month", "hospital_id", "medical_area", "region", "lead_days")


class MonthlyCount(Counted, Base):
    """The seven counts of ``daily_aggregates`` summed per month, side and hospital."""

    __tablename__ = "monthly_counts"
    __table_args__ = (
        Index("ix_monthly_counts_region_month", "region", "month"),
        Index("ix_monthly_counts_hospital_id_month", "hospital_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    hospital_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    medical_area: Mapped[str] = mapped_column(String(100), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    episodes: Mapped[int] = mapped_column(Integer, default=0)  # contributions summed here


class MonthlyLead(Base):
    """Coordinated discharges per month, hospital and lead days: the exact median's histogram."""

    __tablename__ = "monthly_leads"
    __table_args__ = (
        Index("ix_monthly_leads_region_month", "region", "month"),
        Index("ix_monthly_leads_hospital_id_month", "hospital_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    hospital_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    medical_area: Mapped[str] = mapped_column(String(100), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)  # >= 0 only
    coordinated: Mapped[int] = mapped_column(Integer, default=0)
