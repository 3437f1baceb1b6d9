"""The work lists of api.md as a table: a stay's events and "today" → what each party sees.

Organizations are symbols (``H`` the hospital, ``C1``, ``C2`` care offices, ``SC`` a support
centre). Days are offsets from today (``-3``: three days ago, at 10:00 Asia/Tokyo); the default
rule set holds (7-day admission-info deadline, 7-day notice lead). Each expected item is
``(kind, due in days from today or None, overdue, coordination_received)``. The unit test folds
every row against a fixed today; the integration test posts rows over HTTP and reads each
organization's ``GET /v1/handovers/pending``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.factories import patient

HOSPITAL = "H"
ORGS = ("H", "C1", "C2", "SC")
Expected = tuple[str, int | None, bool, bool | None]


@dataclass(frozen=True)
class Step:
    """One posted event, ``day`` days from today; ``by`` is the posting organization."""

    name: str
    type: str
    by: str
    day: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    office: str | None = None  # care_office_id / to_org_id, as a symbol


@dataclass(frozen=True)
class Row:
    steps: tuple[Step, ...]
    sees: Mapping[str, tuple[Expected, ...]]  # symbol → items; an org left out sees nothing
    acknowledged: bool = False  # the missed-coordination flag was acknowledged by a party


def admit(
    day: int, office: str | None = "C1", level: str = "care_2", planned: int | None = None
) -> Step:
    fields: dict[str, Any] = {"care_level": level}
    if planned is not None:
        fields["planned"] = planned
    return Step("admission", "admission", HOSPITAL, day, fields, office)


def info(day: int, office: str = "C1") -> Step:
    return Step(f"info-{office}", "admission_info", office, day, {}, office)


def assign(day: int, office: str, by: str) -> Step:
    return Step(f"assign-{office}-by-{by}", "care_assignment", by, day, {}, office)


def plan(day: int, planned: int) -> Step:
    return Step(f"plan-{planned}", "discharge_planned", HOSPITAL, day, {"planned": planned})


def coordinate(day: int, office: str = "C1") -> Step:
    return Step(f"coordinate-{office}", "discharge_coordination", HOSPITAL, day, {}, office)


def refer(day: int, office: str = "SC") -> Step:
    return Step(f"refer-{office}", "no_cm_referral", HOSPITAL, day, {}, office)


def exclude(day: int) -> Step:
    return Step("exclusion", "scope_exclusion", HOSPITAL, day, {"reason": "respite"})


def discharge(day: int, destination: str = "home") -> Step:
    return Step("discharge", "discharge", HOSPITAL, day, {"destination": destination})


def cancel(day: int, target: Step) -> Step:
    return Step(f"cancel-{target.name}", "cancel", target.by, day, {"cancels": target.name})


_MISSED = (admit(-10), info(-9), discharge(-1))

ROWS: dict[str, Row] = {
    "named office owes admission info by the deadline": Row(
        (admit(-3),), {"C1": (("admission_info", 4, False, None),)}
    ),
    "admission info due today is not yet overdue": Row(
        (admit(-7),), {"C1": (("admission_info", 0, False, None),)}
    ),
    "admission info past the deadline is overdue": Row(
        (admit(-10),), {"C1": (("admission_info", -3, True, None),)}
    ),
    "admission info given: nothing owed": Row((admit(-10), info(-9)), {}),
    "a no-CM referral owes no admission info and makes no office responsible": Row(
        (admit(-10, office=None), refer(-9), plan(-9, 10)), {}
    ),
    "a planned discharge: the office is told, the hospital owes coordination": Row(
        (admit(-3, planned=20),),
        {
            "H": (("discharge_coordination", 13, False, None),),
            "C1": (("admission_info", 4, False, None), ("discharge_planned", 20, False, False)),
        },
    ),
    "coordination due today is not yet overdue": Row(
        (admit(-3, planned=7), info(-2)),
        {
            "H": (("discharge_coordination", 0, False, None),),
            "C1": (("discharge_planned", 7, False, False),),
        },
    ),
    "a short planned stay is due lead days before the plan, overdue at once": Row(
        (admit(-2, planned=3),),
        {
            "H": (("discharge_coordination", -4, True, None),),
            "C1": (("discharge_planned", 3, False, False), ("admission_info", 5, False, None)),
        },
    ),
    "a moved plan moves both due dates": Row(
        (admit(-3, planned=5), info(-3), plan(-1, 30)),
        {
            "H": (("discharge_coordination", 23, False, None),),
            "C1": (("discharge_planned", 30, False, False),),
        },
    ),
    "coordination received: the office's item says so, the hospital owes nothing": Row(
        (admit(-3, planned=20), info(-3), coordinate(-1)),
        {"C1": (("discharge_planned", 20, False, True),)},
    ),
    "a plan passed while still in hospital is overdue": Row(
        (admit(-20, planned=-1), info(-19), coordinate(-10)),
        {"C1": (("discharge_planned", -1, True, True),)},
    ),
    "no coordination owed without a care manager or a care level": Row(
        (admit(-3, office=None, level="none", planned=5),), {}
    ),
    "no coordination owed for an unknown care level and no office": Row(
        (admit(-3, office=None, level="unknown", planned=5),), {}
    ),
    "a care level without an office: coordination owed, the office unknown": Row(
        (admit(-3, office=None, planned=20),),
        {
            "H": (
                ("discharge_coordination", 13, False, None),
                ("care_office_unknown", None, False, None),
            )
        },
    ),
    "an application for a care level calls for an office": Row(
        (admit(-3, office=None, level="applying"),),
        {"H": (("care_office_unknown", None, False, None),)},
    ),
    "a scope-excluded stay owes no coordination": Row(
        (admit(-3, planned=20), info(-3), exclude(-1)),
        {"C1": (("discharge_planned", 20, False, False),)},
    ),
    "a party office's handover moves the items to the new office": Row(
        (admit(-3, planned=20), assign(-2, "C2", by="C1")),
        {
            "H": (("discharge_coordination", 13, False, None),),
            "C2": (("admission_info", 4, False, None), ("discharge_planned", 20, False, False)),
        },
    ),
    "an office naming itself is not responsible": Row(
        (assign(-4, "C2", by="C2"), admit(-3, planned=20)),
        {
            "H": (("discharge_coordination", 13, False, None),),
            "C1": (("admission_info", 4, False, None), ("discharge_planned", 20, False, False)),
        },
    ),
    "an office that named only itself before the admission gets nothing": Row(
        (assign(-11, "C2", by="C2"), admit(-10, office=None)), {}
    ),
    "an office coordinated with is not responsible": Row(
        (admit(-3, office=None, planned=20), coordinate(-1, "C1")), {}
    ),
    "a missed coordination is on the hospital's and the office's lists": Row(
        _MISSED,
        {"H": (("open_flag", -1, True, None),), "C1": (("open_flag", -1, True, None),)},
    ),
    "an acknowledged missed coordination leaves both lists": Row(_MISSED, {}, acknowledged=True),
    "a missed coordination reported late leaves both lists": Row((*_MISSED, coordinate(-2)), {}),
    "a discharge elsewhere misses nothing": Row(
        (admit(-10), info(-9), discharge(-1, destination="other_hospital")), {}
    ),
    "a coordinated discharge leaves the lists": Row(
        (admit(-10, planned=-1), info(-9), coordinate(-5), discharge(-1)), {}
    ),
    "a cancelled discharge puts the stay back": Row(
        (admit(-10, planned=20), info(-9), discharge(-1), cancel(-1, discharge(-1))),
        {
            "H": (("discharge_coordination", 13, False, None),),
            "C1": (("discharge_planned", 20, False, False),),
        },
    ),
}


def occurred_at(step: Step, index: int, today: date) -> str:
    """``step.day`` days from today at 10:00 Asia/Tokyo (the minute keeps the posting order)."""
    return f"{today + timedelta(days=step.day)}T10:{index:02d}:00+09:00"


def day(offset: int | None, today: date) -> date | None:
    return None if offset is None else today + timedelta(days=offset)


def _fields(step: Step, office: str | None, planned: date | None) -> dict[str, Any]:
    """The body fields beyond the envelope (a cancel's target is resolved by ``bodies``)."""
    if step.type == "admission":
        body = {"patient": patient(), "care_level": step.fields["care_level"],
                "ward_type": "general", "care_office_id": office}  # fmt: skip
        return body | ({"planned_discharge_date": str(planned)} if planned else {})
    by_type: dict[str, dict[str, Any]] = {
        "admission_info": {"care_office_id": office, "channel": "fax"},
        "care_assignment": {"care_office_id": office},
        "discharge_planned": {"planned_discharge_date": str(planned)},
        "discharge_coordination": {"to_org_id": office, "channel": "phone"},
        "no_cm_referral": {"to_org_id": office},
        "scope_exclusion": dict(step.fields),
        "discharge": dict(step.fields),
    }
    return by_type.get(step.type, {})


def bodies(
    steps: Sequence[Step], ids: Mapping[str, str], encounter_ref: str, today: date
) -> list[dict[str, Any]]:
    """The event bodies of a row, organizations resolved through ``ids`` (symbol → id)."""
    event_ids = {s.name: str(uuid.uuid4()) for s in steps}
    out = []
    for i, step in enumerate(steps):
        office = ids[step.office] if step.office is not None else None
        body: dict[str, Any] = {
            "event_id": event_ids[step.name],
            "type": step.type,
            "occurred_at": occurred_at(step, i, today),
            "hospital_id": ids[HOSPITAL],
            "encounter_ref": encounter_ref,
            **_fields(step, office, day(step.fields.get("planned"), today)),
        }
        if step.type == "cancel":
            body["cancels_event_id"] = event_ids[step.fields["cancels"]]
        out.append(body)
    return out


def expected(row: Row, org: str, today: date) -> list[tuple[str, date | None, bool, bool | None]]:
    """What ``org`` sees of the row, in the list's order (due date, undated last; one stay)."""
    items = [(k, day(d, today), o, r) for k, d, o, r in row.sees.get(org, ())]
    return sorted(items, key=lambda i: (i[1] is None, i[1] or date.min, i[0]))
