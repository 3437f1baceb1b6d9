"""The party rules of domain.md as a table: events (in some order) → who may read the episode.

Organizations are symbols (``H`` the hospital, ``C1``… care offices, ``SC`` a support centre,
``admin`` the operator); the unit test folds every row in every arrival order, the integration
test posts some rows over HTTP and reads the episode with each organization's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.factories import patient

HOSPITAL = "H"
ORGS = ("H", "C1", "C2", "C3", "SC")
_COORDINATIONS = ("discharge_coordination", "discharge_conference", "no_cm_referral")


@dataclass(frozen=True)
class Step:
    """One posted event: ``name`` lets a cancel refer to it; ``by`` is the posting organization."""

    name: str
    type: str
    by: str
    office: str | None = None
    participants: tuple[str, ...] = ()
    cancels: str | None = None


def admit(office: str | None) -> Step:
    return Step("admission", "admission", HOSPITAL, office)


def info(office: str) -> Step:
    return Step(f"info-{office}", "admission_info", office, office)


def assign(office: str, by: str) -> Step:
    return Step(f"assign-{office}-by-{by}", "care_assignment", by, office)


def coordinate(office: str) -> Step:
    return Step(f"coordinate-{office}", "discharge_coordination", HOSPITAL, office)


def conference(*participants: str) -> Step:
    return Step("conference", "discharge_conference", HOSPITAL, participants=participants)


def refer(office: str) -> Step:
    return Step(f"refer-{office}", "no_cm_referral", HOSPITAL, office)


def cancel(target: Step) -> Step:
    return Step(f"cancel-{target.name}", "cancel", target.by, cancels=target.name)


_ADMIT_C1 = admit("C1")
_HANDOVER_C2 = assign("C2", by="C1")
_COORDINATE_C1 = coordinate("C1")

# id → (events in the order posted over HTTP, the organizations that may read the episode)
ROWS: dict[str, tuple[list[Step], frozenset[str]]] = {
    "admission names its office": ([_ADMIT_C1], frozenset({"H", "C1"})),
    "admission without an office names nobody": ([admit(None)], frozenset({"H"})),
    "cancelled admission names nobody": ([_ADMIT_C1, cancel(_ADMIT_C1)], frozenset({"H"})),
    "office posting after a cancelled admission stays out": (
        [_ADMIT_C1, cancel(_ADMIT_C1), info("C2")],
        frozenset({"H"}),
    ),
    "office of another region posting before the admission stays out": (
        [info("C3"), _ADMIT_C1],
        frozenset({"H", "C1"}),
    ),
    "own assignment before the admission names nobody": (
        [assign("C2", by="C2"), admit(None)],
        frozenset({"H"}),
    ),
    "hospital's assignment names its office": (
        [admit(None), assign("C2", by="H")],
        frozenset({"H", "C2"}),
    ),
    "operator's assignment names its office": (
        [admit(None), assign("C2", by="admin")],
        frozenset({"H", "C2"}),
    ),
    "party office hands over": ([_ADMIT_C1, _HANDOVER_C2], frozenset({"H", "C1", "C2"})),
    "handovers chain": (
        [_ADMIT_C1, _HANDOVER_C2, assign("C3", by="C2")],
        frozenset({"H", "C1", "C2", "C3"}),
    ),
    "non-party's handover names nobody": (
        [assign("C3", by="C2"), _ADMIT_C1],
        frozenset({"H", "C1"}),
    ),
    "handover of an office that stops being a party names nobody": (
        [_ADMIT_C1, _HANDOVER_C2, cancel(_ADMIT_C1)],
        frozenset({"H"}),
    ),
    "another event names the office of a cancelled admission": (
        [_ADMIT_C1, cancel(_ADMIT_C1), assign("C1", by="H")],
        frozenset({"H", "C1"}),
    ),
    "cancelled handover names nobody": (
        [_ADMIT_C1, _HANDOVER_C2, cancel(_HANDOVER_C2)],
        frozenset({"H", "C1"}),
    ),
    "coordination events name their targets": (
        [admit(None), _COORDINATE_C1, conference("H", "C2"), refer("SC")],
        frozenset({"H", "C1", "C2", "SC"}),
    ),
    "cancelled coordination names nobody": (
        [admit(None), _COORDINATE_C1, cancel(_COORDINATE_C1)],
        frozenset({"H"}),
    ),
    "coordinated office hands over": (
        [admit(None), _COORDINATE_C1, _HANDOVER_C2],
        frozenset({"H", "C1", "C2"}),
    ),
    "handover cycle needs a named office to start": (
        [assign("C2", by="C1"), assign("C1", by="C2"), admit(None)],
        frozenset({"H"}),
    ),
    "handover cycle from a named office": (
        [assign("C2", by="C1"), assign("C1", by="C2"), admit("C2")],
        frozenset({"H", "C1", "C2"}),
    ),
}


def occurred_at(step: Step, index: int) -> str:
    """Fixed by the step, not by arrival: the admission first, coordinations after a discharge."""
    if step.type == "admission":
        return "2024-06-03T10:00:00+09:00"
    day = 25 if step.type in _COORDINATIONS else 26 if step.type == "cancel" else 5
    return f"2024-06-{day:02d}T10:{index:02d}:00+09:00"


def bodies(
    steps: Sequence[Step], ids: Mapping[str, str], encounter_ref: str
) -> list[dict[str, Any]]:
    """The event bodies of a row, organizations resolved through ``ids`` (symbol → id)."""
    event_ids = {s.name: str(uuid.uuid4()) for s in steps}
    out = []
    for i, step in enumerate(steps):
        body: dict[str, Any] = {
            "event_id": event_ids[step.name],
            "type": step.type,
            "occurred_at": occurred_at(step, i),
            "hospital_id": ids[HOSPITAL],
            "encounter_ref": encounter_ref,
        }
        office = ids[step.office] if step.office is not None else None
        if step.type == "admission":
            body.update(
                patient=patient(),
                care_level="care_2",
                ward_type="general",
                care_office_id=office,
            )
        elif step.type == "admission_info":
            body.update(care_office_id=office, channel="fax")
        elif step.type == "care_assignment":
            body.update(care_office_id=office)
        elif step.type == "discharge_coordination":
            body.update(to_org_id=office, channel="phone")
        elif step.type == "no_cm_referral":
            body.update(to_org_id=office)
        elif step.type == "discharge_conference":
            body.update(participant_org_ids=[ids[p] for p in step.participants])
        elif step.cancels is not None:
            body.update(cancels_event_id=event_ids[step.cancels])
        out.append(body)
    return out
