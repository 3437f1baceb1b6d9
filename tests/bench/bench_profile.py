"""Profile the hot paths in process: ``python -m tests.bench.bench_profile [ingest|batch|fold]``.

Runs the real app over an ASGI transport (no network) on a scratch database under pyinstrument
and prints the call tree (and writes bench-results/profile-<what>.html).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pyinstrument import Profiler
from sqlalchemy import text

from services.api.app import create_app
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings
from shared.episodes.recompute import recompute_episodes
from tests.bench.bench_data import create_organizations, hospital_batch, hospital_id, office_id
from tests.bench.bench_harness import ADMIN_TOKEN
from tests.bench.bench_ingest import HOSPITALS, OFFICES, Stays
from tests.services import fresh_database


async def _profile(url: str, what: str, count: int) -> Profiler:
    settings = Settings(
        database_url=url,
        broker_url="redis://127.0.0.1:1/0",  # unreachable: enqueue fails fast, as a sweep would
        admin_token=ADMIN_TOKEN,
        enqueue_enabled=False,
        rate_limit_per_minute=0,
    )
    app = create_app(settings)
    now = datetime.now(UTC)
    profiler = Profiler(async_mode="enabled")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

            async def key(org: str, role: str) -> dict[str, str]:
                r = await client.post(
                    "/v1/api-keys", json={"organization_id": org, "role": role}, headers=admin
                )
                return {"Authorization": f"Bearer {r.json()['key']}"}

            hospital_keys = {h: await key(h, "hospital") for h in map(hospital_id, range(3))}
            office_keys = {o: await key(o, "care_office") for o in map(office_id, range(3))}
            if what == "ingest":
                stays = Stays("prof", 0, now)
                bodies: list[tuple[dict[str, Any], dict[str, str]]] = []
                while len(bodies) < count:
                    hospital, office, steps = stays.next()
                    if hospital in hospital_keys and office in office_keys:
                        for s in steps:
                            headers = hospital_keys[hospital] if s.poster == "hospital" else (
                                office_keys[office]
                            )  # fmt: skip
                            bodies.append((s.body, headers))
                t0 = time.perf_counter()
                profiler.start()
                for body, headers in bodies:
                    r = await client.post("/v1/events", json=body, headers=headers)
                    assert r.status_code == 201, r.text
                profiler.stop()
                print(f"{len(bodies)} events in {time.perf_counter() - t0:.2f} s")
            else:
                events = hospital_batch(hospital_id(0), "prof", 1000, now)
                payload = json.dumps({"events": events})
                headers = {**hospital_keys[hospital_id(0)], "Content-Type": "application/json"}
                if what == "batch":
                    profiler.start()
                t0 = time.perf_counter()
                r = await client.post("/v1/events:batch", content=payload, headers=headers)
                assert r.status_code == 200, r.text
                print(f"batch of 1000 in {time.perf_counter() - t0:.2f} s")
                if what == "batch":
                    profiler.stop()
                else:
                    engine = create_engine(url, pool_size=1)
                    sessions = create_sessionmaker(engine)
                    async with sessions() as session:
                        ids = list(await session.scalars(text("SELECT id FROM episodes")))
                    t0 = time.perf_counter()
                    profiler.start()
                    for i in range(0, len(ids), 100):
                        async with sessions() as session, session.begin():
                            await recompute_episodes(session, ids[i : i + 100], now)
                    profiler.stop()
                    print(f"{len(ids)} episodes folded in {time.perf_counter() - t0:.2f} s")
                    await engine.dispose()
    return profiler


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "ingest"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with fresh_database("handover_bench_profile") as url:
        create_organizations(url, HOSPITALS, OFFICES)
        profiler = asyncio.run(_profile(url, what, count))
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    out = Path("bench-results") / f"profile-{what}.html"
    out.parent.mkdir(exist_ok=True)
    out.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
