"""The party rules (domain.md "Parties") hold in every arrival order of every row of the table."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from shared.rules.events import ADMIN_POSTER, EVENT_ADAPTER, RecordedEvent
from shared.rules.fold import fold
from tests.party_rows import ROWS, Step, bodies

from .builders import CENTER, HOSPITAL, NOW, OFFICE, OFFICE_2

IDS = {"H": HOSPITAL, "C1": OFFICE, "C2": OFFICE_2, "C3": "4670000003", "SC": CENTER,
       "admin": ADMIN_POSTER}  # fmt: skip


def recorded(steps: list[Step]) -> list[RecordedEvent]:
    """The row's events as stored, each with its poster, in the order listed."""
    return [
        RecordedEvent(event=EVENT_ADAPTER.validate_python(body), seq=i + 1, poster_org_id=IDS[s.by])
        for i, (s, body) in enumerate(zip(steps, bodies(steps, IDS, "P-1"), strict=True))
    ]


@pytest.mark.parametrize("row", ROWS)
def test_parties_are_the_offices_the_hospital_or_a_party_named_in_any_arrival_order(
    row: str,
) -> None:
    steps, readers = ROWS[row]
    records = recorded(steps)
    expected = frozenset(IDS[o] for o in readers)
    for arrival in itertools.permutations(records):
        renumbered = [replace(r, seq=i + 1) for i, r in enumerate(arrival)]
        assert fold(renumbered, [], NOW).party_org_ids == expected, [r.seq for r in arrival]


def test_posting_never_makes_an_office_a_party() -> None:
    steps, _ = ROWS["office of another region posting before the admission stays out"]
    state = fold(recorded(steps), [], NOW)
    assert state.admission_info_care_office_id == "4670000003"  # its info still folds
    assert "4670000003" not in state.party_org_ids
