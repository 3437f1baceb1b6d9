"""Real processes for the reliability tests: a private Redis, a uvicorn API, a mixed workload.

Every process is started in its own session and stopped in a ``finally``; nothing is left behind.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import to_psycopg_url
from shared.episodes.rebuild import rebuild_aggregates
from shared.queue.broker import get_broker
from shared.queue.enqueue import SWEEP_ACTOR, send
from tests.factories import ADMIN_TOKEN, admin_headers, unique
from tests.privacy import INSURED_NUMBERS
from tests.services import free_port, stop_process_group, wait_until

READY_TIMEOUT_S = 60
BASE_DAY = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)  # every workload stay lies in fiscal 2025
METRICS_RANGE = {"from": "2025-01-01", "to": "2026-03-31"}


# --- a private Redis --------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of our own on a loopback port: stop it, freeze it, start it again."""

    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        assert wait_until(self.answers, timeout=10), "private redis did not start"

    def answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Gone: the port refuses connections and every queued message is lost (no persistence)."""
        if self.proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)
            stop_process_group(self.proc, timeout=5)
            self.proc = None

    def freeze(self) -> None:
        """Hung: connections are accepted by the kernel but never answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


@contextmanager
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the API as a uvicorn subprocess ----------------------------------------------------------


@dataclass
class ApiServer:
    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def api_server(database_url: str, broker_url: str, log: Path) -> Iterator[ApiServer]:
    """``uvicorn services.api.app:create_app --factory`` on a free loopback port, until /healthz."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=broker_url,
               HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN, HANDOVER_RATE_LIMIT_PER_MINUTE="0",
               HANDOVER_LOG_LEVEL="WARNING")  # fmt: skip
    argv = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    server = ApiServer(proc, f"http://127.0.0.1:{port}", log)
    try:

        def up() -> bool:
            assert proc.poll() is None, f"the API exited early:\n{server.tail()}"
            try:
                return httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up, timeout=READY_TIMEOUT_S, interval=0.2), server.tail()
        yield server
    finally:
        stop_process_group(proc)


# --- a region and its workload ----------------------------------------------------------------


@dataclass
class Region:
    """Organizations of one region and, per organization, a key of its role."""

    region: str
    hospitals: list[str]
    offices: list[str]
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def create(cls, client: httpx.Client, hospitals: int = 3, offices: int = 4) -> Region:
        region = cls(unique("rel-"), [unique("H") for _ in range(hospitals)],
                     [unique("C") for _ in range(offices)])  # fmt: skip
        for org_id in region.hospitals + region.offices:
            kind = "hospital" if org_id in region.hospitals else "care_office"
            body = {"id": org_id, "kind": kind, "name": f"{kind} {org_id}",
                    "region": region.region, "medical_area": "kagoshima"}  # fmt: skip
            r = client.post("/v1/organizations", json=body, headers=admin_headers())
            assert r.status_code == 201, r.text
            r = client.post("/v1/api-keys", json={"organization_id": org_id, "role": kind},
                            headers=admin_headers())  # fmt: skip
            assert r.status_code == 201, r.text
            region.keys[org_id] = {"Authorization": f"Bearer {r.json()['key']}"}
        return region


def _insured(rng: random.Random) -> str:
    number = f"{rng.randrange(10**10):010d}"
    INSURED_NUMBERS.add(number)  # the suite's privacy scan looks for these in logs and errors
    return number


def stay(rng: random.Random, region: Region, n: int) -> list[tuple[str, dict[str, Any]]]:
    """One stay's events as (poster org, body), using every event type; deterministic per rng."""
    hospital = region.hospitals[n % len(region.hospitals)]
    office = region.offices[rng.randrange(len(region.offices))]
    ref = f"E-{n:06d}"
    admitted = BASE_DAY + timedelta(days=rng.randrange(200), minutes=rng.randrange(1440))
    length = timedelta(days=rng.randrange(3, 30))

    def ev(type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": at.isoformat(),
                "hospital_id": hospital, "encounter_ref": ref, **fields}  # fmt: skip

    has_cm = rng.random() < 0.8
    out: list[tuple[str, dict[str, Any]]] = [
        (hospital, ev("admission", admitted, care_office_id=office if has_cm else None,
                      care_level=rng.choice(["care_1", "care_3", "support_2", "none"]),
                      ward_type=rng.choice(["general", "recovery_rehab"]),
                      patient={"insurer_number": "462010", "insured_number": _insured(rng)}))
    ]  # fmt: skip
    if not has_cm and rng.random() < 0.5:
        out.append((hospital, ev("care_assignment", admitted + timedelta(hours=5),
                                 care_office_id=office)))  # fmt: skip
        has_cm = True
    if has_cm and rng.random() < 0.8:
        out.append((office, ev("admission_info", admitted + timedelta(days=rng.randrange(6)),
                               care_office_id=office, channel="fax")))  # fmt: skip
    planned = (admitted + length).date().isoformat()
    out.append((hospital, ev("discharge_planned", admitted + timedelta(days=1),
                             planned_discharge_date=planned)))  # fmt: skip
    kind = rng.random()
    coordinated_at = admitted + length - timedelta(days=rng.randrange(0, 8))
    if kind < 0.45:
        out.append((hospital, ev("discharge_coordination", coordinated_at, to_org_id=office,
                                 channel="phone")))  # fmt: skip
    elif kind < 0.6:
        out.append((hospital, ev("discharge_conference", coordinated_at,
                                 participant_org_ids=[office])))  # fmt: skip
    elif kind < 0.7:
        out.append((hospital, ev("no_cm_referral", coordinated_at, to_org_id=office)))
    if rng.random() < 0.05:
        out.append((hospital, ev("scope_exclusion", admitted + timedelta(hours=2),
                                 reason="respite", note="レスパイト入院")))  # fmt: skip
    if rng.random() < 0.85:
        out.append((hospital, ev("discharge", admitted + length, destination="home")))
    if rng.random() < 0.08 and len(out) > 2:
        poster, target = out[-1]
        out.append((poster, ev("cancel", admitted + length, cancels_event_id=target["event_id"])))
    return out


