"""A parsed ADT message to event dicts as POST /v1/events takes them, or why not."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from shared.interop.destinations import from_table_0112
from shared.interop.hl7v2.parse import Parsed
from shared.interop.hl7v2.ts import local_date_text, parse_date, parse_ts

# Fixed namespace of HL7 v2 event ids: uuid5(NAMESPACE_URL, "urn:handover:interop:hl7v2").
# Never change it: every stored HL7 event id and every duplicate check depends on it.
HL7V2_EVENT_NAMESPACE: Final = uuid.UUID("f54bed08-479f-5a67-9c72-2979ebd27531")

ADMISSION_TRIGGERS: Final = frozenset({"A01", "A04", "A06"})
# PV1-2 (patient class, table 0004) that make an admission a stay of the rule: an inpatient
# `I`; an A01 also `B` (obstetrics), `U` (unknown) or none. Outpatient `O`, emergency `E`,
# pre-admit `P` and recurring `R` visits are no stay (an SS-MIX2 gateway sends A04 for every
# 外来受付).
INPATIENT_CLASSES: Final[dict[str, frozenset[str]]] = {
    "A01": frozenset({"I", "B", "U", ""}),
    "A04": frozenset({"I"}),
    "A06": frozenset({"I"}),
}
CANCEL_KINDS: Final[dict[str, Literal["admission", "discharge", "plan"]]] = {
    "A11": "admission",
    "A13": "discharge",
    "A25": "plan",
}
HANDLED_TRIGGERS: Final = ADMISSION_TRIGGERS | {"A03", "A16", "A08"} | set(CANCEL_KINDS)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message gives no event: AE/AR, the field (e.g. PV2-9), table 0357 code, reason."""

    ack_code: Literal["AE", "AR"]
    location: str
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What makes a resent message a duplicate: answered AA before its stay is looked up."""

    hospital_id: str
    control_id: str
    trigger: str
    content_sha256: str


@dataclass(frozen=True, slots=True)
class Events:
    """Events ready for the ingestion, JSON-ready as POST /v1/events takes them."""

    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class CancelIntent:
    """A11/A13/A25: the caller finds the stay's admission / discharge / latest plan event id."""

    kind: Literal["admission", "discharge", "plan"]
    event_id: str
    hospital_id: str
    encounter_ref: str
    occurred_at: str

    def to_event(self, cancels_event_id: str) -> dict[str, Any]:
        """The cancel event once the caller has resolved the target."""
        return {
            "event_id": self.event_id,
            "type": "cancel",
            "occurred_at": self.occurred_at,
            "hospital_id": self.hospital_id,
            "encounter_ref": self.encounter_ref,
            "cancels_event_id": cancels_event_id,
        }


@dataclass(frozen=True, slots=True)
class EpisodeLookup:
    """Neither PV1-19 nor PV1-44: the caller finds the patient's latest stay and maps again."""

    hospital_patient_id: str
    state: Literal["open", "discharged"]


@dataclass(frozen=True, slots=True)
class NoEvent:
    """A trigger (or a patient class) the rule does not use: answered AA and counted."""

    trigger: str
    reason: str = "a trigger the handover rule does not use"


Outcome = Events | CancelIntent | EpisodeLookup | NoEvent | Problem


@dataclass(frozen=True, slots=True)
class Mapping:
    """The outcome of one message with its fingerprint."""

    fingerprint: Fingerprint
    outcome: Outcome


def event_id(hospital_id: str, control_id: str, trigger: str, encounter_ref: str) -> str:
    """UUIDv5 of (hospital, MSH-10, trigger, encounter_ref): reused MSH-10s stay distinct."""
    name = "\x1f".join((hospital_id, control_id, trigger, encounter_ref))
    return str(uuid.uuid5(HL7V2_EVENT_NAMESPACE, name))


def fingerprint(parsed: Parsed, hospital_id: str) -> Fingerprint:
    """(hospital, MSH-10, trigger, sha256 of the CR-normalized text)."""
    digest = hashlib.sha256(parsed.text.encode("utf-8")).hexdigest()
    return Fingerprint(hospital_id, parsed.header.control_id, parsed.header.trigger, digest)


class _Refused(Exception):
    """Internal: a field the rule needs is missing or malformed."""

    def __init__(self, location: str, code: int, reason: str) -> None:
        super().__init__(reason)
        self.problem = Problem("AE", location, code, reason)


def _moment(parsed: Parsed, candidates: tuple[tuple[str, int], ...]) -> datetime:
    """The first present timestamp of the candidates; a present but malformed one is an AE."""
    for segment, field_no in candidates:
        value = parsed.get(segment, field_no)
        if not value:
            continue
        moment = parse_ts(value)
        if moment is None:
            reason = f"{segment}-{field_no} {value!r} is not an HL7 TS YYYYMMDDHHMM[SS][±ZZZZ]"
            raise _Refused(f"{segment}-{field_no}", 102, reason)
        return moment
    names = ", ".join(f"{s}-{n}" for s, n in candidates)
    raise _Refused(candidates[-1][0] + f"-{candidates[-1][1]}", 101, f"no timestamp in {names}")


def _patient_id(parsed: Parsed) -> str:
    """PID-3.1 (first repetition): the hospital's patient ID, 1-64 printable characters."""
    value = parsed.get("PID", 3)
    if not value:
        raise _Refused("PID-3", 101, "PID-3 (patient identifier) is required")
    if len(value) > 64 or not value.isprintable():
        raise _Refused("PID-3", 102, "PID-3.1 must be 1-64 printable characters")
    return value


