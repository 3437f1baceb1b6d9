"""The ACK (MSA AA/AE/AR, ERR saying which field and why) in the message's own charset."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from shared.interop.hl7v2.parse import Header

CODE_TEXT: Final[dict[int, str]] = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    207: "Application internal error",
}


def escape(text: str, header: Header) -> str:
    """Escape delimiters in free text (\\F\\ \\S\\ \\R\\ \\E\\ \\T\\) and drop CR/LF."""
    enc = (header.encoding_characters + "^~\\&")[:4]
    component, repetition, esc, sub = enc[0], enc[1], enc[2], enc[3]
    out = []
    for ch in text.replace("\r", " ").replace("\n", " "):
        if ch == esc:
            out.append(f"{esc}E{esc}")
        elif ch == header.field_separator:
            out.append(f"{esc}F{esc}")
        elif ch == component:
            out.append(f"{esc}S{esc}")
        elif ch == repetition:
            out.append(f"{esc}R{esc}")
        elif ch == sub:
            out.append(f"{esc}T{esc}")
        else:
            out.append(ch)
    return "".join(out)


MSA3_LIMIT: Final = 80  # MSA-3 (text message) is ST 80 before v2.5


def shortened(text: str, limit: int = MSA3_LIMIT) -> str:
    """The text as is when it fits, else cut at the last word boundary and ended with `…`."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rfind(" ")
    if cut > 0:
        head = head[:cut]
    return head.rstrip(" ,;:") + "…"


def _location(location: str) -> tuple[str, str]:
    """'PV2-9' -> ('PV2', '9'); 'MSH' -> ('MSH', '')."""
    segment, _, field_no = location.partition("-")
    return segment[:3], field_no.split(".")[0]


def _err(header: Header, location: str, code: int, reason: str) -> str:
    """ERR in the v2.5 layout (ERR-2, ERR-3, ERR-4, ERR-8), or ERR-1 for 2.3/2.4."""
    enc = (header.encoding_characters + "^~\\&")[:4]
    c, s = enc[0], enc[3]
    sep = header.field_separator
    segment, field_no = _location(location)
    code_text = CODE_TEXT.get(code, "Application error")
    version = header.version_tuple or (2, 5)
    if version < (2, 5):
        # ELD-4 (CE): the code, its table text, and the whole reason as the alternate text.
        coded = s.join((str(code), code_text, "HL70357", "", escape(reason, header)))
        return sep.join(("ERR", c.join((segment, "1", field_no, coded))))
    erl = c.join((segment, "1", field_no)) if field_no else c.join((segment, "1"))
    cwe = c.join((str(code), code_text, "HL70357"))
    return sep.join(("ERR", "", erl, cwe, "E", "", "", "", escape(reason, header)))


def build_ack(
    header: Header,
    ack_code: str,
    *,
    now: datetime,
    ack_control_id: str,
    codec: str = "utf-8",
    location: str | None = None,
    code: int | None = None,
    reason: str | None = None,
) -> bytes:
    """ACK bytes: MSH swaps sender/receiver, same version, delimiters and MSH-18 (echoed)."""
    sep = header.field_separator
    c = (header.encoding_characters or "^")[0]
    msh = [
        "MSH",
        header.encoding_characters,
        header.receiving_application,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        now.strftime("%Y%m%d%H%M%S%z"),
        "",
        c.join(("ACK", header.trigger, "ACK")) if header.trigger else "ACK",
        escape(ack_control_id, header),
        header.processing_id,
        header.version or "2.5",
    ]
    if header.charset:
        msh += [""] * 5 + [header.charset]
    msa = ["MSA", ack_code, header.control_id]
    version = header.version_tuple or (2, 5)
    if reason and version < (2, 5):
        msa.append(escape(shortened(reason), header))
    segments = [sep.join(msh), sep.join(msa)]
    if ack_code != "AA" and location is not None and code is not None:
        segments.append(_err(header, location, code, reason or CODE_TEXT.get(code, "")))
    text = "\r".join(segments) + "\r"
    return text.encode(codec, errors="replace")