def post_all(client: httpx.Client, region: Region, events: list[tuple[str, dict[str, Any]]],
             latencies: list[float] | None = None) -> list[str]:  # fmt: skip
    """POST /v1/events one by one with each poster's own key; returns the acknowledged ids."""
    acknowledged = []
    for poster, body in events:
        started = time.perf_counter()
        r = client.post("/v1/events", json=body, headers=region.keys[poster])
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        assert r.status_code == 201, (r.status_code, r.text[:300])
        acknowledged.append(body["event_id"])
    return acknowledged


# --- the database side ------------------------------------------------------------------------


def dirty_episodes(database_url: str) -> int:
    with psycopg.connect(to_psycopg_url(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM episodes WHERE dirty_since IS NOT NULL")
        return int(row.fetchone()[0])  # type: ignore[index]


def stored_event_ids(database_url: str) -> set[str]:
    with psycopg.connect(to_psycopg_url(database_url)) as conn:
        return {str(r[0]) for r in conn.execute("SELECT event_id FROM events")}


def run_sweep(broker_url: str) -> None:
    """Send the real ``sweep`` actor once, as the scheduler does every minute."""
    broker = get_broker(broker_url)
    try:
        send(broker, SWEEP_ACTOR, ())
    finally:
        broker.close()


_TABLES = {
    "daily_aggregates": "SELECT * FROM daily_aggregates ORDER BY 1,2,3,4,5,6,7,8,9,10",
    "episode_contributions": "SELECT * FROM episode_contributions ORDER BY 1,2,3,4,5,6,7,8,9,10,11",
}


async def _incremental_and_rebuilt(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = create_engine(database_url, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            incremental = {k: [tuple(r) for r in await session.execute(text(q))]
                           for k, q in _TABLES.items()}  # fmt: skip
            await session.rollback()
        async with sessions() as session:
            await session.begin()
            await rebuild_aggregates(session, datetime.now(UTC))
            rebuilt = {k: [tuple(r) for r in await session.execute(text(q))]
                       for k, q in _TABLES.items()}  # fmt: skip
            await session.rollback()  # the rebuild is only compared, never kept
        return incremental, rebuilt
    finally:
        await engine.dispose()


def aggregates_and_rebuild(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The worker's incremental tables and a full rebuild of them (rolled back, not kept)."""
    return asyncio.run(_incremental_and_rebuilt(database_url))


def metrics_total(client: httpx.Client, region: str) -> dict[str, Any]:
    r = client.get("/v1/metrics", params={**METRICS_RANGE, "region": region},
                   headers=admin_headers())  # fmt: skip
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
