"""The month in progress: admissions whose 入院時情報提供 is not given yet but not due yet either.

domain.md's 入院引継ぎ割合 counts every admission with a care manager in its denominator from the
day of admission, so in the month in progress it reads low (production showed 0.0 %) while the
care managers still have days left. The rate stays as domain.md defines it; this count is shown
beside it so a reader sees how many of the not-yet-provided admissions are simply not due.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Boolean, Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.access.visibility import Scope
from shared.metrics.window import Window
from shared.models import Episode, Organization


def _conditions(scope: Scope, filters: Mapping[str, str | None]) -> list[ColumnElement[bool]]:
    """The caller's scope and the /v1/metrics filters, on episodes (as the aggregates key them)."""
    conds: list[ColumnElement[bool]] = []
    office = Episode.state["care_office_at_admission"].astext
    region = filters.get("region") or (scope.value if scope.kind == "region" else None)
    if scope.kind == "hospital":
        conds.append(Episode.hospital_id == scope.value)
    if scope.kind == "care_office":
        conds.append(office == scope.value)
    hospitals = select(Organization.id)
    if region is not None:
        hospitals = hospitals.where(Organization.region == region)
    if filters.get("medical_area") is not None:
        hospitals = hospitals.where(Organization.medical_area == filters["medical_area"])
    if region is not None or filters.get("medical_area") is not None:
        conds.append(Episode.hospital_id.in_(hospitals))
    if filters.get("hospital_id") is not None:
        conds.append(Episode.hospital_id == filters["hospital_id"])
    if filters.get("care_office_id") is not None:
        conds.append(office == filters["care_office_id"])
    if filters.get("insurer_number") is not None:
        conds.append(Episode.state["patient"]["insurer_number"].astext == filters["insurer_number"])
    return conds


async def admissions_within_deadline(
    session: AsyncSession,
    scope: Scope,
    window: Window,
    *,
    today: date,
    filters: Mapping[str, str | None] | None = None,
) -> int:
    """Admissions of the window with a care manager, no admission info yet, and a deadline of
    today or later (Asia/Tokyo dates)."""
    admitted = cast(Episode.state["admission_date"].astext, Date)
    stmt = select(func.count()).where(
        Episode.has_admission.is_(True),
        cast(Episode.state["has_care_manager_at_admission"], Boolean).is_(True),
        Episode.admission_info_at.is_(None),
        Episode.admission_info_deadline >= today,
        admitted >= window.start,
        admitted <= window.end,
        *_conditions(scope, filters or {}),
    )
    return int(await session.scalar(stmt) or 0)
