"""Bytes to text per MSH-18, found in the raw bytes before anything is split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ESC: Final = 0x1B
# MSH-18 values (any repetition) that mean ISO-2022-JP for the whole message (SS-MIX2: "~ISO IR87").
JIS_CHARSETS: Final = frozenset({"ISO IR87", "ISO 2022-1994"})
UTF8_CHARSETS: Final = frozenset({"", "UNICODE UTF-8", "ASCII"})


@dataclass(frozen=True, slots=True)
class Decoded:
    """The message as text, with the Python codec it was read with (the ACK is written in it)."""

    text: str
    codec: str
    charset_field: str


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Bytes that cannot become text: `ack_code` AR (no MSH at all) or AE (bad characters)."""

    ack_code: str
    location: str
    reason: str
    # Best-effort text (undecodable bytes replaced) so an ACK can still echo MSH; None for AR.
    lossy_text: str | None
    codec: str


def _jis_aware_fields(segment: bytes, separator: int) -> list[bytes]:
    """Split a raw MSH segment on the field separator, never inside a JIS two-byte run."""
    fields: list[bytes] = []
    start = 0
    single_byte = True
    i = 0
    while i < len(segment):
        b = segment[i]
        if b == ESC:
            # ESC $ B / ESC $ @ / ESC $ ( D: two-byte sets; ESC ( B / ESC ( J: ASCII / JIS-Roman.
            if segment[i + 1 : i + 2] == b"$":
                single_byte = False
            elif segment[i + 1 : i + 3] in (b"(B", b"(J"):
                single_byte = True
            elif segment[i + 1 : i + 2] == b"(":
                single_byte = False  # e.g. ESC ( I half-width katakana: 0x5E is a character there
            i += 1
            continue
        if single_byte and b == separator:
            fields.append(segment[start:i])
            start = i + 1
        i += 1
    fields.append(segment[start:])
    return fields


def msh_segment(raw: bytes) -> bytes | None:
    """The raw MSH segment (up to the first CR or LF), or None when the bytes are not HL7 v2."""
    body = raw.lstrip(b"\x0b\r\n\t \x00\xef\xbb\xbf")
    if not body.startswith(b"MSH") or len(body) < 8:
        return None
    end = len(body)
    for terminator in (b"\r", b"\n"):
        at = body.find(terminator)
        if at != -1:
            end = min(end, at)
    segment = body[:end]
    return segment if len(segment) >= 8 else None  # "MSH" and its delimiters at least


def charset_field(raw: bytes) -> str | None:
    """MSH-18 as ASCII text ('' when absent); None when there is no usable MSH."""
    segment = msh_segment(raw)
    if segment is None:
        return None
    separator = segment[3]
    if separator in b"\r\n" or separator >= 0x80:
        return None
    fields = _jis_aware_fields(segment, separator)
    # fields[0] = "MSH", fields[1] = MSH-2, so MSH-n = fields[n - 1].
    if len(fields) < 18:
        return ""
    return fields[17].decode("ascii", errors="replace").strip()


def codec_for(charset: str, repetition_separator: str = "~") -> str | None:
    """The Python codec for an MSH-18 value (repetitions allowed); None when unsupported."""
    names = {part.strip().upper() for part in charset.split(repetition_separator)}
    if names & JIS_CHARSETS:
        return "iso2022_jp"
    if names <= UTF8_CHARSETS:
        return "utf-8"
    return None


def decode(raw: bytes) -> Decoded | DecodeError:
    """Decode a whole message with the character set its MSH-18 names, before any split."""
    charset = charset_field(raw)
    if charset is None:
        reason = "not an HL7 v2 message: it must start with an MSH segment (MSH|^~\\&|…)"
        return DecodeError("AR", "MSH", reason, None, "utf-8")
    segment = msh_segment(raw) or b""
    repetition = chr(segment[5]) if len(segment) > 5 and segment[5] < 0x80 else "~"
    codec = codec_for(charset, repetition)
    if codec is None:
        lossy = raw.decode("utf-8", errors="replace")
        return DecodeError("AE", "MSH-18", f"unsupported character set {charset!r}", lossy, "utf-8")
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        lossy = raw.decode(codec, errors="replace")
        reason = f"bytes {exc.start}-{exc.end} are not valid {codec} (MSH-18 {charset!r})"
        return DecodeError("AE", "MSH-18", reason, lossy, codec)
    return Decoded(text=text, codec=codec, charset_field=charset)
