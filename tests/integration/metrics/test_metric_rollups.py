"""The monthly rollups hold daily_aggregates projected to their keys, and read the same sums.

Stays come from the rebuild test's generator and are folded by the worker's own recompute
(several workers at once); the rollups are then compared with a GROUP BY of daily_aggregates
written here, and every metrics query read through them with the daily_aggregates-only path.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.rebuild import rebuild_aggregates
from shared.metrics.query import Scope, daily_sums, grouped_sums
from shared.metrics.rollup_reads import rollup_months
from shared.metrics.window import Granularity, Window, fiscal_year_window, month_window
from shared.models import Organization
from shared.rules.metrics import COUNT_FIELDS
from tests.factories import admission, event, unique
from tests.integration.episodes.test_rebuild import _recompute_all, _stay, _store

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2025, 4, 1, tzinfo=UTC)
AREAS = ("鹿児島", "南薩")

_MONTH = "date_trunc('month', day::timestamp)::date"
COUNTS_KEY = "month, side, hospital_id, medical_area, region"
LEADS_KEY = "month, hospital_id, medical_area, region, lead_days"
# daily_aggregates projected to each rollup's key: what the rollups must hold.
PROJECTED_COUNTS = (
    f"SELECT {_MONTH}, side, hospital_id, medical_area, region,"
    f" {', '.join(f'sum({c})' for c in (*COUNT_FIELDS, 'episodes'))}"
    " FROM daily_aggregates WHERE region = %s GROUP BY 1, 2, 3, 4, 5"
)
PROJECTED_LEADS = (
    f"SELECT {_MONTH}, hospital_id, medical_area, region, lead_days, sum(coordinated_discharges)"
    " FROM daily_aggregates WHERE region = %s AND side = 'discharge' AND lead_days >= 0"
    " GROUP BY 1, 2, 3, 4, 5 HAVING sum(coordinated_discharges) > 0"
)


def sync_rollups(database_url: str, regions: set[str]) -> None:
    """For tests that write daily_aggregates by hand: rewrite those regions' rollups to match."""
    with psycopg.connect(database_url) as conn:
        for region in sorted(regions):
            conn.execute("DELETE FROM monthly_counts WHERE region = %s", (region,))
            conn.execute("DELETE FROM monthly_leads WHERE region = %s", (region,))
            conn.execute(
                f"INSERT INTO monthly_counts ({COUNTS_KEY}, {', '.join(COUNT_FIELDS)}, episodes)"
                f" {PROJECTED_COUNTS}",
                (region,),
            )
            conn.execute(
                f"INSERT INTO monthly_leads ({LEADS_KEY}, coordinated) {PROJECTED_LEADS}", (region,)
            )


Rows = list[tuple[Any, ...]]


def stored_and_projected(database_url: str, region: str) -> tuple[Rows, Rows, Rows, Rows]:
    """(monthly_counts, its projection, monthly_leads, its projection) of one region, sorted."""
    with psycopg.connect(database_url) as conn:

        def rows(sql: str) -> Rows:
            return sorted(tuple(r) for r in conn.execute(sql, (region,)))

        return (
            rows("SELECT * FROM monthly_counts WHERE region = %s"),
            rows(PROJECTED_COUNTS),
            rows("SELECT * FROM monthly_leads WHERE region = %s"),
            rows(PROJECTED_LEADS),
        )


def assert_rollups_match(database_url: str, region: str) -> Rows:
    counts, want_counts, leads, want_leads = stored_and_projected(database_url, region)
    assert counts == want_counts
    assert leads == want_leads
    assert all(r[-1] > 0 for r in counts), "a monthly_counts row no episode counts in"
    assert all(r[-1] > 0 for r in leads), "a monthly_leads row with no coordinated discharge"
    return counts + leads


@dataclass
class World:
    """A region of three hospitals in two medical areas, its care offices and generated stays."""

    region: str
    hospitals: list[str]
    offices: list[str]
    stays: list[tuple[str, list[dict[str, Any]]]]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    async def post(self, sessions: Sessions, wave: slice) -> None:
        """Store the wave's events of every stay, then recompute them as the workers would."""
        touched: set[uuid.UUID] = set()
        for hospital in self.hospitals:
            batch = [e for h, evs in self.stays if h == hospital for e in evs[wave]]
            if batch:
                touched |= await _store(sessions, hospital, self.ids, batch)
        await _recompute_all(sessions, touched, NOW)


async def _world(sessions: Sessions, seed: int, episodes: int) -> World:
    rng = random.Random(seed)
    region = unique("ru-")
    hospitals = [unique("H") for _ in range(3)]
    offices = [unique("C") for _ in range(8)]
    async with sessions() as session, session.begin():
        await session.execute(insert(Organization), [
            {"id": o, "kind": "hospital" if o in hospitals else "care_office", "name": o,
             "region": region, "medical_area": AREAS[i % 2]}
            for i, o in enumerate(hospitals + offices)
        ])  # fmt: skip
    stays = [
        (h, _stay(rng, h, offices, n)) for n in range(episodes) for h in [rng.choice(hospitals)]
    ]
    return World(region, hospitals, offices, stays)


