"""Fixture loading and a small ADT message builder for the interop tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.interop.hl7v2.ack import build_ack
from shared.interop.hl7v2.mapping import Mapping, Problem, map_adt
from shared.interop.hl7v2_service import Received

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOSPITAL = "4610000001"


def fixture(kind: str, name: str) -> bytes:
    """Raw bytes of a published sample under tests/fixtures/<kind>/."""
    return (FIXTURES / kind / name).read_bytes()


def pv1(fields: dict[int, str]) -> str:
    """A PV1 segment with the given field numbers set."""
    top = max(fields) if fields else 1
    return "|".join(["PV1", *(fields.get(n, "") for n in range(1, top + 1))])


def adt(
    trigger: str,
    *,
    pv1_fields: dict[int, str] | None = None,
    pv2_9: str | None = None,
    evn: str = "EVN||202406031015",
    pid: str = "PID|1||P12345^^^HOSP^MR||山田^花子",
    version: str = "2.5",
    charset: str = "",
    control_id: str = "MSG0001",
    msh7: str = "20240603102000",
) -> str:
    """An ADT message in ER7 text (CR terminators)."""
    head = "MSH|^~\\&|HIS|HOSP|HANDOVER|REGION"
    msh = f"{head}|{msh7}||ADT^{trigger}^ADT_A01|{control_id}|P|{version}"
    if charset:
        msh += "||||||" + charset
    segments = [msh, evn, pid, pv1(pv1_fields if pv1_fields is not None else {2: "I"})]
    if pv2_9 is not None:
        segments.append("PV2" + "|" * 9 + pv2_9)
    return "\r".join(segments) + "\r"


def map_received(received: Received, hospital_id: str, encounter_ref: str | None = None) -> Mapping:
    """The mapping of a message that parsed."""
    assert received.parsed is not None, received.problem
    return map_adt(received.parsed, hospital_id, encounter_ref)


def ack_for(received: Received, problem: object, *, now: datetime, ack_control_id: str) -> bytes:
    """The ACK the service sends for this message and problem (AA when it is not a Problem)."""
    found = problem if isinstance(problem, Problem) else None
    return build_ack(
        received.header,
        "AA" if found is None else found.ack_code,
        now=now,
        ack_control_id=ack_control_id,
        codec=received.codec,
        location=found.location if found else None,
        code=found.code if found else None,
        reason=found.reason if found else None,
    )
