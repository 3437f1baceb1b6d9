"""Flags: what is wrong right now (退院調整漏れ, overdue 入院時情報提供, coordination due)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal

from shared.rules.calendar import local_date, shift_days
from shared.rules.state import EpisodeState
from shared.rules.work_items import (
    coordination_due_date,
    owes_admission_info,
    owes_coordination,
    stay_facts,
)
from shared.rules.zone import TOKYO

FlagKind = Literal[
    "missed_discharge_coordination", "admission_info_overdue", "discharge_coordination_due"
]
FlagDetail = dict[str, str | int | bool | None]


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """One open flag: its kind, the party expected to act, and when its condition began."""

    kind: FlagKind
    party_org_id: str | None
    since: datetime
    detail: FlagDetail = field(default_factory=dict)


EARLIEST_INSTANT = datetime.min.replace(tzinfo=UTC)


def _start_of(day: date) -> datetime:
    """Midnight Asia/Tokyo at the start of `day` (the first instant there is, for date.min)."""
    if day == date.min:  # 0001-01-01T00:00+09:00 is before 0001-01-01 UTC: no datetime holds it
        return EARLIEST_INSTANT
    return datetime.combine(day, time(0), TOKYO)


def open_flags(state: EpisodeState, now: datetime) -> list[FlagSpec]:
    """The flags whose condition holds at `now`; the worker persists raise/clear transitions."""
    if not state.has_admission:
        return []
    today = local_date(now)
    flags: list[FlagSpec] = []
    missed = _missed_coordination(state, now)
    if missed is not None:
        flags.append(missed)
    overdue = _admission_info_overdue(state, today)
    if overdue is not None:
        flags.append(overdue)
    due = _coordination_due(state, today)
    if due is not None:
        flags.append(due)
    return flags


def _missed_coordination(state: EpisodeState, now: datetime) -> FlagSpec | None:
    """退院調整漏れ: an eligible discharge, already past, with no coordination at or before it."""
    if state.discharged_at is None or not state.missed or now < state.discharged_at:
        return None
    return FlagSpec(
        kind="missed_discharge_coordination",
        party_org_id=state.hospital_id,
        since=state.discharged_at,
        detail={
            "discharge_date": state.discharge_date.isoformat() if state.discharge_date else None,
            "destination": state.destination,
            "care_office_id": state.care_office_at_discharge,
            "coordinated_after_discharge": state.first_coordination_at is not None,
        },
    )


def _admission_info_overdue(state: EpisodeState, today: date) -> FlagSpec | None:
    """The patient had a care manager at admission and the deadline passed with no info.

    The party is the office responsible now (None when no party office is: an office that
    named only itself is none), the one whose list has the `admission_info` item.
    """
    facts = stay_facts(state)
    deadline = facts.admission_info_deadline
    if deadline is None or not owes_admission_info(facts) or today <= deadline:
        return None
    return FlagSpec(
        kind="admission_info_overdue",
        party_org_id=facts.responsible_office_id,
        since=_start_of(shift_days(deadline, 1)),
        detail={
            "admission_date": state.admission_date.isoformat() if state.admission_date else None,
            "deadline": deadline.isoformat(),
        },
    )


def _coordination_due(state: EpisodeState, today: date) -> FlagSpec | None:
    """A planned discharge within the lead window of a stay owing coordination (the
    hospital's `discharge_coordination` item, open from its due date)."""
    facts = stay_facts(state)
    window_start = coordination_due_date(facts)
    if window_start is None or not owes_coordination(facts) or today < window_start:
        return None
    return FlagSpec(
        kind="discharge_coordination_due",
        party_org_id=state.hospital_id,
        since=_start_of(window_start),
        detail={
            "planned_discharge_date": str(facts.planned_discharge_date),
            "discharge_notice_lead_days": state.rule_set.discharge_notice_lead_days,
            "care_office_id": state.care_office_id,
        },
    )
