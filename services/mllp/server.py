"""The MLLP listener: frames in, ACKs out, each message recorded by `record_hl7v2`.

Stateless (several can run behind a TCP load balancer): the sender is the hospital whose
hl7_sending_facility is MSH-4.1, on a channel the operator may restrict (services.mllp.channels).
No sender can stall or crash it: a frame past the size limit is answered AR and skipped to its
end, a message past the bounds on segments and delimiters is answered AR before it is parsed, a
large message is parsed on a worker thread, every failure (the database's too) is answered with
an ACK, a connection that makes no progress inside a frame for the idle timeout is closed (bytes
outside a frame do not count), and connections are bounded in all and per source address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, start_http_server
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.mllp.channels import Channels, SendCheck, certified_hospital
from shared.core import unit_of_work
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings
from shared.interop.hl7v2.ack import build_ack
from shared.interop.hl7v2.mllp import Frame, FrameAbandoned, FrameReader, FrameTooLarge, frame
from shared.interop.hl7v2.parse import MAX_DELIMITERS, Header
from shared.interop.hl7v2_service import Hl7Result, ack_control_id, record_hl7v2
from shared.interop.metrics import MESSAGES_HELP, MESSAGES_LABELS, count_message
from shared.organizations.reference import ReferenceData
from shared.queue.after_commit import AfterCommit
from shared.queue.broker import get_broker
from shared.rules.zone import TOKYO

logger = logging.getLogger("handover.mllp")
READ_CHUNK = 65536
REGISTRY = CollectorRegistry(auto_describe=True)
MESSAGES = Counter("handover_messages_total", MESSAGES_HELP, MESSAGES_LABELS, registry=REGISTRY)
CONNECTIONS_REFUSED = Counter(
    "handover_mllp_connections_refused_total",
    "MLLP connections closed at once: past the bound in all or per source address.",
    ["reason"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one sender may hold: bytes and delimiters per message, seconds without progress
    inside a frame, connections in all and per source address."""

    max_message_bytes: int = 1_048_576
    idle_timeout_s: float = 300.0
    max_connections: int = 64
    max_connections_per_address: int = 8
    max_delimiters: int = MAX_DELIMITERS

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.mllp_max_message_bytes,
            settings.mllp_idle_timeout_s,
            settings.mllp_max_connections,
            settings.mllp_max_connections_per_address,
        )


@dataclass
class Listener:
    """One listening socket's connections; `serve` is asyncio's client_connected callback."""

    sessions: async_sessionmaker[AsyncSession]  # bound to the process's after-commit hand-off
    limits: Limits = field(default_factory=Limits)
    reference: ReferenceData = field(default_factory=ReferenceData)
    channels: Channels = field(default_factory=Channels)
    active: int = 0
    refused: int = 0
    by_address: Tally[str] = field(default_factory=Tally)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read frames until EOF or the idle timeout; answer each with its ACK."""
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else ""
        refusal = self._refusal(address)
        if refusal is not None:
            self.refused += 1
            CONNECTIONS_REFUSED.labels(refusal).inc()
            logger.warning("connection refused: %s", refusal)
            await _close(writer)
            return
        self.active += 1
        self.by_address[address] += 1
        certified = certified_hospital(writer.get_extra_info("peercert"))
        may_send = self.channels.check(address or None, certified)
        try:
            await self._read_frames(reader, writer, address, may_send)
        except (ConnectionError, OSError):
            pass  # the sender went away
        finally:
            self.active -= 1
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]
            await _close(writer)

    def _refusal(self, address: str) -> str | None:
        if self.active >= self.limits.max_connections:
            return "listener_full"
        if self.by_address[address] >= self.limits.max_connections_per_address:
            return "address_full"
        return None

    async def _read_frames(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        address: str,
        may_send: SendCheck,
    ) -> None:
        """The idle clock restarts only on progress inside a frame: a byte outside one, or no
        byte at all, lets it run out."""
        loop = asyncio.get_running_loop()
        frames = FrameReader(self.limits.max_message_bytes)
        deadline = loop.time() + self.limits.idle_timeout_s
        while True:
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), deadline - loop.time())
            except TimeoutError:
                logger.info("closing a connection idle for %.0f s", self.limits.idle_timeout_s)
                return
            if not data:
                return
            before = frames.progress
            events = frames.feed(data)
            if frames.progress != before:
                deadline = loop.time() + self.limits.idle_timeout_s
            await self._answer(events, writer, address, may_send)
            if events:
                deadline = loop.time() + self.limits.idle_timeout_s

    async def _answer(
        self,
        events: list[Frame | FrameTooLarge | FrameAbandoned],
        writer: asyncio.StreamWriter,
        address: str,
        may_send: SendCheck,
    ) -> None:
        """ACK each complete frame in order."""
        for event in events:
            if isinstance(event, FrameAbandoned):
                logger.info("dropped an unfinished frame of %d bytes", event.discarded_bytes)
                continue
            if isinstance(event, FrameTooLarge):
                ack = too_large_ack(event.limit)
                MESSAGES.labels("mllp", "none", "AR").inc()
            else:
                ack = await self._record(event.payload, address, may_send)
            writer.write(frame(ack))
            await writer.drain()

    async def _record(self, payload: bytes, address: str, may_send: SendCheck) -> bytes:
        """The message's ACK; `record_hl7v2` answers every failure, so this never raises."""
        async with self.sessions() as session:
            result: Hl7Result = await record_hl7v2(
                session,
                payload,
                channel="mllp",
                principal=None,
                now=datetime.now(UTC),
                reference=self.reference,
                client_address=address or None,
                max_delimiters=self.limits.max_delimiters,
                may_send=may_send,
            )
        count_message(MESSAGES, "mllp", result)
        logger.info(
            "mllp message trigger=%s outcome=%s status=%s events=%d",
            result.trigger_label,
            result.ack_code,
            result.status,
            len(result.event_ids),
        )
        return result.ack


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


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
    """Listen (the caller owns the server), over TLS when the channels have a context."""
    backlog = max(16, listener.limits.max_connections)
    return await asyncio.start_server(
        listener.serve, host, port, backlog=backlog, ssl=listener.channels.tls
    )


async def run(settings: Settings, host: str, port: int) -> None:
    """The `handover mllp` process: its own engine, broker and after-commit hand-off; stop on
    SIGTERM."""
    channels = Channels.of(settings)
    engine = create_engine(settings.async_database_url, pool_size=5)
    broker = get_broker(settings.broker_url or settings.async_database_url)
    after_commit = AfterCommit(broker, enabled=settings.enqueue_enabled)
    sessions = create_sessionmaker(engine)
    unit_of_work.bind(sessions, after_commit.hand_off)
    listener = Listener(sessions, Limits.of(settings), channels=channels)
    if settings.mllp_metrics_port:
        start_http_server(settings.mllp_metrics_port, addr=host, registry=REGISTRY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await start(listener, host, port)
    logger.info("MLLP listening on %s:%d%s", host, port, " (TLS)" if channels.tls else "")
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await after_commit.drain()
        broker.close()
        await engine.dispose()
