"""The lookups and lists that must stay fast at a million stays use an index, not a scan.

Each test captures the SQL the real endpoint sends, then asks PostgreSQL for its plan with
sequential scans priced out (`enable_seqscan = off`): if no usable index existed, the plan
would still be a Seq Scan. Small test tables would otherwise always be scanned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.core import driver_sql
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres

Statement = tuple[str, tuple[Any, ...]]


@contextmanager
def captured(client: httpx.AsyncClient) -> Iterator[list[Statement]]:
    """Every statement the app sends while the block runs, with its parameters: through the
    engine, and around it (shared.core.driver_sql: the first row of an executemany)."""
    engine: AsyncEngine = client.app.state.engine  # type: ignore[attr-defined]
    seen: list[Statement] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, tuple(params or ())))

    def tap(send: Callable[..., Any], many: bool) -> Callable[..., Any]:
        async def tapped(session: Any, sql: str, *args: Any) -> Any:
            seen.append((sql, tuple(next(iter(args[0]))) if many else args))
            return await send(session, sql, *args)

        return tapped

    around = {"fetch": False, "execute": False, "execute_many": True}
    sends = {name: getattr(driver_sql, name) for name in around}
    sa_event.listen(engine.sync_engine, "before_cursor_execute", record)
    for name, many in around.items():
        setattr(driver_sql, name, tap(sends[name], many))
    try:
        yield seen
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", record)
        for name, send in sends.items():
            setattr(driver_sql, name, send)


def one(statements: list[Statement], test: Callable[[str], bool]) -> Statement:
    matching = [s for s in statements if test(" ".join(s[0].split()))]
    assert len(matching) == 1, [s[0] for s in statements]
    return matching[0]


def reads_from(table: str) -> Callable[[str], bool]:
    return lambda sql: f"FROM {table}" in sql


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


# Other regions' rollup rows, so that the region index is the selective one even when the test
# runs alone on tables with a handful of rows (the planner's pick between two indexes on a
# near-empty table is a coin toss). Inserted in the EXPLAIN's transaction, and rolled back.
OTHER_REGIONS = """
    INSERT INTO monthly_counts (month, side, hospital_id, medical_area, region, episodes,
        admissions_with_care_manager, admission_info_provided, admission_info_on_time,
        eligible_discharges, coordinated_discharges, missed_discharges, coordination_on_time)
    SELECT (date '2024-04-01' + make_interval(months => g % 12))::date, 'admission', 'PAD-' || g,
        '', 'pad-' || (g % 500), 1, 1, 1, 1, 0, 0, 0, 0
    FROM generate_series(1, 20000) AS g;
    INSERT INTO monthly_leads (month, hospital_id, medical_area, region, lead_days, coordinated)
    SELECT (date '2024-04-01' + make_interval(months => g % 12))::date, 'PAD-' || g, '',
        'pad-' || (g % 500), g % 30, 1
    FROM generate_series(1, 20000) AS g
