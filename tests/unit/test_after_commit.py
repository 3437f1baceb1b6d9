"""The after-commit hand-off: coalesced messages, both kinds of job, bounded waits on the broker."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest

from shared.core.unit_of_work import Jobs
from shared.queue.after_commit import MAX_IN_FLIGHT, AfterCommit
from shared.queue.enqueue import RECOMPUTE_ACTOR
from shared.queue.webhook_queue import DELIVER_ACTOR


class RecordingBroker:
    """Just enough of a dramatiq broker: keeps what is enqueued, can hang like a frozen Redis."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str]]] = []
        self.release = threading.Event()
        self.release.set()

    def enqueue(self, message: Any) -> Any:
        self.release.wait(10)
        self.messages.append((message.actor_name, message.args[0]))
        return message

    def sent(self, actor: str) -> list[list[str]]:
        return [ids for name, ids in self.messages if name == actor]


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def recompute(episodes: list[uuid.UUID]) -> Jobs:
    return Jobs(recompute=set(episodes))


async def test_requests_close_together_share_one_message() -> None:
    broker = RecordingBroker()
    queue = AfterCommit(broker, recompute_delay=0.05)  # type: ignore[arg-type]
    first, second = ids(2), ids(1)
    queue.hand_off(recompute(first))
    queue.hand_off(recompute(second))
    queue.hand_off(recompute(first))  # a repeat within the window is sent once
    assert broker.messages == []  # nothing is sent inside the request
    await asyncio.sleep(0.2)
    await queue.drain()
    assert len(broker.messages) == 1
    assert sorted(broker.sent(RECOMPUTE_ACTOR)[0]) == sorted(str(i) for i in first + second)


async def test_a_full_message_goes_at_once_in_batches_of_100() -> None:
    broker = RecordingBroker()
    queue = AfterCommit(broker, recompute_delay=60)  # type: ignore[arg-type]
    queue.hand_off(recompute(ids(250)))
    await queue.drain()
    assert [len(m) for m in broker.sent(RECOMPUTE_ACTOR)] == [100, 100, 50]


async def test_deliveries_and_recomputes_leave_in_one_send_on_their_own_actors() -> None:
    broker = RecordingBroker()
    queue = AfterCommit(broker, recompute_delay=60, delivery_delay=0.01)  # type: ignore[arg-type]
    episodes, deliveries = ids(3), ids(12)
    queue.hand_off(Jobs(recompute=set(episodes), deliveries=deliveries))
    await asyncio.sleep(0.2)  # the delivery's short delay sends the recomputes with it
    assert [len(m) for m in broker.sent(DELIVER_ACTOR)] == [10, 2]
    assert sorted(broker.sent(RECOMPUTE_ACTOR)[0]) == sorted(str(i) for i in episodes)
    assert queue.pending_ids == []


async def test_disabled_queue_sends_nothing() -> None:
    broker = RecordingBroker()
    queue = AfterCommit(broker, enabled=False)  # type: ignore[arg-type]
    queue.hand_off(Jobs(recompute=set(ids(3)), deliveries=ids(2)))
    await queue.drain()
    assert broker.messages == []


@pytest.mark.parametrize("kind", ["recompute", "deliveries"])
async def test_a_hung_broker_holds_a_bounded_number_of_threads(
    caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    broker = RecordingBroker()
    broker.release.clear()  # every enqueue blocks
    queue = AfterCommit(broker, recompute_delay=60, delivery_delay=60)  # type: ignore[arg-type]
    for _ in range(MAX_IN_FLIGHT + 2):
        batch = ids(100)
        queue.hand_off(Jobs(set(batch)) if kind == "recompute" else Jobs(deliveries=batch))
        queue._send_now()
        await asyncio.sleep(0)  # let each send start its thread
    await asyncio.sleep(0.05)
    assert queue._in_flight == MAX_IN_FLIGHT
    assert "left to the sweeps" in caplog.text
    broker.release.set()
    await queue.drain()
    await asyncio.sleep(0.1)
    assert queue._in_flight == 0
