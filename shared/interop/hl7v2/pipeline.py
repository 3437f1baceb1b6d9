"""Raw bytes to a mapping plus what the ACK needs, in one call for the listener and the route."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.interop.hl7v2.ack import build_ack
from shared.interop.hl7v2.decode import DecodeError, decode
from shared.interop.hl7v2.mapping import Mapping, Problem, map_adt
from shared.interop.hl7v2.parse import Header, Parsed, ParseError, parse, read_header


@dataclass(frozen=True, slots=True)
class Received:
    """A message read as far as it goes: `mapping` when parsed, else `problem` (AE/AR)."""

    header: Header
    codec: str
    parsed: Parsed | None
    problem: Problem | None


def receive(raw: bytes) -> Received:
    """Decode per MSH-18, then parse; failures keep the salvaged header for the ACK."""
    decoded = decode(raw)
    if isinstance(decoded, DecodeError):
        header = read_header(decoded.lossy_text or "") or Header()
        ack_code = "AR" if decoded.lossy_text is None else "AE"
        code = 100 if ack_code == "AR" else 102
        problem = Problem(ack_code, decoded.location, code, decoded.reason)  # type: ignore[arg-type]
        return Received(header, decoded.codec, None, problem)
    parsed = parse(decoded.text)
    if isinstance(parsed, ParseError):
        problem = Problem("AR", parsed.location, parsed.code, parsed.reason)
        return Received(parsed.header, decoded.codec, None, problem)
    return Received(parsed.header, decoded.codec, parsed, None)


def map_received(
    received: Received, hospital_id: str, encounter_ref: str | None = None
) -> Mapping | None:
    """The mapping of a parsed message (None when it did not parse)."""
    if received.parsed is None:
        return None
    return map_adt(received.parsed, hospital_id, encounter_ref)


def ack_for(
    received: Received, problem: Problem | None, *, now: datetime, ack_control_id: str
) -> bytes:
    """AA without a problem, else the problem's AE/AR with its ERR."""
    if problem is None:
        return build_ack(
            received.header, "AA", now=now, ack_control_id=ack_control_id, codec=received.codec
        )
    return build_ack(
        received.header,
        problem.ack_code,
        now=now,
        ack_control_id=ack_control_id,
        codec=received.codec,
        location=problem.location,
        code=problem.code,
        reason=problem.reason,
    )
