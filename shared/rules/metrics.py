"""Survey metrics (入院引継ぎ割合, 退院調整漏れ割合): per-episode contributions and totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Final, Literal

from shared.rules.events import WardType
from shared.rules.state import CareLevelBand, EpisodeState

Side = Literal["admission", "discharge"]

# The seven counts (domain.md, Metrics), declared once: contributions, aggregate columns,
# rollups and the API's fields are all named by these.
ADMISSION_COUNTS: Final[tuple[str, ...]] = (
    "admissions_with_care_manager",
    "admission_info_provided",
    "admission_info_on_time",
)
DISCHARGE_COUNTS: Final[tuple[str, ...]] = (
    "eligible_discharges",
    "coordinated_discharges",
    "missed_discharges",
    "coordination_on_time",
)
COUNT_FIELDS: Final[tuple[str, ...]] = ADMISSION_COUNTS + DISCHARGE_COUNTS


@dataclass(frozen=True, slots=True)
class MetricContribution:
    """What one episode adds to the daily aggregates of one side (admission or discharge)."""

    side: Side
    day: date
    hospital_id: str
    care_office_id: str | None
    insurer_number: str | None
    ward_type: WardType | None  # null ward type is its own group
    care_level_band: CareLevelBand
    admissions_with_care_manager: int = 0
    admission_info_provided: int = 0
    admission_info_on_time: int = 0
    eligible_discharges: int = 0
    coordinated_discharges: int = 0
    missed_discharges: int = 0
    coordination_on_time: int = 0
    lead_days: int | None = None

    def counts(self) -> dict[str, int]:
        """The integer counts keyed by metric name (the columns of the daily aggregate)."""
        return {name: int(getattr(self, name)) for name in COUNT_FIELDS}


def contributions(state: EpisodeState) -> list[MetricContribution]:
    """Admission side on the admission date, discharge side on the discharge date."""
    band = state.care_level_band
    if state.admission_date is None or band is None:
        return []
    with_cm = state.has_care_manager_at_admission
    provided = with_cm and state.admission_info_before_discharge
    on_time = provided and state.admission_info_on_time is True
    result = [
        MetricContribution(
            side="admission",
            day=state.admission_date,
            hospital_id=state.hospital_id,
            care_office_id=state.care_office_at_admission,
            insurer_number=state.insurer_number,
            ward_type=state.ward_type,
            care_level_band=band,
            admissions_with_care_manager=int(with_cm),
            admission_info_provided=int(provided),
            admission_info_on_time=int(on_time),
        )
    ]
    if state.discharge_date is not None:
        eligible = state.eligible is True
        coordinated = eligible and state.coordinated is True
        result.append(
            MetricContribution(
                side="discharge",
                day=state.discharge_date,
                hospital_id=state.hospital_id,
                care_office_id=state.care_office_at_discharge,
                insurer_number=state.insurer_number,
                ward_type=state.ward_type,
                care_level_band=band,
                eligible_discharges=int(eligible),
                coordinated_discharges=int(coordinated),
                missed_discharges=int(eligible and not coordinated),
                coordination_on_time=int(coordinated and state.coordination_on_time is True),
                lead_days=state.coordination_lead_days if coordinated else None,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class MetricTotals:
    """Counts with their exact rates, so a reader can check the arithmetic."""

    admissions_with_care_manager: int
    admission_info_provided: int
    admission_info_on_time: int
    eligible_discharges: int
    coordinated_discharges: int
    missed_discharges: int
    coordination_on_time: int
    admission_handover_rate: Fraction | None
    admission_handover_on_time_rate: Fraction | None
    discharge_miss_rate: Fraction | None
    discharge_coordination_rate: Fraction | None
    coordination_on_time_rate: Fraction | None
    median_coordination_lead_days: float | None


def _rate(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def median_from_histogram(histogram: Mapping[int, int]) -> float | None:
    """Usual median of a {value: count} histogram (mean of the middle two for an even count)."""
    if any(count < 0 for count in histogram.values()):
        raise ValueError("histogram counts must not be negative")
    total = sum(histogram.values())
    if total == 0:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    lower: int | None = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            assert lower is not None
            return (lower + value) / 2
    raise AssertionError("unreachable: ranks lie within the total")


def summarize(counts: Mapping[str, int], lead_days_histogram: Mapping[int, int]) -> MetricTotals:
    """Totals and exact rates from summed counts (missing names count 0; unknown names fail)."""
    unknown = set(counts) - set(COUNT_FIELDS)
    if unknown:
        raise ValueError(f"unknown count names: {sorted(unknown)}")
    c = {name: int(counts.get(name, 0)) for name in COUNT_FIELDS}
    if any(value < 0 for value in c.values()):
        raise ValueError("counts must not be negative")
    with_cm, eligible = c["admissions_with_care_manager"], c["eligible_discharges"]
    return MetricTotals(
        admissions_with_care_manager=with_cm,
        admission_info_provided=c["admission_info_provided"],
        admission_info_on_time=c["admission_info_on_time"],
        eligible_discharges=eligible,
        coordinated_discharges=c["coordinated_discharges"],
        missed_discharges=c["missed_discharges"],
        coordination_on_time=c["coordination_on_time"],
        admission_handover_rate=_rate(c["admission_info_provided"], with_cm),
        admission_handover_on_time_rate=_rate(c["admission_info_on_time"], with_cm),
        discharge_miss_rate=_rate(c["missed_discharges"], eligible),
        discharge_coordination_rate=_rate(c["coordinated_discharges"], eligible),
        coordination_on_time_rate=_rate(c["coordination_on_time"], eligible),
        median_coordination_lead_days=median_from_histogram(lead_days_histogram),
    )


def round_half_up_pct(f: Fraction) -> Decimal:
    """Survey percentage: exact fraction × 100, rounded half-up to one decimal (41/882 → 4.6)."""
    tenths = abs(f) * 1000
    rounded = floor(tenths + Fraction(1, 2))
    sign = -1 if f < 0 else 1
    return Decimal(sign * rounded).scaleb(-1)
