"""ACKs: MSA code and control id, ERR per version, swapped MSH, charset echoed; parsed back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import hl7

from shared.interop.hl7v2_service import receive
from tests.unit.interop.helpers import HOSPITAL, ack_for, adt, fixture, map_received

NOW = datetime(2024, 6, 3, 10, 30, tzinfo=timezone(timedelta(hours=9)))


def test_aa_for_the_ssmix2_sample_is_iso_2022_jp_with_msh18_echoed() -> None:
    # SS-MIX2 ADT-22 sample (SS-MIX2 spec via yuakagi/ssmixtwins).
    received = receive(fixture("hl7v2", "ssmix2_adt22_a01.hl7"))
    raw = ack_for(received, None, now=NOW, ack_control_id="ACK0001")
    ack = hl7.parse(raw.decode("iso2022_jp"))
    assert str(ack["MSA.1"]) == "AA"
    assert str(ack["MSA.2"]) == "20111220000001"
    assert str(ack["MSH.3"]) == "GW"
    assert str(ack["MSH.4"]) == "RCV"
    assert str(ack["MSH.5"]) == "HIS123"
    assert str(ack["MSH.6"]) == "SEND"
    assert str(ack["MSH.12"]) == "2.5"
    assert str(ack.segment("MSH")(18)) == "~ISO IR87"
    assert str(ack["MSH.F9.R1.C1"]) == "ACK"
    assert str(ack["MSH.F9.R1.C2"]) == "A01"
    assert str(ack["MSH.7"]) == "20240603103000+0900"


def test_ae_in_v2_5_names_the_field_in_err2_err3_err8() -> None:
    received = receive(adt("A16", pv1_fields={19: "V1"}).encode())
    mapping = map_received(received, HOSPITAL)
    assert mapping is not None
    raw = ack_for(received, mapping.outcome, now=NOW, ack_control_id="A2")
    ack = hl7.parse(raw.decode())
    assert str(ack["MSA.1"]) == "AE"
    assert str(ack["MSA.2"]) == "MSG0001"
    err = ack.segment("ERR")
    assert str(err(2)) == "PV2^1^9"
    assert str(err(3)(1)(1)) == "101"
    assert str(err(3)(1)(3)) == "HL70357"
    assert str(err(4)) == "E"
    assert "PV2-9" in ack.unescape(str(err(8)))


def test_v2_3_ae_uses_err1_and_msa3() -> None:
    received = receive(adt("A16", version="2.3", pv1_fields={19: "V1"}).encode())
    mapping = map_received(received, HOSPITAL)
    assert mapping is not None
    raw = ack_for(received, mapping.outcome, now=NOW, ack_control_id="A3")
    ack = hl7.parse(raw.decode())
    assert str(ack["MSH.12"]) == "2.3"
    err = ack.segment("ERR")
    assert str(err(1)(1)(1)) == "PV2"
    assert str(err(1)(1)(3)) == "9"
    reason = "PV2-9 (expected discharge date) is required for A16"
    assert str(err(1)(1)(4)) == f"101&Required field missing&HL70357&&{reason}"
    assert "PV2-9" in str(ack["MSA.3"])


def test_unsupported_version_is_an_ar_with_msa2() -> None:
    received = receive(adt("A01", version="2.2").encode())
    assert received.problem is not None
    assert received.problem.ack_code == "AR"
    ack = hl7.parse(ack_for(received, received.problem, now=NOW, ack_control_id="A4").decode())
    assert str(ack["MSA.1"]) == "AR"
    assert str(ack["MSA.2"]) == "MSG0001"
    assert str(ack.segment("ERR")(1)(1)(3)) == "12"


def test_garbage_still_gets_an_ar_ack() -> None:
    received = receive(b"\x00\xffnot hl7 at all")
    assert received.problem is not None
    assert received.problem.ack_code == "AR"
    ack = hl7.parse(ack_for(received, received.problem, now=NOW, ack_control_id="A5").decode())
    assert str(ack["MSA.1"]) == "AR"


def test_undecodable_jis_message_is_an_ae_ack_in_its_charset() -> None:
    raw = adt("A01", charset="~ISO IR87").encode("iso2022_jp") + b"\x1b$B\xff\xff"
    received = receive(raw)
    assert received.problem is not None
    assert received.problem.ack_code == "AE"
    ack_bytes = ack_for(received, received.problem, now=NOW, ack_control_id="A6")
    ack = hl7.parse(ack_bytes.decode("iso2022_jp"))
    assert str(ack["MSA.1"]) == "AE"
    assert str(ack["MSA.2"]) == "MSG0001"
    assert str(ack.segment("ERR")(2)) == "MSH^1^18"


def test_err_text_escapes_delimiters() -> None:
    received = receive(adt("A01", pv1_fields={19: "V1", 44: "2024|06"}).encode())
    mapping = map_received(received, HOSPITAL)
    assert mapping is not None
    raw = ack_for(received, mapping.outcome, now=NOW, ack_control_id="A7")
    segments = raw.decode().strip("\r").split("\r")
    assert len(segments) == 3
    assert segments[2].startswith("ERR|")
