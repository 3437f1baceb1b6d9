"""MSH-18 decides the charset, found in the raw bytes; JIS bytes equal to delimiters survive."""

from __future__ import annotations

import pytest

from shared.interop.hl7v2.decode import Decoded, DecodeError, charset_field, decode
from shared.interop.hl7v2.mapping import Events, map_adt
from shared.interop.hl7v2.parse import Parsed, parse
from tests.unit.interop.helpers import HOSPITAL, adt, fixture

# 奥 is JIS 0x31 0x7C: its second byte is '|'. 笠 is JIS 0x33 0x5E: its second byte is '^'.
PIPE_KANJI = "奥"
CARET_KANJI = "笠"


def test_the_chosen_kanji_really_contain_delimiter_bytes() -> None:
    assert b"|" in PIPE_KANJI.encode("iso2022_jp")
    assert b"^" in CARET_KANJI.encode("iso2022_jp")


def _ssmix_with(name: str) -> bytes:
    """The SS-MIX2 ADT-22 sample (SS-MIX2 spec, via yuakagi/ssmixtwins) with another PID-5."""
    text = fixture("hl7v2", "ssmix2_adt22_a01.hl7").decode("iso2022_jp")
    return text.replace("患者^太郎", name).encode("iso2022_jp")


def test_naive_split_then_decode_breaks_on_a_jis_pipe_byte() -> None:
    raw = _ssmix_with(f"{PIPE_KANJI}村^{CARET_KANJI}子")
    pid = next(seg for seg in raw.split(b"\r") if seg.startswith(b"PID"))
    naive = pid.split(b"|")
    assert len(naive) != len(pid.decode("iso2022_jp").split("|"))
    with pytest.raises(UnicodeDecodeError):
        [part.decode("iso2022_jp") for part in naive]


def test_decode_before_split_keeps_the_name_whole() -> None:
    raw = _ssmix_with(f"{PIPE_KANJI}村^{CARET_KANJI}子")
    decoded = decode(raw)
    assert isinstance(decoded, Decoded)
    assert decoded.codec == "iso2022_jp"
    parsed = parse(decoded.text)
    assert isinstance(parsed, Parsed)
    events = map_adt(parsed, HOSPITAL).outcome
    assert isinstance(events, Events)
    assert events.events[0]["patient"]["display_name"] == "奥村 笠子"


def test_msh18_is_found_even_when_msh4_has_kanji_with_delimiter_bytes() -> None:
    text = adt("A01", charset="~ISO IR87").replace("|HOSP|", f"|{PIPE_KANJI}{CARET_KANJI}病院|", 1)
    assert charset_field(text.encode("iso2022_jp")) == "~ISO IR87"
    decoded = decode(text.encode("iso2022_jp"))
    assert isinstance(decoded, Decoded)
    assert f"{PIPE_KANJI}{CARET_KANJI}病院" in decoded.text


@pytest.mark.parametrize("charset", ["~ISO IR87", "ISO IR87", "ISO 2022-1994"])
def test_jis_charset_names_mean_iso_2022_jp(charset: str) -> None:
    decoded = decode(adt("A01", charset=charset).encode("iso2022_jp"))
    assert isinstance(decoded, Decoded)
    assert decoded.codec == "iso2022_jp"
    assert "山田^花子" in decoded.text


@pytest.mark.parametrize("charset", ["", "UNICODE UTF-8"])
def test_utf8_or_absent_means_utf8(charset: str) -> None:
    decoded = decode(adt("A01", charset=charset).encode("utf-8"))
    assert isinstance(decoded, Decoded)
    assert decoded.codec == "utf-8"


def test_undecodable_bytes_are_an_ae_naming_msh18() -> None:
    raw = adt("A01", charset="UNICODE UTF-8").encode("utf-8").replace("山田".encode(), b"\xff\xfe")
    result = decode(raw)
    assert isinstance(result, DecodeError)
    assert result.ack_code == "AE"
    assert result.location == "MSH-18"
    assert result.lossy_text is not None
    assert "MSG0001" in result.lossy_text


def test_unknown_charset_is_an_ae() -> None:
    result = decode(adt("A01", charset="8859/7").encode("utf-8"))
    assert isinstance(result, DecodeError)
    assert result.ack_code == "AE"


@pytest.mark.parametrize("raw", [b"", b"\x00\x01garbage\xff", b"PID|1||x", b"MSH"])
def test_garbage_bytes_are_an_ar(raw: bytes) -> None:
    result = decode(raw)
    assert isinstance(result, DecodeError)
    assert result.ack_code == "AR"
