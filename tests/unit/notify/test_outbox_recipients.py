"""Who is told of each stored event: api.md's table, and never anyone who is not a party."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from shared.notify.outbox import _event_notices
from shared.rules.events import Event
from tests.unit.rules.builders import CENTER, HOSPITAL, OFFICE, OFFICE_2, Stream


def _told(stream: Stream) -> list[tuple[str, set[str]]]:
    """The notices of the stream's last event, given the fold that includes it."""
    last: Event = stream.records[-1].event
    return [(kind, recipients) for kind, recipients, _ in _event_notices(last, stream.fold())]


def test_each_event_type_reaches_the_party_that_must_act() -> None:
    s = Stream()
    s.admission(planned=date(2024, 6, 20))
    assert _told(s) == [("episode.admitted", {OFFICE}), ("episode.discharge_planned", {OFFICE})]
    s.info("2024-06-04T10:00")
    assert _told(s) == [("episode.admission_info", {HOSPITAL})]
    s.plan("2024-06-10T10:00", date(2024, 6, 25))
    assert _told(s) == [("episode.discharge_planned", {OFFICE})]
    s.coordination("2024-06-12T10:00", to=OFFICE)
    assert _told(s) == [("episode.coordination", {OFFICE})]
    s.conference("2024-06-14T10:00", participants=(HOSPITAL, OFFICE))
    assert _told(s) == [("episode.coordination", {OFFICE})]
    s.no_cm_referral("2024-06-15T10:00", to=CENTER)
    assert _told(s) == [("episode.coordination", {CENTER})]
    s.discharge("2024-06-25T11:00")
    assert _told(s) == [("episode.discharged", {OFFICE})]


def test_an_office_that_is_not_a_party_is_told_nothing() -> None:
    """The outbox trusts the fold's parties (domain.md's rule lives there, not here)."""
    s = Stream()
    s.admission(care_office_id=None)
    s.info("2024-06-04T10:00", office=OFFICE_2)
    s.discharge("2024-06-20T11:00")
    only_hospital = replace(s.fold(), party_org_ids=frozenset({HOSPITAL}))
    for record in s.records:
        for kind, recipients, _ in _event_notices(record.event, only_hospital):
            assert recipients == {HOSPITAL}, kind
