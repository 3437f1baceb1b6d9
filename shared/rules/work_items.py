"""Work items (api.md, "Work lists"): what each party of a stay has to do, by when.

The five kinds of the contract's table, one function deciding each, all pure (``today`` is
passed in). The flags use the same conditions (``owes_admission_info``, ``owes_coordination``),
so a stay that raises ``discharge_coordination_due`` or ``admission_info_overdue`` is exactly a
stay with the matching item on its party's list, overdue once its due date has passed.

The functions read a ``StayFacts``: the few facts of a folded ``EpisodeState`` they need, built
from the state itself (``stay_facts``, the worker's path) or from its stored JSON
(``facts_from_json``, the lists' path); the two give the same facts for the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from shared.rules.calendar import shift_days
from shared.rules.events import CareLevel
from shared.rules.state import UNSUPPORTED_CARE_LEVELS, EpisodeState

WorkKind = Literal[
    "admission_info",
    "discharge_planned",
    "discharge_coordination",
    "care_office_unknown",
    "open_flag",
]
WORK_KINDS: Final[tuple[WorkKind, ...]] = (
    "admission_info",
    "discharge_planned",
    "discharge_coordination",
    "care_office_unknown",
    "open_flag",
)
# Care levels that call for a care office: 要支援, 要介護 and 申請中 (not none/unknown).
LEVELS_NEEDING_AN_OFFICE: Final[frozenset[str]] = frozenset(
    {"support_1", "support_2", "care_1", "care_2", "care_3", "care_4", "care_5", "applying"}
)


@dataclass(frozen=True, slots=True)
class StayFacts:
    """What the work items and the time-based flags read of a folded stay."""

    hospital_id: str
    admitted: bool
    discharged: bool
    responsible_office_id: str | None  # the care office responsible now
    has_care_manager_at_admission: bool
    admission_info_given: bool
    admission_info_deadline: date | None
    planned_discharge_date: date | None
    coordinated: bool  # any coordination, conference or no-CM referral, at any time
    scope_excluded: bool
    has_care_manager: bool
    care_level: CareLevel | None
    care_office_known: bool
    discharge_notice_lead_days: int
    discharge_date: date | None
    care_office_at_discharge: str | None

    @property
    def in_hospital(self) -> bool:
        """Admitted and not (yet) discharged."""
        return self.admitted and not self.discharged


def stay_facts(state: EpisodeState) -> StayFacts:
    """The facts of a folded state."""
    return StayFacts(
        hospital_id=state.hospital_id,
        admitted=state.admitted_at is not None,
        discharged=state.discharged_at is not None,
        responsible_office_id=state.care_office_id,
        has_care_manager_at_admission=state.has_care_manager_at_admission,
        admission_info_given=state.admission_info_at is not None,
        admission_info_deadline=state.admission_info_deadline,
        planned_discharge_date=state.planned_discharge_date,
        coordinated=state.first_coordination_at is not None,
        scope_excluded=state.scope_excluded,
        has_care_manager=state.has_care_manager,
        care_level=state.care_level,
        care_office_known=state.care_office_known,
        discharge_notice_lead_days=state.rule_set.discharge_notice_lead_days,
        discharge_date=state.discharge_date,
        care_office_at_discharge=state.care_office_at_discharge,
    )


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def facts_from_json(data: Mapping[str, Any]) -> StayFacts:
    """The same facts from the state's stored JSON (``episodes.state``).

    A state stored before ``has_care_manager`` and ``care_office_known`` existed reads them as
    false until the worker refolds it (the migration that added them marked every stay dirty).
    """
    return StayFacts(
        hospital_id=str(data["hospital_id"]),
        admitted=data.get("admitted_at") is not None,
        discharged=data.get("discharged_at") is not None,
        responsible_office_id=data.get("care_office_id"),
        has_care_manager_at_admission=bool(data.get("has_care_manager_at_admission")),
        admission_info_given=data.get("admission_info_at") is not None,
        admission_info_deadline=_day(data.get("admission_info_deadline")),
        planned_discharge_date=_day(data.get("planned_discharge_date")),
        coordinated=data.get("first_coordination_at") is not None,
        scope_excluded=bool(data.get("scope_excluded")),
        has_care_manager=bool(data.get("has_care_manager")),
        care_level=data.get("care_level"),
        care_office_known=bool(data.get("care_office_known")),
        discharge_notice_lead_days=int(data["rule_set"]["discharge_notice_lead_days"]),
        discharge_date=_day(data.get("discharge_date")),
        care_office_at_discharge=data.get("care_office_at_discharge"),
    )


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One item of one organization's list."""

    kind: WorkKind
    org_id: str  # the organization whose list it is on
    due_date: date | None
    overdue: bool
    coordination_received: bool | None = None


