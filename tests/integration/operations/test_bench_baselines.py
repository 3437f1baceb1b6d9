"""The benchmarks' baselines still run against today's schema (a bench is never run by CI, and
#22's per-poster event key once broke the raw loop unnoticed). Outcomes only, never a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.bench.bench_data import create_organizations
from tests.bench.bench_ingest import HOSPITALS, OFFICES, _copy_same_rows, raw_poster
from tests.factories import unique
from tests.services import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def bench_database() -> Iterator[str]:
    """A database of its own: the bench's organizations must not join other tests' regions."""
    with fresh_database("handover_test_bench") as url:
        create_organizations(url, HOSPITALS, OFFICES)
        yield url


async def test_the_raw_loop_stores_a_whole_stay_and_copy_its_batch(bench_database: str) -> None:
    database_url = bench_database
    prefix, now = unique("rawsmoke"), datetime.now(UTC)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        post = raw_poster(pool, prefix, now)(0)
        for _ in range(4):  # admission, 入院時情報提供, 退院調整, discharge
            await post()
        async with pool.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT count(*) FROM events e JOIN episodes s ON s.id = e.episode_id"
                " WHERE s.encounter_ref LIKE $1", f"{prefix}%",
            )  # fmt: skip
        assert stored == 4
        assert await _copy_same_rows(database_url, 1, now, unique("copysmoke")) > 0
    finally:
        await pool.close()
