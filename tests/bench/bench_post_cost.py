"""What one ``POST /v1/events`` and one MLLP message cost the service (numbers, never pass/fail).

``python -m tests.bench.bench_post_cost [--requests 400]``

Real processes on a scratch database (Postgres broker on it): the API (uvicorn) and
``handover mllp``; the client is this process. The POSTs are whole stays as ``bench_ingest``
posts them (admission naming a care office, 入院時情報提供 by the office's key, 退院調整,
discharge); each MLLP message admits a new stay (the A01 of ``bench_mllp``). One at a time,
after a warm-up. Measured:

- app CPU per request: the server process's user + system CPU over the run ÷ requests (the
  after-commit enqueue included: it runs in the server's threads);
- round trips per request: the statements PostgreSQL logged (``log_statement = 'all'``, set on
  the scratch database with ``ALTER DATABASE``) from the service's own connections
  (``application_name = 'handover'``) ÷ requests. ``BEGIN``, ``COMMIT`` and a pool pre-ping
  count; the broker's enqueue (its own connections) does not.

Needs to read PostgreSQL's log file (``--pg-log``, default Debian's). Writes
``bench-results/post-cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from tests.bench.bench_data import Step, stay
from tests.bench.bench_harness import ADMIN_TOKEN, Server, api_server
from tests.bench.bench_mllp import messages, mllp_server, send_all
from tests.services import fresh_database

RESULTS = Path("bench-results")
DEFAULT_LOG = "/var/log/postgresql/postgresql-15-main.log"
STATEMENT = re.compile(r"\[(\d+)\] (?:\S+ )?LOG:  (?:statement|execute [^:]*):")
SETTLE_S = 0.5  # the after-commit hand-off sends a moment after the answer


def cpu_seconds(server: Server) -> float:
    """User + system CPU of the server process and its children so far."""
    parent = psutil.Process(server.proc.pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def service_backends(database: str) -> set[str]:
    """The PostgreSQL backend pids of the service's own pool (not the broker's)."""
    with psycopg.connect(database, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'handover'"
        ).fetchall()
    return {str(row[0]) for row in rows}


class Window:
    """The statements PostgreSQL logged between ``start`` and ``stop``, per backend pid."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = 0
        self.by_pid: dict[str, int] = {}

    def start(self) -> None:
        self.offset = self.log.stat().st_size

    def stop(self) -> None:
        with self.log.open("rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
        self.by_pid = {}
        for match in STATEMENT.finditer(text):
            self.by_pid[match.group(1)] = self.by_pid.get(match.group(1), 0) + 1

    def count(self, pids: set[str]) -> int:
        return sum(n for pid, n in self.by_pid.items() if pid in pids)


async def measure(
    server: Server, window: Window, database: str, count: int, work: Any
) -> dict[str, Any]:
    """CPU and statements of ``count`` requests made by ``work()``, one at a time."""
    window.start()
    cpu_before, started = cpu_seconds(server), time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    await asyncio.sleep(SETTLE_S)
    cpu = cpu_seconds(server) - cpu_before
    window.stop()
    statements = window.count(service_backends(database))
    return {
        "requests": count,
        "app_cpu_ms_per_request": round(cpu * 1000 / count, 2),
        "round_trips_per_request": round(statements / count, 2),
        "wall_ms_per_request": round(wall * 1000 / count, 2),
    }


async def region(client: httpx.AsyncClient) -> tuple[str, str, str, dict[str, dict[str, str]]]:
    """A hospital with a sending facility and a care office in a new region, and their keys."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    name, hospital = f"r-{uuid.uuid4().hex[:8]}", f"H{uuid.uuid4().hex[:10]}"
    office, facility = f"C{uuid.uuid4().hex[:10]}", f"F{uuid.uuid4().hex[:10]}"
    keys = {}
    for org, role, extra in ((hospital, "hospital", {"hl7_sending_facility": facility}),
                             (office, "care_office", {})):  # fmt: skip
        body = {"id": org, "kind": role, "name": "bench", "region": name, **extra}
        assert (await client.post("/v1/organizations", json=body, headers=admin)).is_success
        r = await client.post(
            "/v1/api-keys", json={"organization_id": org, "role": role}, headers=admin
        )
        keys[role] = {"Authorization": f"Bearer {r.json()['key']}"}
    return hospital, office, facility, keys


def stays(hospital: str, office: str, tag: str, count: int) -> list[Step]:
    """``count`` events: whole stays, in the order a region posts them."""
    now = datetime.now(UTC)
    steps = [s for n in range(count // 4 + 1) for s in stay(hospital, office, f"{tag}{n}", n, now)]
    return steps[:count]


async def run(api: Server, mllp: Server, database: str, count: int, log: Path) -> dict[str, Any]:
    window = Window(log)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=60) as client:
        hospital, office, facility, keys = await region(client)
        tag = uuid.uuid4().hex[:6]

        async def post(steps: list[Step]) -> None:
            for step in steps:
                r = await client.post("/v1/events", json=step.body, headers=keys[step.poster])
                assert r.status_code == 201, r.text

        await post(stays(hospital, office, f"w{tag}-", 40))  # warm both paths
        await send_all(mllp.port, messages(facility, f"m{tag}", 50))
        steps = stays(hospital, office, f"p{tag}-", count)

        async def post_all() -> None:
            await post(steps)

        posted = await measure(api, window, database, count, post_all)
        batch = messages(facility, f"h{tag}", count)

        async def send() -> None:
            accepted = await send_all(mllp.port, batch)
            assert accepted == count, f"{accepted} of {count} accepted"

        message = await measure(mllp, window, database, count, send)
    return {"post_v1_events": posted, "mllp_message": message}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--pg-log", default=DEFAULT_LOG)
    args = parser.parse_args()
    with fresh_database("handover_bench_cost") as database:
        name = database.rpartition("/")[2]
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
        with api_server(database, database) as api, mllp_server(database) as mllp:
            result = asyncio.run(run(api, mllp, database, args.requests, Path(args.pg_log)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "post-cost.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
