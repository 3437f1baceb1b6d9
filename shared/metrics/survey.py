"""The survey (入退院支援ルール実態調査) of one period: by hospital, 二次医療圏, 保険者 and year.

Every figure is a sum of the daily aggregates in the same scope GET /v1/metrics uses, so the
合計 equals that endpoint's total for the same period, each 小計 equals the sum of its hospitals
and each hospital row is /v1/metrics grouped by hospital.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics.query import Scope, Sums, grouped_sums, merged, stale_episodes
from shared.metrics.schemas import SurveyFigures, SurveyOut, SurveyRow
from shared.metrics.sums import conditions
from shared.metrics.survey_period import SurveyPeriod
from shared.models import DailyAggregate, Episode, Organization
from shared.organizations.rule_sets import region_rule_sets
from shared.rules.rule_set import RuleSet, rule_set_for


@dataclass(frozen=True, slots=True)
class AreaBlock:
    """One 二次医療圏 (None: none registered): its hospitals and their 小計."""

    name: str | None
    rows: list[SurveyRow]
    subtotal: SurveyFigures


@dataclass(frozen=True, slots=True)
class SurveyReport:
    """Everything the workbook shows: the table, its blocks, the cover's facts and the years."""

    period: SurveyPeriod
    table: SurveyOut
    region_name: str | None
    rule_sets: list[RuleSet]
    areas: list[AreaBlock]
    insurers: list[tuple[str | None, SurveyFigures]]
    trend: list[tuple[SurveyPeriod, SurveyFigures]]
    generated_at: datetime


def _figures(sums: Sums) -> SurveyFigures:
    return SurveyFigures(**SurveyFigures.fields_of(sums.totals()))


def _scope(region: str | None) -> Scope:
    return Scope("all") if region is None else Scope("region", region)


async def _hospital_sums(
    session: AsyncSession, period: SurveyPeriod, region: str | None
) -> tuple[list[SurveyRow], dict[str, Sums], Sums]:
    """A row per hospital of the region (and per hospital with figures in it), by code."""
    hospitals = select(Organization.id, Organization.name, Organization.medical_area).where(
        Organization.kind == "hospital"
    )
    if region is not None:
        hospitals = hospitals.where(Organization.region == region)
    known = {org_id: (name, area) for org_id, name, area in await session.execute(hospitals)}
    groups = await grouped_sums(session, period.window, _scope(region), group_by=("hospital",))
    sums = {str(key[0]): value for key, value in groups.items() if key[0] is not None}
    missing = sorted(set(sums) - set(known))
    if missing:  # a hospital that moved region keeps its figures here, so the sums still add up
        moved = select(Organization.id, Organization.name, Organization.medical_area).where(
            Organization.id.in_(missing)
        )
        known |= {org_id: (name, area) for org_id, name, area in await session.execute(moved)}
    rows = [
        SurveyRow(
            hospital_id=org_id,
            hospital_name=known.get(org_id, (org_id, None))[0],
            medical_area=known.get(org_id, (org_id, None))[1],
            **SurveyFigures.fields_of(sums.get(org_id, Sums()).totals()),
        )
        for org_id in sorted(set(known) | set(sums))
    ]
    return rows, sums, merged(groups)


async def survey_table(
    session: AsyncSession, period: SurveyPeriod, region: str | None
) -> tuple[SurveyOut, dict[str, Sums]]:
    """The JSON (and CSV) table, and each hospital's sums for the blocks built on it.

    The caller has already checked that its key may report on `region` (None: every region).
    """
    rows, sums, total = await _hospital_sums(session, period, region)
    visible: ColumnElement[bool] = true()
    if region is not None:
        visible = Episode.hospital_id.in_(
            select(Organization.id).where(Organization.region == region)
        )
    named: dict[str, str | int] = {}
    if period.month is not None:
        named["month"] = period.month
    if period.fiscal_year is not None:
        named["fiscal_year"] = period.fiscal_year
    out = SurveyOut(
        **named,  # only the form asked for is in the body
        from_=period.window.start,
        to=period.window.end,
        region=region,
        stale_episodes=await stale_episodes(session, visible),
        rows=rows,
        total=_figures(total),
    )
    return out, sums


