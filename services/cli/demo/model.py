"""The demo's vocabulary: weights of each story, the default rule, and the plain records."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from shared.rules.zone import TOKYO

INFO_DEADLINE_DAYS: Final = 7  # default rule set: admission info within 7 calendar days
NOTICE_LEAD_DAYS: Final = 7  # default rule set: coordination 7 days ahead is on time
EXCLUDED_DESTINATIONS: Final = frozenset({"other_hospital", "death"})

CARE_LEVELS: Final = {
    "care_1": 14,
    "care_2": 14,
    "care_3": 11,
    "care_4": 9,
    "care_5": 7,
    "support_1": 7,
    "support_2": 8,
    "applying": 6,
    "none": 24,
}
WARDS: Final = {
    "general": 50,
    "community_care": 20,
    "recovery_rehab": 15,
    "long_term": 8,
    "psychiatric": 5,
    "other": 2,
}
CHANNELS: Final = {"fax": 35, "phone": 25, "ict": 20, "visit": 15, "mail": 5}
ADMISSION_STORIES: Final = {
    "on_time": 55,
    "late_admission_info": 10,
    "missing_admission_info": 8,
    "admission_info_before_admission": 7,
    "out_of_order_admission_info": 10,
    "care_assignment": 6,
}
DISCHARGE_STORIES: Final = {
    "coordinated": 48,
    "late_coordination": 14,
    "discharge_conference": 8,
    "no_coordination": 6,
    "coordination_after_discharge": 5,
    "late_reported_coordination": 6,
    "transfer": 5,
    "death": 3,
    "respite": 5,
}


@dataclass(frozen=True, slots=True)
class Expected:
    """The intended truth of one stay in the survey's terms, from the story's own decisions."""

    hospital_id: str
    encounter_ref: str
    admission_date: date
    discharge_date: date
    care_office_at_admission: str | None
    care_office_at_discharge: str | None
    insurer_number: str
    ward_type: str
    care_level_band: str
    with_care_manager: bool
    info_provided: bool
    info_on_time: bool
    eligible: bool
    coordinated: bool
    coordination_on_time: bool
    lead_days: int | None
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TimedPost:
    """A post and the moment the sender's system reports it, which sets the posting order."""

    report_at: datetime
    poster_org_id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cast:
    """The organizations one patient's stay may involve."""

    hospital_id: str
    utc_clock: bool  # this hospital's system sends UTC timestamps
    insurer_number: str
    care_offices: tuple[str, ...]  # offices serving the patient's municipality
    support_center: str  # 地域包括支援センター of the patient's municipality


def pick(rng: random.Random, weights: Mapping[str, int]) -> str:
    """A weighted choice that depends only on the generator's state."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def at_day(day: date, hour: int, minute: int = 0) -> datetime:
    """A Tokyo wall-clock time."""
    return datetime.combine(day, time(hour, minute), TOKYO)


def band(level: str) -> str:
    """Breakdown band of a care level: 要支援 → support, 要介護 → care, else other."""
    if level.startswith("support_"):
        return "support"
    return "care" if level.startswith("care_") else "other"
