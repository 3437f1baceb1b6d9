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

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress (never more than the limit + 1)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[FrameEvent]:
        """Consume a chunk; bytes outside frames are ignored.

        Runs of ordinary bytes are found with `bytes.find` and copied at once (a byte-by-byte
        loop cost 0.25 s of event-loop time per MiB, which a hostile sender could keep busy);
        the next start and end block positions are remembered, so each is searched once.
        """
        events: list[FrameEvent] = []
        scan = _Scan(data)
        i = 0
        while i < len(data):
            if not self._inside:
                i = self._enter(data, i)
            elif self._pending_end and self._end_block_then(data[i], events):
                i += 1
            else:
                i = self._consume(scan, i, events)
        return events

    def _enter(self, data: bytes, i: int) -> int:
        """Outside a frame: skip to the byte after the next start block (or to the end)."""
        at = data.find(START_BLOCK, i)
        if at == -1:
            return len(data)
        self._start()
        return at + 1

    def _end_block_then(self, byte: int, events: list[FrameEvent]) -> bool:
        """After 0x1C: a carriage return ends the frame (True); anything else is payload."""
        self._pending_end = False
        if byte == CARRIAGE_RETURN:
            finished = self._finish()
            if finished is not None:
                events.append(finished)
            return True
        self._append(bytes([END_BLOCK]), events)
        return False

    def _consume(self, scan: _Scan, i: int, events: list[FrameEvent]) -> int:
        """Inside a frame: take the ordinary bytes up to the next block byte; where to go on."""
        special = scan.next_special(i)
        if special > i:
            self._append(scan.data[i:special], events)
        if special == len(scan.data):
            return special
        if special == scan.next_end:
            self._pending_end = True
        else:  # a start block inside a frame: the unfinished frame is dropped
            if not self._oversized:
                events.append(FrameAbandoned(len(self._buffer)))
            self._start()
        return special + 1

    def _start(self) -> None:
        self._buffer.clear()
        self._inside = True
        self._oversized = False
        self._pending_end = False

    def _append(self, chunk: bytes, events: list[FrameEvent]) -> None:
        if self._oversized:
            return
        room = self.max_frame_bytes + 1 - len(self._buffer)  # memory stays bounded
        self._buffer += chunk[:room]
        if len(self._buffer) > self.max_frame_bytes:
            self._buffer.clear()
            self._oversized = True
            events.append(FrameTooLarge(self.max_frame_bytes))

    def _finish(self) -> Frame | None:
        self._inside = False
        if self._oversized:
            self._oversized = False
            return None  # already reported as FrameTooLarge
        payload = bytes(self._buffer)
        self._buffer.clear()
        return Frame(payload)


class _Scan:
    """One chunk and the positions of its next start and end blocks, each searched once."""

    __slots__ = ("data", "next_end", "next_start")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.next_start = self.next_end = -2  # -2: not searched yet; -1: none in the rest

    def next_special(self, i: int) -> int:
        """The position of the next start or end block at or after ``i``, else the length."""
        if self.next_start != -1 and self.next_start < i:
            self.next_start = self.data.find(START_BLOCK, i)
        if self.next_end != -1 and self.next_end < i:
            self.next_end = self.data.find(END_BLOCK, i)
        return min(at for at in (self.next_start, self.next_end, len(self.data)) if at >= 0)
