"""MLLP framing (0x0B message 0x1C 0x0D) as a pure incremental reader with a size limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

START_BLOCK: Final = 0x0B
END_BLOCK: Final = 0x1C
CARRIAGE_RETURN: Final = 0x0D
DEFAULT_MAX_FRAME_BYTES: Final = 1_048_576


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete message payload, without the framing bytes."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class FrameTooLarge:
    """A frame past the limit: discarded up to its end block; the connection stays usable."""

    limit: int


@dataclass(frozen=True, slots=True)
class FrameAbandoned:
    """A start block arrived inside a frame: the unfinished frame was dropped."""

    discarded_bytes: int


FrameEvent = Frame | FrameTooLarge | FrameAbandoned


def frame(payload: bytes) -> bytes:
    """Wrap one payload (an ACK) for sending."""
    return bytes([START_BLOCK]) + payload + bytes([END_BLOCK, CARRIAGE_RETURN])


class FrameReader:
    """Feed it bytes as they arrive; it returns the frames (and frame errors) they complete."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._inside = False
        self._oversized = False
        self._pending_end = False  # last byte seen was 0x1C inside a frame
        # Bytes taken as part of a frame (start, payload, end): the listener's idle clock
        # restarts only when this grows, so bytes outside frames keep no connection open.
        self.progress = 0

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress (never more than the limit + 1)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[FrameEvent]:
        """Consume a chunk; bytes outside frames are ignored.

        Runs of ordinary bytes are found with `bytes.find` and copied at once, not byte by byte
        (a hostile sender could keep the loop busy: docs/performance.md); the next start and end
        block positions are remembered, so each is searched once.
        """
        events: list[FrameEvent] = []
        i, n = 0, len(data)
        marks = [-2, -2]  # next start, next end block; -2: not searched yet; -1: none left
        while i < n:
            if not self._inside:
                at = data.find(START_BLOCK, i)
                if at == -1:
                    break
                self._start()
                i = at + 1
                continue
            if self._pending_end:
                self._pending_end = False
                if data[i] == CARRIAGE_RETURN:
                    finished = self._finish()
                    if finished is not None:
                        events.append(finished)
                    i += 1
                    continue
                self._append(bytes([END_BLOCK]), events)
            i = self._run(data, i, marks, events)
        return events

    def _run(self, data: bytes, i: int, marks: list[int], events: list[FrameEvent]) -> int:
        """Take the ordinary bytes from ``i`` up to the next block byte, then that byte."""
        special = _next_special(data, i, marks)
        if special > i:
            self._append(data[i:special], events)
        if special == len(data):
            return special
        if special == marks[1]:
            self._pending_end = True
        else:  # a start block inside a frame: the unfinished frame is dropped
            if not self._oversized:
                events.append(FrameAbandoned(len(self._buffer)))
            self._start()
        return special + 1

    def _start(self) -> None:
        self.progress += 1
        self._buffer.clear()
        self._inside = True
        self._oversized = False
        self._pending_end = False

    def _append(self, chunk: bytes, events: list[FrameEvent]) -> None:
        self.progress += len(chunk)
        if self._oversized:
            return
        room = self.max_frame_bytes + 1 - len(self._buffer)  # memory stays bounded
        self._buffer += chunk[:room]
        if len(self._buffer) > self.max_frame_bytes:
            self._buffer.clear()
            self._oversized = True
            events.append(FrameTooLarge(self.max_frame_bytes))

    def _finish(self) -> Frame | None:
        self.progress += 2
        self._inside = False
        if self._oversized:
            self._oversized = False
            return None  # already reported as FrameTooLarge
        payload = bytes(self._buffer)
        self._buffer.clear()
        return Frame(payload)


def _next_special(data: bytes, i: int, marks: list[int]) -> int:
    """The next start or end block at or after ``i`` (else the chunk's length); ``marks`` keeps
    the positions found, so each is searched once per chunk."""
    if marks[0] != -1 and marks[0] < i:
        marks[0] = data.find(START_BLOCK, i)
    if marks[1] != -1 and marks[1] < i:
        marks[1] = data.find(END_BLOCK, i)
    return min(at for at in (marks[0], marks[1], len(data)) if at >= 0)
