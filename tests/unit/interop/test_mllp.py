"""MLLP frame reader: split and merged chunks, oversized frames, any chunking is the same."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from shared.interop.hl7v2.mllp import Frame as F
from shared.interop.hl7v2.mllp import (
    FrameAbandoned,
    FrameEvent,
    FrameReader,
    FrameTooLarge,
    frame,
)
from tests.unit.interop.helpers import fixture

SAMPLE = fixture("hl7v2", "ssmix2_adt22_a01.hl7")  # SS-MIX2 ADT-22 sample, ISO-2022-JP bytes


def test_one_frame_in_one_chunk() -> None:
    assert FrameReader().feed(frame(SAMPLE)) == [F(SAMPLE)]


def test_frame_split_across_chunks_including_the_end_block() -> None:
    data = frame(SAMPLE)
    reader = FrameReader()
    assert reader.feed(data[:10]) == []
    assert reader.feed(data[10:-1]) == []  # ends right after 0x1C
    assert reader.feed(data[-1:]) == [F(SAMPLE)]


def test_two_frames_merged_in_one_chunk_with_noise_between() -> None:
    data = frame(b"MSH|one") + b"\r\n junk " + frame(b"MSH|two")
    assert FrameReader().feed(data) == [F(b"MSH|one"), F(b"MSH|two")]


def test_end_block_without_cr_is_data() -> None:
    assert FrameReader().feed(b"\x0bab\x1cc\x1c\r") == [F(b"ab\x1cc")]


def test_oversized_frame_is_reported_once_and_the_next_frame_is_read() -> None:
    reader = FrameReader(max_frame_bytes=16)
    events = reader.feed(frame(b"x" * 100) + frame(b"MSH|ok"))
    assert events == [FrameTooLarge(16), F(b"MSH|ok")]
    assert reader.buffered == 0


def test_oversized_frame_in_many_chunks_keeps_memory_bounded() -> None:
    reader = FrameReader(max_frame_bytes=16)
    events: list[FrameEvent] = reader.feed(b"\x0b")
    for _ in range(50):
        events += reader.feed(b"y" * 10)
        assert reader.buffered <= 17
    events += reader.feed(b"\x1c\r")
    assert events == [FrameTooLarge(16)]


def test_start_block_inside_a_frame_abandons_it() -> None:
    assert FrameReader().feed(b"\x0bhalf\x0bMSH|b\x1c\r") == [FrameAbandoned(4), F(b"MSH|b")]


@given(
    payloads=st.lists(
        st.binary(max_size=40).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")),
        max_size=5,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_of_the_stream_gives_the_same_frames(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame(p) for p in payloads) + frame(b"x" * 30)
    whole = FrameReader(max_frame_bytes=25).feed(stream)
    reader = FrameReader(max_frame_bytes=25)
    pieces: list[FrameEvent] = []
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        pieces += reader.feed(stream[start:end])
    assert pieces == whole
    assert [e for e in whole if isinstance(e, F)] == [F(p) for p in payloads if len(p) <= 25]