async def test_rollups_follow_every_recompute_and_the_rebuild(
    sessions: Sessions, database_url: str
) -> None:
    world = await _world(sessions, 20240701, 400)
    await world.post(sessions, slice(0, 2))  # admissions and admission info first
    first = assert_rollups_match(database_url, world.region)
    await world.post(sessions, slice(2, None))  # discharges, coordinations, cancels later
    incremental = assert_rollups_match(database_url, world.region)
    assert incremental != first
    assert any(r[1] == "discharge" for r in incremental)
    assert len([r for r in incremental if len(r) == 6]) > 5, "too few lead-day rows"

    # One stay alone at its hospital: its rows must go when its contributions do.
    solo, office = world.hospitals[0] + "s", world.offices[0]
    async with sessions() as session, session.begin():
        await session.execute(insert(Organization).values(
            id=solo, kind="hospital", name=solo, region=world.region, medical_area=AREAS[1]
        ))  # fmt: skip
    stay = World(world.region, [solo], world.offices, [])
    adm = admission(solo, "S-1", "2024-05-10T10:00:00+09:00", office)
    coordination = event("discharge_coordination", solo, "S-1", "2024-05-20T10:00:00+09:00",
                         to_org_id=office, channel="phone")  # fmt: skip
    discharge = event("discharge", solo, "S-1", "2024-05-25T10:00:00+09:00", destination="home")

    async def post(*events: dict[str, Any]) -> tuple[Rows, Rows]:
        stay.stays = [(solo, list(events))]
        await stay.post(sessions, slice(None))
        rows = assert_rollups_match(database_url, world.region)
        mine = [r for r in rows if solo in r]
        return [r for r in mine if len(r) == 13], [r for r in mine if len(r) == 6]

    may = date(2024, 5, 1)
    counts, leads = await post(adm, coordination, discharge)
    assert [(r[0], r[1]) for r in counts] == [(may, "admission"), (may, "discharge")]
    assert [(r[0], r[4], r[5]) for r in leads] == [(may, 5, 1)]
    cancel = event("cancel", solo, "S-1", "2024-05-26T10:00:00+09:00",
                   cancels_event_id=coordination["event_id"])  # fmt: skip
    counts, leads = await post(cancel)
    assert leads == []  # the only coordinated discharge is now missed
    assert [(r[1], r[9], r[10]) for r in counts if r[1] == "discharge"] == [("discharge", 0, 1)]
    cancel = event("cancel", solo, "S-1", "2024-05-27T10:00:00+09:00",
                   cancels_event_id=adm["event_id"])  # fmt: skip
    assert await post(cancel) == ([], [])  # no admission: the stay counts nowhere

    async with sessions() as session, session.begin():
        await rebuild_aggregates(session, NOW)
    assert assert_rollups_match(database_url, world.region) == incremental


WINDOWS = (
    fiscal_year_window(2024),
    month_window(2024, 6),
    Window(date(2024, 6, 10), date(2024, 9, 20)),  # partial months at both edges
    Window(date(2024, 7, 1), date(2024, 8, 15)),  # a full month, then a partial one
    Window(date(2024, 6, 16), date(2024, 7, 15)),  # 30 days, no full month
)
GROUP_BYS = ((), ("hospital",), ("medical_area",), ("care_office",), ("hospital", "medical_area"))
GRANULARITIES: tuple[Granularity | None, ...] = (None, "month")


@pytest.fixture(scope="module")
async def world(sessions: Sessions) -> World:
    built = await _world(sessions, 20240601, 400)
    await built.post(sessions, slice(None))
    return built


async def test_rollup_reads_equal_daily_reads(
    world: World, sessions: Sessions, database_url: str
) -> None:
    scopes = (
        Scope("all"),
        Scope("region", world.region),
        Scope("hospital", world.hospitals[1]),
        Scope("care_office", world.offices[0]),
    )
    filter_sets: tuple[dict[str, str | None], ...] = (
        {"region": world.region},
        {"medical_area": AREAS[0], "care_office_id": None},
        {"care_office_id": world.offices[1]},
    )
    read_rollups = 0
    async with sessions() as session:
        for window, group_by, scope, filters, granularity, median in itertools.product(
            WINDOWS, GROUP_BYS, scopes, filter_sets, GRANULARITIES, (True, False)
        ):
            kw: dict[str, Any] = {"filters": filters, "group_by": group_by,
                                  "granularity": granularity, "with_median": median}  # fmt: skip
            daily = await daily_sums(session, window, scope, **kw)
            assert await grouped_sums(session, window, scope, **kw) == daily, (window, kw, scope)
            read_rollups += rollup_months(window, scope, filters, group_by, granularity) is not None
        assert read_rollups >= 200
        fy = fiscal_year_window(2024)
        scope = Scope("region", world.region)
        by_hospital = await daily_sums(session, fy, scope, group_by=("hospital",))
        assert len(by_hospital) == 3
        assert sum(s.counts["coordinated_discharges"] for s in by_hospital.values()) > 0
    # The rollups really are read: one changed row changes the answer (then is put back).
    change = (
        "UPDATE monthly_counts SET missed_discharges = missed_discharges + %s WHERE region = %s"
    )
    with psycopg.connect(database_url) as conn:
        conn.execute(change, (1, world.region))
    try:
        async with sessions() as session:
            assert await grouped_sums(session, fy, scope, group_by=("hospital",)) != by_hospital
    finally:
        with psycopg.connect(database_url) as conn:
            conn.execute(change, (-1, world.region))