def _item(kind: WorkKind, org_id: str, due: date | None, today: date) -> WorkItem:
    return WorkItem(kind, org_id, due, due is not None and today > due)


def owes_admission_info(facts: StayFacts) -> bool:
    """The stay counts as having a care manager at admission and has no 入院時情報提供."""
    return (
        facts.admitted
        and facts.has_care_manager_at_admission
        and not facts.admission_info_given
        and facts.admission_info_deadline is not None
    )


def would_be_eligible(facts: StayFacts) -> bool:
    """An eligible discharge if it left today: not scope-excluded, and a care manager, a care
    level other than none/unknown, or a referral (a coordination: counted by the caller)."""
    level = facts.care_level
    level_in_scope = level is not None and level not in UNSUPPORTED_CARE_LEVELS
    return not facts.scope_excluded and (facts.has_care_manager or level_in_scope)


def owes_coordination(facts: StayFacts) -> bool:
    """退院調整 owed: in hospital, a planned date, no coordination yet, would be eligible."""
    return (
        facts.in_hospital
        and facts.planned_discharge_date is not None
        and not facts.coordinated
        and would_be_eligible(facts)
    )


def coordination_due_date(facts: StayFacts) -> date | None:
    """Planned discharge − ``discharge_notice_lead_days`` (in the past for a short planned stay)."""
    planned = facts.planned_discharge_date
    return None if planned is None else shift_days(planned, -facts.discharge_notice_lead_days)


def admission_info_item(facts: StayFacts, today: date) -> WorkItem | None:
    """`admission_info`, for the office responsible now, due by the admission-info deadline."""
    office = facts.responsible_office_id
    if not facts.in_hospital or office is None or not owes_admission_info(facts):
        return None
    return _item("admission_info", office, facts.admission_info_deadline, today)


def discharge_planned_item(facts: StayFacts, today: date) -> WorkItem | None:
    """`discharge_planned`, for the office responsible now, due by the planned date."""
    office, planned = facts.responsible_office_id, facts.planned_discharge_date
    if not facts.in_hospital or office is None or planned is None:
        return None
    return WorkItem("discharge_planned", office, planned, today > planned, facts.coordinated)


def discharge_coordination_item(facts: StayFacts, today: date) -> WorkItem | None:
    """`discharge_coordination`, for the hospital: exactly the stays that can raise
    ``discharge_coordination_due``, due the day that flag opens."""
    if not owes_coordination(facts):
        return None
    return _item("discharge_coordination", facts.hospital_id, coordination_due_date(facts), today)


def care_office_unknown_item(facts: StayFacts, today: date) -> WorkItem | None:
    """`care_office_unknown`, for the hospital: a care level needing an office, none known."""
    if (
        not facts.in_hospital
        or facts.care_level not in LEVELS_NEEDING_AN_OFFICE
        or facts.care_office_known
    ):
        return None
    return _item("care_office_unknown", facts.hospital_id, None, today)


def open_flag_items(facts: StayFacts, today: date, *, missed_flag_open: bool) -> list[WorkItem]:
    """`open_flag`, for the hospital and the office responsible at discharge, due the discharge
    date, while an open, unacknowledged ``missed_discharge_coordination`` flag exists."""
    if not missed_flag_open or facts.discharge_date is None:
        return []
    orgs = dict.fromkeys(o for o in (facts.hospital_id, facts.care_office_at_discharge) if o)
    return [_item("open_flag", org, facts.discharge_date, today) for org in orgs]


def work_items(facts: StayFacts, today: date, *, missed_flag_open: bool) -> list[WorkItem]:
    """Every item of the stay, on every party's list."""
    one = (
        admission_info_item(facts, today),
        discharge_planned_item(facts, today),
        discharge_coordination_item(facts, today),
        care_office_unknown_item(facts, today),
    )
    return [i for i in one if i is not None] + open_flag_items(
        facts, today, missed_flag_open=missed_flag_open
    )