"""


async def indexes_used(database_url: str, statement: Statement, setup: str = "") -> set[str]:
    """Index names in the plan PostgreSQL picks when it may not scan tables sequentially.

    ``setup`` runs first in the same transaction, which is rolled back: no other test sees it.
    """
    sql, params = statement
    conn = await asyncpg.connect(database_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        if setup:
            await conn.execute(setup)
        await conn.execute(
            "ANALYZE episodes; ANALYZE flags; ANALYZE daily_aggregates;"
            " ANALYZE monthly_counts; ANALYZE monthly_leads"
        )
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *params))
    finally:
        await transaction.rollback()
        await conn.close()
    nodes = list(_nodes(plan[0]["Plan"]))
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes), nodes
    return {n["Index Name"] for n in nodes if "Index Name" in n}


async def _stay(api: Api) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """A hospital, a care office and an open stay between them with a planned discharge."""
    hospital, office, h_key, c_key = await api.parties()
    body = admission(hospital, "A-PLAN", "2024-06-03T10:00:00+09:00", office)
    body["planned_discharge_date"] = "2024-06-20"
    assert (await api.post(body, h_key)).status_code == 201
    return hospital, office, h_key, c_key


async def test_episode_lookup_by_stay_number_uses_the_unique_index(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    hospital, _, h_key, _ = await _stay(api)
    with captured(client) as seen:
        r = await client.get(
            "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": "A-PLAN"},
            headers=h_key,
        )  # fmt: skip
    assert r.status_code == 200
    lookup = one(seen, lambda s: "FROM episodes WHERE episodes.hospital_id =" in s)
    assert "uq_episodes_hospital_id_encounter_ref" in await indexes_used(database_url, lookup)


async def test_a_post_reads_the_stays_events_and_its_own_ids_by_index(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    hospital, _, h_key, _ = await _stay(api)
    body = event("discharge_planned", hospital, "A-PLAN", "2024-06-10T10:00:00+09:00",
                 planned_discharge_date="2024-06-21")  # fmt: skip
    with captured(client) as seen:
        assert (await api.post(body, h_key)).status_code == 201
    read = one(seen, lambda s: "FROM events WHERE episode_id = ANY($1::uuid[])" in s)
    used = await indexes_used(database_url, read)
    assert {"ix_events_episode_id_seq", "uq_events_poster_org_id_event_id"} <= used, used


async def test_care_office_pending_list_uses_the_open_stays_index(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, _, c_key = await _stay(api)
    with captured(client) as seen:
        r = await client.get("/v1/handovers/pending", headers=c_key)
    assert r.status_code == 200
    assert r.json()["items"]
    pending = one(seen, lambda s: "FROM episodes" in s and "episodes.care_office_id =" in s)
    assert "ix_episodes_open_care_office_id" in await indexes_used(database_url, pending)


async def test_hospital_pending_list_uses_the_open_stays_index(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    _, _, h_key, _ = await _stay(api)
    with captured(client) as seen:
        r = await client.get("/v1/handovers/pending", headers=h_key)
    assert r.status_code == 200
    assert r.json()["items"]
    pending = one(
        seen, lambda s: "FROM episodes" in s and "discharged_at IS NULL" in s and "LIMIT" not in s
    )
    assert "ix_episodes_open_hospital_id" in await indexes_used(database_url, pending)


async def test_flags_of_a_party_use_the_party_index(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    hospital, _office, h_key, c_key = await _stay(api)
    discharge = event(
        "discharge", hospital, "A-PLAN", "2024-06-21T10:00:00+09:00", destination="home"
    )
    assert (await api.post(discharge, h_key)).status_code == 201
    with captured(client) as seen:
        r = await client.get("/v1/flags", params={"status": "all"}, headers=c_key)
    assert r.status_code == 200
    flags = one(seen, lambda s: "FROM flags JOIN episodes" in s)
    # Both tables are read through an index (no Seq Scan); which side drives depends on the
    # sizes: with many flags, the party's stays come from the GIN index on party_org_ids.
    used = await indexes_used(database_url, flags)
    assert used & {"ix_episodes_party_org_ids", "pk_episodes"}
    assert used & {"ix_flags_episode_id", "uq_flags_open_episode_kind"}


async def test_metrics_of_a_region_read_daily_aggregates_by_region_and_day(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    await _stay(api)
    viewer = await api.key(await api.org("municipality"), "viewer")
    with captured(client) as seen:  # no full month in the window: all from daily_aggregates
        r = await client.get(
            "/v1/metrics", params={"from": "2024-06-01", "to": "2024-06-29"}, headers=viewer
        )
    assert r.status_code == 200
    window = one(seen, lambda s: "FROM daily_aggregates" in s)
    assert "ix_daily_aggregates_region_day" in await indexes_used(database_url, window)


async def test_fiscal_year_by_hospital_of_a_region_reads_rollups_and_only_stays_still_owed(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    """The rollups by region and month; for admissions_within_deadline, not every episode of the
    region (at 100,000 stays that tripled the metrics' time) but the stays still owed."""
    await _stay(api)
    viewer = await api.key(await api.org("municipality"), "viewer")
    with captured(client) as seen:
        r = await client.get(
            "/v1/metrics", params={"fiscal_year": 2024, "group_by": "hospital"}, headers=viewer
        )
    assert r.status_code == 200
    assert not [s for s, _ in seen if "FROM daily_aggregates" in s]  # whole months only
    for table in ("monthly_counts", "monthly_leads"):
        read = one(seen, reads_from(table))
        used = await indexes_used(database_url, read, setup=OTHER_REGIONS)
        assert f"ix_{table}_region_month" in used
    owed = one(seen, lambda s: "episodes.admission_info_deadline >=" in s)
    used = await indexes_used(database_url, owed)
    assert "ix_episodes_admission_info_owed_deadline" in used, used
