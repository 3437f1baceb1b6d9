"""Messages that used to crash or stall the service get an AR whose ACK echoes nothing unsafe.

api.md: AR for what cannot be read; an ACK's text is never cut mid-word; a message is bounded in
segments and delimiters before it is parsed.
"""

from __future__ import annotations

import time
from datetime import datetime

import hl7

from shared.interop.hl7v2.ack import shortened
from shared.interop.hl7v2.mapping import Problem
from shared.interop.hl7v2.mllp import FrameReader, frame
from shared.interop.hl7v2.parse import MAX_DELIMITERS, MAX_SEGMENTS
from shared.interop.hl7v2_service import receive
from shared.rules.zone import TOKYO
from tests.unit.interop.helpers import ack_for, adt

NOW = datetime(2024, 6, 3, 10, 20, tzinfo=TOKYO)


def ack_text(raw: bytes) -> str:
    received = receive(raw)
    assert received.problem is not None
    return ack_for(received, received.problem, now=NOW, ack_control_id="A1").decode()


def test_a_first_segment_of_just_msh_is_an_ar() -> None:
    text = ack_text(b"MSH\rPID|1||P1\r")
    assert "MSA|AR|" in text


def test_an_odd_field_separator_echoes_nothing_of_msh_in_the_ar() -> None:
    raw = b"MSHA^~\\&AHISASECRET-FACILITYAAA20240603AAADT^A01AM1APA2.5\r"
    text = ack_text(raw)
    segments = text.split("\r")
    assert segments[0].startswith("MSH|^~\\&|")
    assert "SECRET" not in text
    assert segments[1] == "MSA|AR|"
    assert "five distinct delimiters" in text


def test_a_nul_byte_in_msh_4_is_an_ar_naming_the_field_and_the_ack_carries_no_nul() -> None:
    raw = adt("A01", pv1_fields={2: "I", 19: "V1"}).replace("|HOSP|", "|HO\x00SP|").encode()
    text = ack_text(raw)
    assert "\x00" not in text
    assert "MSA|AR|MSG0001" in text
    assert "MSH-4 holds a control character (U+0000)" in text


def test_a_nul_byte_in_msh_10_is_an_ar_without_the_nul() -> None:
    raw = adt("A01", control_id="M\x001").encode()
    text = ack_text(raw)
    assert "\x00" not in text
    assert "MSA|AR|M1" in text


def test_a_million_empty_fields_are_refused_before_parsing() -> None:
    raw = adt("A01").encode() + b"ZZZ" + b"|" * 1_000_000 + b"\r"
    started = time.perf_counter()
    received = receive(raw)
    elapsed = time.perf_counter() - started
    assert received.problem is not None
    assert received.problem.ack_code == "AR"
    assert f"at most {MAX_DELIMITERS}" in received.problem.reason
    assert elapsed < 1.0, elapsed  # python-hl7 takes seconds on it


def test_too_many_segments_are_refused() -> None:
    raw = adt("A01").encode() + b"NTE|1\r" * (MAX_SEGMENTS + 1)
    received = receive(raw)
    assert received.problem is not None
    assert f"at most {MAX_SEGMENTS} are read" in received.problem.reason


def test_msa_3_is_cut_at_a_word_and_ends_with_an_ellipsis() -> None:
    reason = (
        "no open stay of this patient (PID-3) at this hospital, and neither PV1-19 nor PV1-44"
        " names one"
    )
    short = shortened(reason)
    assert len(short) <= 80
    assert short.endswith("…")
    assert reason.startswith(short[:-1])
    assert reason[len(short) - 1] == " "  # the cut falls between words
    assert shortened("fits as it is") == "fits as it is"


def test_a_v2_3_ack_keeps_the_whole_reason_in_err() -> None:
    raw = adt("A03", version="2.3", pv1_fields={2: "I"}).encode()
    received = receive(raw)
    assert received.parsed is not None
    reason = "x " * 60 + "end of the reason"
    ack = hl7.parse(
        ack_for(
            received, Problem("AE", "PV1-19", 204, reason), now=NOW, ack_control_id="A"
        ).decode()
    )
    assert str(ack.segment("MSA")(3)).endswith("…")
    assert str(ack.segment("ERR")(1)(1)(4)).endswith("end of the reason")


def test_bytes_outside_a_frame_are_no_progress() -> None:
    reader = FrameReader()
    reader.feed(b"noise outside any frame")
    assert reader.progress == 0
    reader.feed(frame(b"MSH|^~\\&|x")[:5])
    assert reader.progress > 0
