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

    admissions_with_care_manager: int
    admission_info_provided: int
    admission_info_on_time: int
    admission_handover_rate: float | None = Field(
        description="入院引継ぎ割合: admission_info_provided ÷ admissions_with_care_manager"
    )
    admission_handover_on_time_rate: float | None = Field(
        description="admission_info_on_time ÷ admissions_with_care_manager"
    )
    eligible_discharges: int
    coordinated_discharges: int
    missed_discharges: int
    coordination_on_time: int
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

    from_: date = Field(alias="from")
    to: date
    stale_episodes: int = Field(
        description="Episodes in the caller's scope stored but not yet folded (0: numbers exact)"
    )
    total: MetricFigures
    groups: list[MetricGroup]


class SeriesPoint(GroupNames):
    """One period; for a count value = numerator = the count and denominator is null."""

    period: str = Field(description="2024-06 (month), 2024-W23 (ISO week) or 2024-06-03 (day)")
    value: int | float | None
    numerator: int | None
    denominator: int | None
    key: GroupKey | None = Field(default=None, description="Present only with group_by")


class SeriesOut(BaseModel):
    """GET /v1/metrics/series."""

    model_config = ConfigDict(populate_by_name=True)

    metric: str
    granularity: Literal["month", "week", "day"]
    from_: date = Field(alias="from")
    to: date
    stale_episodes: int
    points: list[SeriesPoint]


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

    hospital_id: str
    hospital_name: str


class SurveyOut(BaseModel):
    """GET /v1/reports/survey?format=json."""

    month: str
    region: str | None
    stale_episodes: int
    rows: list[SurveyRow]
    total: SurveyFigures
