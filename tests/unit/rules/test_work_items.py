"""The work lists of api.md (tests/work_rows.py): each row's stay → what each party sees."""

from __future__ import annotations

from datetime import date

import pytest

from shared.episodes.repository import state_json
from shared.rules.calendar import local_date
from shared.rules.events import EVENT_ADAPTER, RecordedEvent
from shared.rules.flags import open_flags
from shared.rules.fold import fold
from shared.rules.state import EpisodeState
from shared.rules.work_items import WorkItem, facts_from_json, stay_facts, work_items
from tests.work_rows import ORGS, ROWS, Row, bodies, expected

from .builders import CENTER, HOSPITAL, NOW, OFFICE, OFFICE_2

IDS = {"H": HOSPITAL, "C1": OFFICE, "C2": OFFICE_2, "SC": CENTER}
TODAY = local_date(NOW)


def recorded(row: Row, today: date) -> list[RecordedEvent]:
    return [
        RecordedEvent(event=EVENT_ADAPTER.validate_python(body), seq=i + 1, poster_org_id=IDS[s.by])
        for i, (s, body) in enumerate(
            zip(row.steps, bodies(row.steps, IDS, "W-1", today), strict=True)
        )
    ]


def items_of(state: EpisodeState, row: Row) -> list[WorkItem]:
    missed = any(f.kind == "missed_discharge_coordination" for f in open_flags(state, NOW))
    return work_items(stay_facts(state), TODAY, missed_flag_open=missed and not row.acknowledged)


def seen_by(items: list[WorkItem], org: str) -> list[tuple[str, date | None, bool, bool | None]]:
    mine = [
        (i.kind, i.due_date, i.overdue, i.coordination_received)
        for i in items
        if i.org_id == IDS[org]
    ]
    return sorted(mine, key=lambda i: (i[1] is None, i[1] or date.min, i[0]))


@pytest.mark.parametrize("name", ROWS)
def test_each_party_sees_the_items_of_the_contracts_table(name: str) -> None:
    row = ROWS[name]
    state = fold(recorded(row, TODAY), [], NOW)
    items = items_of(state, row)
    assert {org: seen_by(items, org) for org in ORGS} == {
        org: expected(row, org, TODAY) for org in ORGS
    }


@pytest.mark.parametrize("name", ROWS)
def test_the_lists_read_the_same_facts_from_the_stored_state_in_any_arrival_order(
    name: str,
) -> None:
    row = ROWS[name]
    records = recorded(row, TODAY)
    state = fold(records, [], NOW)
    arrived_backwards = fold(
        [RecordedEvent(event=r.event, seq=len(records) - r.seq + 1, poster_org_id=r.poster_org_id)
         for r in records],
        [],
        NOW,
    )  # fmt: skip
    assert facts_from_json(state_json(state)) == stay_facts(state) == stay_facts(arrived_backwards)
