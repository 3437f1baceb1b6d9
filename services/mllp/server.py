"""The MLLP listener: frames in, ACKs out, each message recorded by `record_hl7v2`.

Stateless (several can run behind a TCP load balancer): the sender is the hospital whose
hl7_sending_facility is MSH-4.1. Hostile senders are bounded: a frame past the size limit is
answered AR and skipped to its end (the connection stays usable), an idle connection is closed
after the idle timeout, connections past the bound are closed at once. A message's content never
closes a connection; a database outage does (no ACK: the sender resends, nothing was stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, start_http_server
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.observability import MESSAGES_HELP, MESSAGES_LABELS, count_message
from shared.core import unit_of_work
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings
from shared.interop.hl7v2.ack import build_ack
from shared.interop.hl7v2.mllp import Frame, FrameAbandoned, FrameReader, FrameTooLarge, frame
from shared.interop.hl7v2.parse import Header
from shared.interop.service import ack_control_id, record_hl7v2
from shared.organizations.reference import ReferenceData
from shared.queue.after_commit import AfterCommit
from shared.queue.broker import get_broker
from shared.rules.zone import TOKYO

logger = logging.getLogger("handover.mllp")
READ_CHUNK = 65536
REGISTRY = CollectorRegistry(auto_describe=True)
MESSAGES = Counter("handover_messages_total", MESSAGES_HELP, MESSAGES_LABELS, registry=REGISTRY)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one sender may hold: bytes per message, seconds idle, connections at once."""

    max_message_bytes: int = 1_048_576
    idle_timeout_s: float = 300.0
    max_connections: int = 64

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.mllp_max_message_bytes,
            settings.mllp_idle_timeout_s,
            settings.mllp_max_connections,
        )


@dataclass
class Listener:
    """One listening socket's connections; `serve` is asyncio's client_connected callback."""

    sessions: async_sessionmaker[AsyncSession]  # bound to the process's after-commit hand-off
    limits: Limits = field(default_factory=Limits)
    reference: ReferenceData = field(default_factory=ReferenceData)
    active: int = 0
    refused: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read frames until EOF, idle timeout or an outage; answer each with its ACK."""
        if self.active >= self.limits.max_connections:
            self.refused += 1
            logger.warning("connection refused: %d connections open", self.active)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        self.active += 1
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else None
        frames = FrameReader(self.limits.max_message_bytes)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(
                        reader.read(READ_CHUNK), self.limits.idle_timeout_s
                    )
                except TimeoutError:
                    logger.info("closing a connection idle for %.0f s", self.limits.idle_timeout_s)
                    break
                if not data:
                    break
                if not await self._answer(frames.feed(data), writer, address):
                    break
        except (ConnectionError, OSError):
            pass  # the sender went away
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self,
        events: list[Frame | FrameTooLarge | FrameAbandoned],
        writer: asyncio.StreamWriter,
        address: str | None,
    ) -> bool:
        """ACK each complete frame in order; False when the connection must close (outage)."""
        for event in events:
            if isinstance(event, FrameAbandoned):
                logger.info("dropped an unfinished frame of %d bytes", event.discarded_bytes)
                continue
            if isinstance(event, FrameTooLarge):
                ack = too_large_ack(event.limit)
                MESSAGES.labels("mllp", "none", "AR").inc()
            else:
                answered = await self._record(event.payload, address)
                if answered is None:
                    return False
                ack = answered
            writer.write(frame(ack))
            await writer.drain()
        return True

    async def _record(self, payload: bytes, address: str | None) -> bytes | None:
        try:
            async with self.sessions() as session:
                result = await record_hl7v2(
                    session,
                    payload,
                    channel="mllp",
                    principal=None,
                    now=datetime.now(UTC),
                    reference=self.reference,
                    client_address=address,
                )
        except Exception as exc:  # an outage or a bug: no ACK, the sender resends later
            logger.error("message not recorded (%s); closing the connection", type(exc).__name__)
            return None
        count_message("mllp", result, MESSAGES, events=False)  # this process has no events counter
        logger.info(
            "mllp message trigger=%s outcome=%s status=%s events=%d",
            result.trigger_label,
            result.ack_code,
            result.status,
            len(result.event_ids),
        )
        return result.ack


def too_large_ack(limit: int) -> bytes:
    """AR for a frame past the limit: its MSH was not kept, so MSA-2 is empty."""
    return build_ack(
        Header(),
        "AR",
        now=datetime.now(TOKYO),
        ack_control_id=ack_control_id(),
        location="MSH",
        code=100,
        reason=f"the message is larger than {limit} bytes; split it or ask for a higher limit",
    )


async def start(listener: Listener, host: str, port: int) -> asyncio.Server:
    """Listen (the caller owns the server); backlog bounded like the connections."""
    backlog = max(16, listener.limits.max_connections)
    return await asyncio.start_server(listener.serve, host, port, backlog=backlog)


async def run(settings: Settings, host: str, port: int) -> None:
    """The `handover mllp` process: its own engine, broker and after-commit hand-off; stop on
    SIGTERM."""
    engine = create_engine(settings.async_database_url, pool_size=5)
    broker = get_broker(settings.broker_url or settings.async_database_url)
    after_commit = AfterCommit(broker, enabled=settings.enqueue_enabled)
    sessions = create_sessionmaker(engine)
    unit_of_work.bind(sessions, after_commit.hand_off)
    listener = Listener(sessions, Limits.of(settings))
    if settings.mllp_metrics_port:
        start_http_server(settings.mllp_metrics_port, addr=host, registry=REGISTRY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await start(listener, host, port)
    logger.info("MLLP listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await after_commit.drain()
        broker.close()
        await engine.dispose()
