"""How the API sends work to the worker without importing the actor modules."""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import dramatiq
import tenacity

logger = logging.getLogger("handover.worker.bridge")

DEFAULT_QUEUE = "default"
PING_ACTOR = "ping"
RECOMPUTE_ACTOR = "recompute_episodes"
RECOMPUTE_BATCH = 100  # episodes per message: one transaction, a handful of queries
SWEEP_ACTOR = "sweep"
REBUILD_ACTOR = "rebuild_metrics"
REACHABLE_TIMEOUT_S = 2.0


def send(broker: dramatiq.Broker, actor_name: str, args: tuple[Any, ...]) -> dramatiq.Message[Any]:
    """Enqueue one message by actor name (JSON-safe args only)."""
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=DEFAULT_QUEUE, actor_name=actor_name, args=args, kwargs={}, options={}
    )
    sent: dramatiq.Message[Any] = _enqueue_once(broker, message)
    return sent


def _enqueue_once(broker: dramatiq.Broker, message: dramatiq.Message[Any]) -> Any:
    """dramatiq-postgres retries enqueue and getconn for minutes; a request must fail fast."""
    retry_with = getattr(type(broker).enqueue, "retry_with", None)
    if retry_with is None:
        return broker.enqueue(message)
    # Fail in ~2 s when the server is down; the connection goes back to the pool for the enqueue.
    with broker.pool.connection(timeout=REACHABLE_TIMEOUT_S):  # type: ignore[attr-defined]
        pass
    return retry_with(stop=tenacity.stop_after_attempt(1))(broker, message)


def enqueue_ping(broker: dramatiq.Broker, token: uuid.UUID) -> None:
    """Ask a worker to mark this ping processed: proves the broker → worker path."""
    send(broker, PING_ACTOR, (str(token),))


def enqueue_recompute(broker: dramatiq.Broker, episode_ids: Iterable[uuid.UUID]) -> None:
    """Recompute messages of up to RECOMPUTE_BATCH episodes; a repeat is harmless (idempotent)."""
    ids = [str(i) for i in episode_ids]
    for start in range(0, len(ids), RECOMPUTE_BATCH):
        send(broker, RECOMPUTE_ACTOR, (ids[start : start + RECOMPUTE_BATCH],))


def broker_reachable(broker: dramatiq.Broker) -> bool:
    """A cheap round trip to the broker, bounded by ~2 s; never raises."""
    try:
        kind = type(broker).__name__
        if kind == "RedisBroker":
            return _redis_reachable(broker)
        if kind == "RabbitmqBroker":
            return _rabbitmq_reachable(broker)
        if kind == "PostgresBroker":
            return _postgres_reachable(broker)
        if kind == "StubBroker":
            return True
        logger.warning("no reachability check for %s", kind)
        return False
    except Exception as exc:
        logger.info("broker unreachable (%s)", type(exc).__name__)
        return False


def _redis_reachable(broker: Any) -> bool:
    import redis

    pool = broker.client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(socket_timeout=REACHABLE_TIMEOUT_S, socket_connect_timeout=REACHABLE_TIMEOUT_S)
    probe_pool = redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    client = redis.Redis(connection_pool=probe_pool)
    try:
        return bool(client.ping())
    finally:
        client.close()
        probe_pool.disconnect()


def _rabbitmq_reachable(broker: Any) -> bool:
    import pika

    candidates = broker.parameters if isinstance(broker.parameters, list) else [broker.parameters]
    for original in candidates:
        params = copy.copy(original)
        params.connection_attempts = 1
        params.retry_delay = 0
        params.socket_timeout = REACHABLE_TIMEOUT_S
        params.stack_timeout = REACHABLE_TIMEOUT_S
        params.blocked_connection_timeout = REACHABLE_TIMEOUT_S
        try:
            connection = pika.BlockingConnection(params)
        except Exception:
            continue
        connection.close()
        return True
    return False


def _postgres_reachable(broker: Any) -> bool:
    import psycopg

    kwargs = dict(broker.pool.kwargs)
    kwargs.update(connect_timeout=max(int(REACHABLE_TIMEOUT_S), 2))
    kwargs["options"] = f"-c statement_timeout={int(REACHABLE_TIMEOUT_S * 1000)}"
    with psycopg.connect(broker.pool.conninfo, autocommit=True, **kwargs) as conn:
        row = conn.execute("SELECT to_regclass('dramatiq.queue') IS NOT NULL").fetchone()
    return bool(row and row[0])
