"""Fixture loading and a small ADT message builder for the interop tests."""

from __future__ import annotations

from pathlib import Path

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
