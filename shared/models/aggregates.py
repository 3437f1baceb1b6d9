"""Metric storage: each episode's contribution, and their sums per day and breakdown key.

Metrics queries read only ``daily_aggregates`` (O(days x groups)); ``episode_contributions``
lets the worker replace one episode's share exactly, so recomputes are idempotent.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

# Breakdown key columns, in primary-key order; '' stands for "none" so the key can be a PK.
KEY_COLUMNS = (
    "day",
    "side",
    "hospital_id",
    "care_office_id",
    "insurer_number",
    "medical_area",
    "region",
    "ward_type",
    "care_level_band",
    "lead_days",
)


class Counted:
    """The seven counts every aggregate table sums (shared.rules.metrics.COUNT_FIELDS)."""

    admissions_with_care_manager: Mapped[int] = mapped_column(Integer, default=0)
    admission_info_provided: Mapped[int] = mapped_column(Integer, default=0)
    admission_info_on_time: Mapped[int] = mapped_column(Integer, default=0)
    eligible_discharges: Mapped[int] = mapped_column(Integer, default=0)
    coordinated_discharges: Mapped[int] = mapped_column(Integer, default=0)
    missed_discharges: Mapped[int] = mapped_column(Integer, default=0)
    coordination_on_time: Mapped[int] = mapped_column(Integer, default=0)


class _Keyed(Counted):
    """The breakdown key both tables share, and the counts."""

    day: Mapped[date] = mapped_column(Date)
    side: Mapped[str] = mapped_column(String(10))
    hospital_id: Mapped[str] = mapped_column(String(32))
    care_office_id: Mapped[str] = mapped_column(String(32))
    insurer_number: Mapped[str] = mapped_column(String(6))
    medical_area: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(64))
    ward_type: Mapped[str] = mapped_column(String(20))
    care_level_band: Mapped[str] = mapped_column(String(10))
    lead_days: Mapped[int] = mapped_column(Integer)  # -1: no coordination lead (not coordinated)


class EpisodeContribution(_Keyed, Base):
    """What one episode adds on one side; replaced whole on every recompute."""

    __tablename__ = "episode_contributions"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    side: Mapped[str] = mapped_column(String(10), primary_key=True)


class DailyAggregate(_Keyed, Base):
    """Sum of contributions per local day and breakdown key (Asia/Tokyo dates)."""

    __tablename__ = "daily_aggregates"
    __table_args__ = (
        Index("ix_daily_aggregates_region_day", "region", "day"),
        Index("ix_daily_aggregates_hospital_id_day", "hospital_id", "day"),
        Index("ix_daily_aggregates_care_office_id_day", "care_office_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    hospital_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    care_office_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    insurer_number: Mapped[str] = mapped_column(String(6), primary_key=True)
    medical_area: Mapped[str] = mapped_column(String(100), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    ward_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    care_level_band: Mapped[str] = mapped_column(String(10), primary_key=True)
    lead_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    episodes: Mapped[int] = mapped_column(Integer, default=0)  # contributions summed here
