"""Test helpers: build one episode's event stream the way hospitals and care offices post it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.rules.events import EVENT_ADAPTER, HOSPITAL_ONLY_TYPES, RecordedEvent
from shared.rules.fold import fold
from shared.rules.rule_set import RuleSet
from shared.rules.state import EpisodeState
from shared.rules.zone import TOKYO

HOSPITAL = "4610000001"
OFFICE = "4670000001"
OFFICE_2 = "4670000002"
CENTER = "SC-462010"
PATIENT = {"insurer_number": "462010", "insured_number": "0000123456", "display_name": "山田　花子"}
NOW = datetime(2024, 7, 31, 12, 0, tzinfo=TOKYO)
_IDS = itertools.count(1)


def at(text: str) -> datetime:
    """A Tokyo-local timestamp from 'YYYY-MM-DDTHH:MM' (or any ISO text with an offset)."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=TOKYO)


class Stream:
    """An episode's recorded events; each add() is one arrival (seq increases)."""

    def __init__(self, encounter_ref: str = "A-2024-000123", hospital_id: str = HOSPITAL) -> None:
        self.hospital_id = hospital_id
        self.encounter_ref = encounter_ref
        self.records: list[RecordedEvent] = []

    def add(self, type_: str, when: str, poster: str | None = None, **fields: Any) -> UUID:
        event_id = UUID(int=next(_IDS))
        body = {
            "event_id": str(event_id),
            "type": type_,
            "occurred_at": at(when).isoformat(),
            "hospital_id": self.hospital_id,
            "encounter_ref": self.encounter_ref,
            **{k: v for k, v in fields.items() if v is not None},
        }
        event = EVENT_ADAPTER.validate_python(body)
        if poster is None:
            poster = (
                self.hospital_id
                if type_ in HOSPITAL_ONLY_TYPES
                else fields.get("care_office_id", self.hospital_id)
            )
        self.records.append(
            RecordedEvent(event=event, seq=len(self.records) + 1, poster_org_id=poster)
        )
        return event_id

    def admission(
        self,
        when: str = "2024-06-03T10:00",
        care_level: str | None = "care_2",
        ward_type: str | None = "general",
        care_office_id: str | None = OFFICE,
        planned: date | None = None,
        patient: dict[str, str] | None = None,
    ) -> UUID:
        return self.add(
            "admission",
            when,
            patient=patient or PATIENT,
            care_level=care_level,
            ward_type=ward_type,
            care_office_id=care_office_id,
            planned_discharge_date=planned.isoformat() if planned else None,
        )

    def stay_update(
        self,
        when: str,
        patient: dict[str, str | None] | None = None,
        care_level: str | None = None,
        ward_type: str | None = None,
    ) -> UUID:
        """A stay_update (A08): only the fields given are sent (None: absent)."""
        return self.add(
            "stay_update", when, patient=patient, care_level=care_level, ward_type=ward_type
        )

    def info(self, when: str, office: str = OFFICE, channel: str = "fax") -> UUID:
        return self.add("admission_info", when, care_office_id=office, channel=channel)

    def assign(self, when: str, office: str = OFFICE_2, poster: str | None = None) -> UUID:
        return self.add("care_assignment", when, poster=poster, care_office_id=office)

    def plan(self, when: str, planned: date) -> UUID:
        return self.add("discharge_planned", when, planned_discharge_date=planned.isoformat())

    def coordination(self, when: str, to: str = OFFICE, planned: date | None = None) -> UUID:
        return self.add(
            "discharge_coordination",
            when,
            to_org_id=to,
            channel="phone",
            planned_discharge_date=planned.isoformat() if planned else None,
        )

    def conference(self, when: str, participants: Sequence[str] = (HOSPITAL, OFFICE)) -> UUID:
        return self.add("discharge_conference", when, participant_org_ids=list(participants))

    def no_cm_referral(self, when: str, to: str = CENTER) -> UUID:
        return self.add("no_cm_referral", when, to_org_id=to)

    def discharge(self, when: str = "2024-06-20T11:00", destination: str = "home") -> UUID:
        return self.add("discharge", when, destination=destination)

    def exclusion(self, when: str, reason: str = "respite", note: str | None = None) -> UUID:
        return self.add("scope_exclusion", when, reason=reason, note=note)

    def cancel(self, when: str, target: UUID, poster: str | None = None) -> UUID:
        return self.add("cancel", when, poster=poster, cancels_event_id=str(target))

    def fold(self, now: datetime = NOW, rule_sets: Sequence[RuleSet] = ()) -> EpisodeState:
        return fold(self.records, rule_sets, now)
