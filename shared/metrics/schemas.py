"""Response bodies of the metrics and survey endpoints (api.md, Metrics): aggregates only."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.rules.metrics import MetricTotals, round_half_up_pct


def _rate(value: Fraction | None) -> float | None:
    """Rates go out as the float nearest the exact fraction, never rounded to decimals."""
    return None if value is None else float(value)


def _pct(value: Fraction | None) -> float | None:
    """Survey percentage: exact fraction × 100, rounded half-up to one decimal."""
    return None if value is None else float(round_half_up_pct(value))


class MetricFigures(BaseModel):
    """Counts with their exact rates (null when the denominator is 0) and the median lead."""

    admissions_with_care_manager: int = Field(
        description="Admissions whose patient had a care manager (入院時ケアマネあり), "
        "by admission date"
    )
    admission_info_provided: int = Field(
        description="Of those, with 入院時情報提供 before discharge (or still in hospital)"
    )
    admission_info_on_time: int = Field(
        description="Of those, whose first admission info was by the deadline"
    )
    admission_handover_rate: float | None = Field(
        description="入院引継ぎ割合: admission_info_provided ÷ admissions_with_care_manager"
    )
    admission_handover_on_time_rate: float | None = Field(
        description="admission_info_on_time ÷ admissions_with_care_manager"
    )
    eligible_discharges: int = Field(
        description="Discharges in scope of the rule (退院(対象)), by discharge date"
    )
    coordinated_discharges: int = Field(
        description="Eligible discharges with 退院調整 at or before the discharge"
    )
    missed_discharges: int = Field(description="退院調整漏れ: eligible − coordinated")
    coordination_on_time: int = Field(
        description="Coordinated discharges whose first coordination was at least "
        "discharge_notice_lead_days before the discharge date"
    )
    discharge_miss_rate: float | None = Field(
        description="退院調整漏れ割合: missed_discharges ÷ eligible_discharges"
    )
    discharge_coordination_rate: float | None = Field(
        description="coordinated_discharges ÷ eligible_discharges"
    )
    coordination_on_time_rate: float | None = Field(
        description="coordination_on_time ÷ eligible_discharges"
    )
    median_coordination_lead_days: float | None = Field(
        description="Median of whole days from first coordination to discharge (coordinated only)"
    )

    @classmethod
    def fields_of(cls, totals: MetricTotals) -> dict[str, Any]:
        """The figures of one set of totals, for this model or any model extending it."""
        return {
            "admissions_with_care_manager": totals.admissions_with_care_manager,
            "admission_info_provided": totals.admission_info_provided,
            "admission_info_on_time": totals.admission_info_on_time,
            "admission_handover_rate": _rate(totals.admission_handover_rate),
            "admission_handover_on_time_rate": _rate(totals.admission_handover_on_time_rate),
            "eligible_discharges": totals.eligible_discharges,
            "coordinated_discharges": totals.coordinated_discharges,
            "missed_discharges": totals.missed_discharges,
            "coordination_on_time": totals.coordination_on_time,
            "discharge_miss_rate": _rate(totals.discharge_miss_rate),
            "discharge_coordination_rate": _rate(totals.discharge_coordination_rate),
            "coordination_on_time_rate": _rate(totals.coordination_on_time_rate),
            "median_coordination_lead_days": totals.median_coordination_lead_days,
        }


GroupKey = dict[str, str | None]


class GroupNames(BaseModel):
    """Registered names beside a key's organization ids (present only when grouped by them)."""

    hospital_name: str | None = Field(
        default=None, description="The name of key.hospital_id (with group_by=hospital)"
    )
    care_office_name: str | None = Field(
        default=None, description="The name of key.care_office_id (with group_by=care_office)"
    )


class MetricGroup(MetricFigures, GroupNames):
    """One breakdown group; key names are hospital_id, care_office_id, insurer_number, …"""

    key: GroupKey = Field(description="The group's breakdown values; null: none recorded")


class MetricsOut(BaseModel):
    """GET /v1/metrics."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="First day of the window (Asia/Tokyo)")
    to: date = Field(description="Last day of the window (inclusive)")
    stale_episodes: int = Field(
        description="Episodes in the caller's scope stored but not yet folded (0: numbers exact)"
    )
    total: MetricFigures = Field(
        description="Everything the key may see in the window, after the filters"
    )
    groups: list[MetricGroup] = Field(
        description="One group per breakdown key (empty without group_by)"
    )
    admissions_within_deadline: int | None = Field(
        default=None,
        description="Admissions of the window (in total) with a care manager and no 入院時情報提供 "
        "yet whose deadline is today or later: counted in the rate's denominator, not yet due. "
        "In the month in progress the rate reads low by about this many",
    )


class SeriesPoint(GroupNames):
    """One period; for a count value = numerator = the count and denominator is null."""

    period: str = Field(description="2024-06 (month), 2024-W23 (ISO week) or 2024-06-03 (day)")
    value: int | float | None = Field(description="The metric for the period (null: a rate over 0)")
    numerator: int | None = Field(description="The count a rate divides, or the count itself")
    denominator: int | None = Field(
        description="The count a rate divides by (null for counts and the median)"
    )
    key: GroupKey | None = Field(default=None, description="Present only with group_by")


class SeriesOut(BaseModel):
    """GET /v1/metrics/series."""

    model_config = ConfigDict(populate_by_name=True)

    metric: str = Field(description="The metric asked for")
    granularity: Literal["month", "week", "day"] = Field(description="month, week (ISO) or day")
    from_: date = Field(alias="from", description="First day of the window (Asia/Tokyo)")
    to: date = Field(description="Last day of the window (inclusive)")
    stale_episodes: int = Field(
        description="Episodes in the caller's scope stored but not yet folded (0: numbers exact)"
    )
    points: list[SeriesPoint] = Field(
        description="One point per period (and per key with group_by)"
    )


class SurveyFigures(MetricFigures):
    """Survey figures: the metrics plus the two percentages printed in the survey table."""

    admission_handover_pct: float | None = Field(
        description="入院引継ぎ割合(%), exact fraction × 100 rounded half-up to one decimal"
    )
    discharge_miss_pct: float | None = Field(
        description="退院調整漏れ割合(%), exact fraction × 100 rounded half-up to one decimal"
    )

    @classmethod
    def fields_of(cls, totals: MetricTotals) -> dict[str, Any]:
        return {
            **MetricFigures.fields_of(totals),
            "admission_handover_pct": _pct(totals.admission_handover_rate),
            "discharge_miss_pct": _pct(totals.discharge_miss_rate),
        }


class SurveyRow(SurveyFigures):
    """One hospital (医療機関) of the survey table."""

    hospital_id: str = Field(description="医療機関コード")
    hospital_name: str = Field(description="医療機関名")
    medical_area: str | None = Field(
        default=None, description="二次医療圏 of the hospital (null: none registered)"
    )


class SurveyOut(BaseModel):
    """GET /v1/reports/survey?format=json, for a month, a fiscal year or a from/to range."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="First day of the period (Asia/Tokyo)")
    to: date = Field(description="Last day of the period (inclusive)")
    month: str | None = Field(default=None, description="The survey month YYYY-MM, when asked so")
    fiscal_year: int | None = Field(
        default=None, description="The 年度 (April–March), when asked so"
    )
    region: str | None = Field(description="The region reported on (null: every hospital)")
    stale_episodes: int = Field(description="Episodes stored but not yet folded (0: numbers exact)")
    rows: list[SurveyRow] = Field(
        description="One row per hospital of the region, by 医療機関コード"
    )
    total: SurveyFigures = Field(description="The 合計 row")
