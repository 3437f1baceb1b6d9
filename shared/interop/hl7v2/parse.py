"""Decoded ER7 text to a parsed message with its header; AR for what cannot be parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

import hl7

MIN_VERSION: Final = (2, 3)
_VERSION: Final = re.compile(r"^(\d+)\.(\d+)", re.ASCII)


@dataclass(frozen=True, slots=True)
class Header:
    """MSH fields as written (still escaped), enough to answer with an ACK."""

    field_separator: str = "|"
    encoding_characters: str = "^~\\&"
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = "2.5"
    charset: str = ""
    message_code: str = ""
    trigger: str = ""

    @property
    def version_tuple(self) -> tuple[int, int] | None:
        """(major, minor) of MSH-12's first component, or None when unreadable."""
        match = _VERSION.match(self.version.split(self.encoding_characters[:1] or "^")[0])
        return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True, slots=True)
class ParseError:
    """A message the service cannot read (always AR); `header` is what could be salvaged."""

    location: str
    code: int
    reason: str
    header: Header = field(default_factory=Header)
    ack_code: str = "AR"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed message: its header and a field reader over python-hl7's tree."""

    header: Header
    text: str
    tree: Any

    def get(self, segment: str, field_no: int, component: int = 1, repetition: int = 1) -> str:
        """Unescaped value of SEG-field.component (first segment of that id); '' when absent."""
        try:
            value = self.tree.extract_field(segment, 1, field_no, repetition, component, 1)
        except (KeyError, IndexError):
            return ""
        text = str(value).strip()
        return "" if text == '""' else text  # HL7 explicit null counts as empty here


def normalize(text: str) -> str:
    """Segments separated by CR only (LF and CRLF are common in files and HTTP bodies)."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").strip("\x0b\x1c\r\n\t \ufeff")
    return "\r".join(line for line in lines.split("\r") if line.strip())


def read_header(text: str) -> Header | None:
    """The MSH fields of decoded text, split on its own separators; None without an MSH."""
    first = normalize(text).split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return None
    sep = first[3]
    parts = first.split(sep)
    enc = parts[1] if len(parts) > 1 else "^~\\&"

    def msh(n: int) -> str:
        return parts[n - 1] if len(parts) > n - 1 else ""

    msg_type = msh(9).split(enc[:1] or "^")
    return Header(
        field_separator=sep,
        encoding_characters=enc,
        sending_application=msh(3),
        sending_facility=msh(4),
        receiving_application=msh(5),
        receiving_facility=msh(6),
        control_id=msh(10).strip(),
        processing_id=msh(11) or "P",
        version=msh(12).strip(),
        charset=msh(18).strip(),
        message_code=msg_type[0].strip(),
        trigger=(msg_type[1] if len(msg_type) > 1 else "").strip().upper(),
    )


def parse(text: str) -> Parsed | ParseError:
    """Parse decoded text; AR when there is no MSH, no MSH-10 or trigger, or version < 2.3."""
    header = read_header(text)
    if header is None:
        return ParseError("MSH", 100, "not an HL7 v2 message: it must start with an MSH segment")
    if len(header.encoding_characters) < 4 or header.field_separator.isalnum():
        return ParseError("MSH-2", 102, "MSH-1/MSH-2 must give the delimiters, e.g. |^~\\&", header)
    if not header.control_id:
        return ParseError("MSH-10", 101, "MSH-10 (message control ID) is required", header)
    version = header.version_tuple
    if version is None or version < MIN_VERSION:
        reason = f"HL7 version {header.version or '(empty)'} is not supported; 2.3 or later"
        return ParseError("MSH-12", 203, reason, header)
    if not header.trigger:
        return ParseError("MSH-9", 101, "MSH-9.2 (trigger event) is required", header)
    normalized = normalize(text)
    try:
        tree = hl7.parse(normalized)
    except Exception as exc:  # python-hl7 raises assorted errors on broken structure
        return ParseError("MSH", 100, f"the message structure cannot be parsed: {exc}", header)
    return Parsed(header=header, text=normalized, tree=tree)