def area_blocks(rows: Sequence[SurveyRow], sums: dict[str, Sums]) -> list[AreaBlock]:
    """Hospitals grouped by 二次医療圏 (named areas by name, then none), each with its 小計."""
    names = sorted({r.medical_area for r in rows}, key=lambda a: (a is None, a or ""))
    blocks = []
    for name in names:
        members = [r for r in rows if r.medical_area == name]
        subtotal = merged({(r.hospital_id,): sums.get(r.hospital_id, Sums()) for r in members})
        blocks.append(AreaBlock(name, members, _figures(subtotal)))
    return blocks


async def _first_admission(session: AsyncSession, region: str | None) -> date | None:
    da = DailyAggregate
    stmt = select(func.min(da.day)).where(
        da.side == "admission", *conditions(da, _scope(region), {})
    )
    return await session.scalar(stmt)


async def trend(
    session: AsyncSession, period: SurveyPeriod, region: str | None
) -> list[tuple[SurveyPeriod, SurveyFigures]]:
    """The same period of every year from the region's first admission's year, oldest first."""
    first = await _first_admission(session, region)
    if first is None:
        return [(period, _figures(Sums()))]
    earliest_year = first.year if period.fiscal_year is None else _fiscal_year(first)
    years: list[tuple[SurveyPeriod, SurveyFigures]] = []
    back = 0
    while True:
        shifted = period.years_before(back)
        year = shifted.fiscal_year if shifted.fiscal_year is not None else shifted.window.end.year
        if back > 0 and year < earliest_year:
            break
        groups = await grouped_sums(session, shifted.window, _scope(region), with_median=False)
        years.append((shifted, _figures(merged(groups))))
        back += 1
    return years[::-1]


def _fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


async def insurer_figures(
    session: AsyncSession, period: SurveyPeriod, region: str | None
) -> list[tuple[str | None, SurveyFigures]]:
    """The care-manager side per 保険者番号 of the patient (None: not recorded, last); an insurer
    with no admission in the period (only discharges) has no line."""
    groups = await grouped_sums(
        session, period.window, _scope(region), group_by=("municipality",), with_median=False
    )
    ordered = sorted(groups.items(), key=lambda item: (item[0][0] is None, item[0][0] or ""))
    return [
        (key[0], _figures(sums))
        for key, sums in ordered
        if sums.counts["admissions_with_care_manager"] or sums.counts["admission_info_provided"]
    ]


async def region_name(session: AsyncSession, region: str | None) -> str | None:
    """The name of the region's 振興局 (its organization of kind `region`), if registered."""
    if region is None:
        return None
    stmt = (
        select(Organization.name)
        .where(Organization.kind == "region", Organization.region == region)
        .order_by(Organization.id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def rule_sets_in_force(
    session: AsyncSession, period: SurveyPeriod, region: str | None
) -> list[RuleSet]:
    """The versions that judged admissions of the period: the one in force at its start, then
    each one that took effect during it (none: the region stored none, the defaults apply)."""
    if region is None:
        return []
    versions = await region_rule_sets(session, region)
    if not versions:
        return []
    window = period.window
    later = [v for v in versions if window.start < v.effective_from <= window.end]
    return [rule_set_for(versions, window.start), *later]


async def survey_report(
    session: AsyncSession, period: SurveyPeriod, region: str | None, *, now: datetime
) -> SurveyReport:
    """The whole workbook's content for one period and region."""
    table, sums = await survey_table(session, period, region)
    return SurveyReport(
        period=period,
        table=table,
        region_name=await region_name(session, region),
        rule_sets=await rule_sets_in_force(session, period, region),
        areas=area_blocks(table.rows, sums),
        insurers=await insurer_figures(session, period, region),
        trend=await trend(session, period, region),
        generated_at=now,
    )