def _patient(parsed: Parsed) -> dict[str, Any]:
    """Patient fields from PID: hospital_patient_id and display_name (PID-5 family + given)."""
    patient: dict[str, Any] = {"hospital_patient_id": _patient_id(parsed)}
    family = parsed.get("PID", 5, 1).split(parsed.header.encoding_characters[3:4] or "&")[0]
    given = parsed.get("PID", 5, 2)
    name = " ".join(part for part in (family.strip(), given.strip()) if part)
    if name:
        if len(name) > 100 or not name.isprintable():
            raise _Refused("PID-5", 102, "PID-5 family + given must be at most 100 characters")
        patient["display_name"] = name
    return patient


_TAIL: Final = (("EVN", 6), ("EVN", 2), ("MSH", 7))


def time_fields(trigger: str) -> tuple[tuple[str, int], ...]:
    """Where occurred_at is read, in order: the trigger's own field, then EVN-6, EVN-2, MSH-7."""
    if trigger in ADMISSION_TRIGGERS:
        return (("PV1", 44), *_TAIL)
    if trigger == "A03":
        return (("PV1", 45), *_TAIL)
    return _TAIL


def _occurred(parsed: Parsed) -> datetime:
    return _moment(parsed, time_fields(parsed.header.trigger))


def _encounter(
    parsed: Parsed, trigger: str, resolved: str | None, admitted: datetime | None
) -> str | EpisodeLookup:
    """PV1-19.1, else <PID-3.1>-<admission date>; else the caller's stay lookup."""
    visit = parsed.get("PV1", 19)
    if visit:
        if len(visit) > 64 or not visit.isprintable():
            raise _Refused("PV1-19", 102, "PV1-19.1 (visit number) must be 1-64 printable")
        return visit
    patient_id = _patient_id(parsed)
    if admitted is None and parsed.get("PV1", 44):
        admitted = _moment(parsed, (("PV1", 44),))
    if admitted is not None:
        return f"{patient_id}-{local_date_text(admitted)}"
    if resolved:
        return resolved
    return EpisodeLookup(patient_id, "discharged" if trigger == "A13" else "open")


def _planned(parsed: Parsed) -> str:
    """PV2-9 (expected discharge date) as YYYY-MM-DD."""
    written = parsed.get("PV2", 9)
    if not written:
        raise _Refused("PV2-9", 101, "PV2-9 (expected discharge date) is required for A16")
    planned = parse_date(written)
    if planned is None:
        raise _Refused("PV2-9", 102, f"PV2-9 {written!r} is not a date YYYYMMDD")
    return str(planned)


def _outpatient(parsed: Parsed, trigger: str) -> NoEvent | None:
    """An admission trigger whose patient class (PV1-2) is no stay of the rule."""
    patient_class = parsed.get("PV1", 2).upper()
    if patient_class in INPATIENT_CLASSES[trigger]:
        return None
    shown = repr(patient_class) if patient_class else "empty"
    return NoEvent(trigger, f"patient class (PV1-2) {shown}: not an inpatient stay")


def _map(parsed: Parsed, hospital_id: str, resolved: str | None) -> Outcome:
    trigger = parsed.header.trigger
    if parsed.header.message_code not in ("ADT", "") or trigger not in HANDLED_TRIGGERS:
        return NoEvent(trigger)
    if trigger in ADMISSION_TRIGGERS:
        outpatient = _outpatient(parsed, trigger)
        if outpatient is not None:
            return outpatient
        moment = _occurred(parsed)
        patient = _patient(parsed)
        ref = _encounter(parsed, trigger, None, moment)
    else:
        moment = _occurred(parsed)
        ref = _encounter(parsed, trigger, resolved, None)
    if isinstance(ref, EpisodeLookup):
        return ref
    envelope: dict[str, Any] = {
        "event_id": event_id(hospital_id, parsed.header.control_id, trigger, ref),
        "occurred_at": moment.isoformat(),
        "hospital_id": hospital_id,
        "encounter_ref": ref,
    }
    if trigger in CANCEL_KINDS:
        return CancelIntent(
            CANCEL_KINDS[trigger],
            envelope["event_id"],
            hospital_id,
            ref,
            envelope["occurred_at"],
        )
    if trigger in ADMISSION_TRIGGERS:
        return Events(({**envelope, "type": "admission", "patient": patient},))
    if trigger == "A03":
        destination = from_table_0112(parsed.get("PV1", 36))
        return Events(({**envelope, "type": "discharge", "destination": destination},))
    if trigger == "A16":
        event = {
            **envelope,
            "type": "discharge_planned",
            "planned_discharge_date": _planned(parsed),
        }
        return Events((event,))
    # A08: facts learnt after the admission (patient fields of PID).
    return Events(({**envelope, "type": "stay_update", "patient": _patient(parsed)},))


def map_adt(parsed: Parsed, hospital_id: str, encounter_ref: str | None = None) -> Mapping:
    """Map one ADT message; pass `encounter_ref` after answering a EpisodeLookup."""
    try:
        outcome = _map(parsed, hospital_id, encounter_ref)
    except _Refused as refused:
        outcome = refused.problem
    return Mapping(fingerprint(parsed, hospital_id), outcome)
