"""Decoded ER7 text to a parsed message with its header; AR for what cannot be parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

import hl7

MIN_VERSION: Final = (2, 3)
_VERSION: Final = re.compile(r"^(\d+)\.(\d+)", re.ASCII)
# Bounds on one message, checked before the tree is built (a real ADT message has tens of
# segments and a few hundred delimiters; a hostile one can have a million empty fields).
MAX_SEGMENTS: Final = 1000
MAX_DELIMITERS: Final = 50_000
# C0 controls other than the segment terminators and TAB: PostgreSQL refuses NUL in text, and
# none of them belongs in an HL7 field (escape sequences carry them).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def delimiters_valid(field_separator: str, encoding_characters: str) -> bool:
    """MSH-1 and MSH-2: printable ASCII punctuation, five distinct characters."""
    chars = field_separator + encoding_characters[:4]
    return (
        len(encoding_characters) >= 4
        and len(set(chars)) == 5
        and all(c.isascii() and c.isprintable() and not c.isalnum() and c != " " for c in chars)
    )


def read_header(text: str) -> Header | None:
    """The MSH fields of decoded text, split on its own separators; None without an MSH, and the
    default header when MSH-1/MSH-2 are not usable delimiters (nothing of it is echoed then)."""
    first = normalize(text).split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return None
    sep = first[3]
    parts = first.split(sep)
    enc = parts[1] if len(parts) > 1 else ""
    if not delimiters_valid(sep, enc):
        return Header(encoding_characters=enc[:8], field_separator=sep)

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


def _field_at(text: str, offset: int, separator: str) -> str:
    """SEG-n of the character at ``offset`` (for an error that names where to look)."""
    start = max(text.rfind("\r", 0, offset), text.rfind("\n", 0, offset)) + 1
    segment = text[start:offset]
    name = segment[:3] if segment[:3].isalnum() else "MSH"
    count = segment.count(separator)
    return f"{name}-{count + 1 if name == 'MSH' else count}"


def echoable(header: Header | None) -> Header:
    """What an ACK may echo of a header: nothing when its delimiters are unusable (the default
    header), else its fields with control characters removed."""
    if header is None or not delimiters_valid(header.field_separator, header.encoding_characters):
        return Header()
    values = {f.name: _CONTROL.sub("", getattr(header, f.name)) for f in fields(header)}
    return replace(header, **values)


def _too_big(text: str, header: Header, max_delimiters: int) -> str | None:
    """Why the message is past the bounds on segments and delimiters (None: within them)."""
    segments = text.count("\r") + 1
    if segments > MAX_SEGMENTS:
        return f"the message has {segments} segments; at most {MAX_SEGMENTS} are read"
    delimiters = sum(text.count(c) for c in header.field_separator + header.encoding_characters)
    if delimiters > max_delimiters:
        return (
            f"the message has {delimiters} field delimiters; at most {max_delimiters} are read:"
            " send it without the empty fields"
        )
    return None


def parse(text: str, max_delimiters: int = MAX_DELIMITERS) -> Parsed | ParseError:
    """Parse decoded text; AR when there is no MSH, no MSH-10 or trigger, or version < 2.3."""
    header = read_header(text)
    if header is None:
        return ParseError("MSH", 100, "not an HL7 v2 message: it must start with an MSH segment")
    if not delimiters_valid(header.field_separator, header.encoding_characters):
        reason = "MSH-1/MSH-2 must give five distinct delimiters, e.g. |^~\\&"
        return ParseError("MSH-2", 102, reason)  # the default header: nothing of MSH is echoed
    normalized = normalize(text)
    control = _CONTROL.search(normalized)
    if control is not None:
        where = _field_at(normalized, control.start(), header.field_separator)
        reason = f"{where} holds a control character (U+{ord(control[0]):04X}); remove it"
        return ParseError(where, 102, reason, echoable(header))
    if not header.control_id:
        return ParseError("MSH-10", 101, "MSH-10 (message control ID) is required", header)
    version = header.version_tuple
    if version is None or version < MIN_VERSION:
        reason = f"HL7 version {header.version or '(empty)'} is not supported; 2.3 or later"
        return ParseError("MSH-12", 203, reason, header)
    if not header.trigger:
        return ParseError("MSH-9", 101, "MSH-9.2 (trigger event) is required", header)
    too_big = _too_big(normalized, header, max_delimiters)
    if too_big is not None:
        return ParseError("MSH", 100, too_big, header)
    try:
        tree = hl7.parse(normalized)
    except Exception as exc:  # python-hl7 raises assorted errors on broken structure
        reason = f"the message structure cannot be parsed ({type(exc).__name__})"
        return ParseError("MSH", 100, reason, header)
    return Parsed(header=header, text=normalized, tree=tree)
