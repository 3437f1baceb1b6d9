"""The folded state of one hospital stay (入院エピソード)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal
from uuid import UUID

from shared.rules.events import CareLevel, Destination, Patient, WardType
from shared.rules.rule_set import RuleSet

CareLevelBand = Literal["support", "care", "other"]

UNSUPPORTED_CARE_LEVELS: Final[frozenset[CareLevel]] = frozenset({"none", "unknown"})


def band_of(care_level: CareLevel) -> CareLevelBand:
    """Breakdown band: 要支援 → support, 要介護 → care, anything else → other."""
    if care_level in ("support_1", "support_2"):
        return "support"
    if care_level.startswith("care_"):
        return "care"
    return "other"


@dataclass(frozen=True, slots=True)
class EpisodeState:
    """Everything the rules derive from an episode's non-cancelled events."""

    hospital_id: str
    encounter_ref: str
    rule_set: RuleSet
    patient: Patient | None
    # admission side
    admitted_at: datetime | None
    admission_date: date | None
    care_level: CareLevel | None
    ward_type: WardType | None
    care_office_at_admission: str | None
    has_care_manager_at_admission: bool
    admission_info_at: datetime | None
    admission_info_care_office_id: str | None
    admission_info_deadline: date | None
    admission_info_on_time: bool | None
    admission_info_before_discharge: bool
    # responsible office and plan
    care_office_id: str | None
    planned_discharge_date: date | None
    first_coordination_at: datetime | None
    # discharge side
    discharged_at: datetime | None
    discharge_date: date | None
    destination: Destination | None
    care_office_at_discharge: str | None
    scope_excluded: bool
    length_of_stay_days: int | None
    short_stay: bool
    eligible: bool | None
    coordinated: bool | None
    missed: bool | None
    coordination_on_time: bool | None
    coordination_lead_days: int | None
    # bookkeeping
    cancelled_events: frozenset[tuple[str, UUID]]  # (poster, event_id)
    party_org_ids: frozenset[str]

    @property
    def has_admission(self) -> bool:
        """An episode without a (non-cancelled) admission counts in no metric."""
        return self.admitted_at is not None

    @property
    def is_discharged(self) -> bool:
        """True once a non-cancelled discharge exists."""
        return self.discharged_at is not None

    @property
    def care_level_band(self) -> CareLevelBand | None:
        """Breakdown band of the episode's care level (admission, then stay updates)."""
        return None if self.care_level is None else band_of(self.care_level)

    @property
    def insurer_number(self) -> str | None:
        """保険者番号: the municipality breakdown key."""
        return None if self.patient is None else self.patient.insurer_number
