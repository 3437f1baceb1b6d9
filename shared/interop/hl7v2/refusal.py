"""An ingestion refusal of a mapped HL7 v2 message as the AE that names the field to fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events.ingestion import Outcome
from shared.interop.hl7v2.mapping import Problem, time_fields
from shared.interop.hl7v2.parse import Parsed

_FIELDS = {
    "patient": "PID-3",
    "display_name": "PID-5",
    "encounter_ref": "PV1-19",
    "planned_discharge_date": "PV2-9",
    "destination": "PV1-36",
    "hospital_id": "MSH-4",
    "cancels_event_id": "MSH-9",
}


def time_field(parsed: Parsed) -> str:
    """The field `occurred_at` was taken from (the mapping's own order of candidates)."""
    for segment, number in time_fields(parsed.header.trigger):
        if parsed.get(segment, number):
            return f"{segment}-{number}"
    return "MSH-7"


def _location(parsed: Parsed, loc: Sequence[Any]) -> str:
    """The HL7 field behind an event field the ingestion refused (`["body", "occurred_at"]`)."""
    names = [str(part) for part in loc if not isinstance(part, int) and part != "body"]
    if not names:
        return "MSH-9"
    if names[0] == "occurred_at":
        return time_field(parsed)
    return _FIELDS.get(names[-1], _FIELDS.get(names[0], "MSH-9"))


def refusal(parsed: Parsed, outcome: Outcome) -> Problem:
    """An ingestion refusal as an AE: the field and the ingestion's own words (never values)."""
    if outcome.status == "conflict":
        reason = "an event with this MSH-10 for this stay was stored with other content: " + (
            "send corrections with a new MSH-10"
        )
        return Problem("AE", "MSH-10", 205, reason)
    if outcome.errors:
        first = outcome.errors[0]
        where = _location(parsed, first.get("loc", []))
        msg = str(first.get("msg", "invalid"))
        field_name = ".".join(str(p) for p in first.get("loc", [])[1:])
        code = 101 if "required" in msg.lower() or "missing" in msg.lower() else 102
        return Problem("AE", where, code, f"{where} ({field_name}): {msg}")
    where = "MSH-4" if outcome.status == "forbidden" else time_field(parsed)
    return Problem("AE", where, 207 if outcome.status == "forbidden" else 102, outcome.detail)
