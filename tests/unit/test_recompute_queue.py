"""The API's after-commit recompute queue: coalesced messages, bounded waits on the broker."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest

from shared.queue.recompute_queue import MAX_IN_FLIGHT, RecomputeQueue


class RecordingBroker:
    """Just enough of a dramatiq broker: keeps what is enqueued, can hang like a frozen Redis."""

    def __init__(self) -> None:
        self.messages: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def enqueue(self, message: Any) -> Any:
        self.release.wait(10)
        self.messages.append(message.args[0])
        return message


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def test_requests_close_together_share_one_message() -> None:
    broker = RecordingBroker()
    queue = RecomputeQueue(broker, delay=0.05)  # type: ignore[arg-type]
    first, second = ids(2), ids(1)
    queue.add(first)
    queue.add(second)
    queue.add(first)  # a repeat within the window is sent once
    assert broker.messages == []  # nothing is sent inside the request
    await asyncio.sleep(0.2)
    await queue.drain()
    assert len(broker.messages) == 1
    assert sorted(broker.messages[0]) == sorted(str(i) for i in first + second)


async def test_a_full_message_goes_at_once_in_batches_of_100() -> None:
    broker = RecordingBroker()
    queue = RecomputeQueue(broker, delay=60)  # type: ignore[arg-type]
    queue.add(ids(250))
    await queue.drain()
    assert [len(m) for m in broker.messages] == [100, 100, 50]


async def test_disabled_queue_sends_nothing() -> None:
    broker = RecordingBroker()
    queue = RecomputeQueue(broker, enabled=False)  # type: ignore[arg-type]
    queue.add(ids(3))
    await queue.drain()
    assert broker.messages == []


async def test_a_hung_broker_holds_a_bounded_number_of_threads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker()
    broker.release.clear()  # every enqueue blocks
    queue = RecomputeQueue(broker, delay=60)  # type: ignore[arg-type]
    for _ in range(MAX_IN_FLIGHT + 2):
        queue.add(ids(100))
        await asyncio.sleep(0)  # let each send start its thread
    await asyncio.sleep(0.05)
    assert queue._in_flight == MAX_IN_FLIGHT
    assert "left to the sweep" in caplog.text
    broker.release.set()
    await queue.drain()
    await asyncio.sleep(0.1)
    assert queue._in_flight == 0
    assert len(broker.messages) == MAX_IN_FLIGHT
