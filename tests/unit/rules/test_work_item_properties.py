"""Property: the lists and the flags agree, and no item exists without its row's conditions.

Any stay (tests/unit/rules/test_properties.py's ``episodes``) at any day: every open
``discharge_coordination_due`` flag, and every open ``admission_info_overdue`` flag of a stay in
hospital, has its matching item on its party's list (overdue once its due date has passed);
every item holds its row of api.md's table, checked here against the folded state directly.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rules.calendar import local_date
from shared.rules.events import RecordedEvent
from shared.rules.flags import FlagSpec, open_flags
from shared.rules.fold import fold
from shared.rules.state import EpisodeState
from shared.rules.work_items import WorkItem, stay_facts, work_items
from shared.rules.zone import TOKYO
from tests.hypothesis_profiles import scaled

from .test_properties import BASE, RULE_SETS, episodes

IN_SCOPE_LEVELS = {"support_1", "support_2", "applying"} | {f"care_{n}" for n in range(1, 6)}


def _at_noon(offset: int) -> datetime:
    return datetime.combine(BASE.date() + timedelta(days=offset), time(12), TOKYO)


def _listed(
    records: list[RecordedEvent], now: datetime
) -> tuple[EpisodeState, list[FlagSpec], list[WorkItem]]:
    state = fold(records, RULE_SETS, now)
    flags = open_flags(state, now)
    missed = any(f.kind == "missed_discharge_coordination" for f in flags)
    return state, flags, work_items(stay_facts(state), local_date(now), missed_flag_open=missed)


def _holds_its_row(item: WorkItem, s: EpisodeState, missed: bool) -> bool:
    """api.md's table, row by row, on the state (not on the facts the lists read)."""
    in_hospital = s.admitted_at is not None and s.discharged_at is None
    level_in_scope = s.care_level not in (None, "none", "unknown")
    rows: dict[str, bool] = {
        "admission_info": in_hospital and item.org_id == s.care_office_id
        and s.has_care_manager_at_admission and s.admission_info_at is None
        and item.due_date == s.admission_info_deadline,
        "discharge_planned": in_hospital and item.org_id == s.care_office_id
        and s.planned_discharge_date is not None and item.due_date == s.planned_discharge_date
        and item.coordination_received is (s.first_coordination_at is not None),
        "discharge_coordination": in_hospital and item.org_id == s.hospital_id
        and s.planned_discharge_date is not None and s.first_coordination_at is None
        and not s.scope_excluded and (s.has_care_manager or level_in_scope)
        and item.due_date == s.planned_discharge_date
        - timedelta(days=s.rule_set.discharge_notice_lead_days),
        "care_office_unknown": in_hospital and item.org_id == s.hospital_id
        and s.care_level in IN_SCOPE_LEVELS and not s.care_office_known
        and item.due_date is None,
        "open_flag": missed and s.discharge_date is not None
        and item.org_id in (s.hospital_id, s.care_office_at_discharge)
        and item.due_date == s.discharge_date,
    }  # fmt: skip
    return rows[item.kind]


def _matching(items: list[WorkItem], kind: str, org: str | None) -> list[WorkItem]:
    return [i for i in items if i.kind == kind and i.org_id == org]


@settings(max_examples=scaled(200))
@given(records=episodes(), day=st.integers(0, 60))
def test_every_time_flag_has_its_item_on_its_partys_list(
    records: list[RecordedEvent], day: int
) -> None:
    now = _at_noon(day)
    today = local_date(now)
    state, flags, items = _listed(records, now)
    for flag in flags:
        if flag.kind == "discharge_coordination_due":
            [item] = _matching(items, "discharge_coordination", flag.party_org_id)
            assert item.due_date == local_date(flag.since)
            assert item.overdue is (today > local_date(flag.since))
        elif flag.kind == "admission_info_overdue" and state.discharged_at is None:
            owed = _matching(items, "admission_info", flag.party_org_id)
            assert [i.overdue for i in owed] == ([] if flag.party_org_id is None else [True])


@settings(max_examples=scaled(200))
@given(records=episodes(), day=st.integers(0, 60))
def test_no_item_exists_without_the_conditions_of_its_row(
    records: list[RecordedEvent], day: int
) -> None:
    now = _at_noon(day)
    today = local_date(now)
    state, flags, items = _listed(records, now)
    missed = any(f.kind == "missed_discharge_coordination" for f in flags)
    for item in items:
        assert _holds_its_row(item, state, missed), item
        assert item.overdue is (item.due_date is not None and today > item.due_date)
    coordination = [i for i in items if i.kind == "discharge_coordination"]
    due = [f for f in flags if f.kind == "discharge_coordination_due"]
    # the item comes first; the flag opens on its due date
    assert len(due) == sum(
        1 for i in coordination if i.due_date is not None and today >= i.due_date
    )
