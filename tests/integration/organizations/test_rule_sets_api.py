"""PUT/GET /v1/rule-sets: an episode is judged by the version in force on its admission date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episodes
from tests.factories import ADMIN_TOKEN, Api, admission

pytestmark = pytest.mark.postgres
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_episode_uses_the_version_effective_on_its_admission_date(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    before = (
        await api.post(admission(hospital, "MAY", "2024-05-31T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    after = (
        await api.post(admission(hospital, "JUN", "2024-06-03T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    version = {
        "effective_from": "2024-06-01",
        "admission_info_deadline_days": 2,
        "deadline_calendar": "business",
    }
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json=version, headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["admission_info_deadline_days"] == 2
    listed = (await api.client.get(f"/v1/rule-sets/{api.region}", headers=h_key)).json()
    assert [v["effective_from"] for v in listed] == ["2024-06-01"]
    async with sessions() as session:
        dirty = await session.scalar(
            text("SELECT count(*) FROM episodes WHERE id = :id AND dirty_since IS NOT NULL"),
            {"id": uuid.UUID(after)},
        )
    assert dirty == 1, "a new rule version marks the episodes it judges for recompute"
    async with sessions() as session, session.begin():
        await recompute_episodes(session, [uuid.UUID(before), uuid.UUID(after)], datetime.now(UTC))
    may = (await api.client.get(f"/v1/episodes/{before}", headers=h_key)).json()
    june = (await api.client.get(f"/v1/episodes/{after}", headers=h_key)).json()
    assert may["admission_info_deadline"] == "2024-06-07"  # defaults: 7 calendar days
    assert june["admission_info_deadline"] == "2024-06-05"  # 2 business days after Mon 6/3


async def test_invalid_rule_set_is_rejected_with_the_field(api: Api) -> None:
    bad = {"effective_from": "2024-06-01", "office_opens": "18:00", "office_closes": "09:00"}
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json=bad, headers=ADMIN)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    unknown = {"effective_from": "2024-06-01", "deadline_days": 3}
    r = await api.client.put(f"/v1/rule-sets/{api.region}", json=unknown, headers=ADMIN)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "deadline_days"]
    assert (await api.client.get(f"/v1/rule-sets/{api.region}", headers=ADMIN)).json() == []


async def test_event_posted_right_after_a_new_version_is_judged_by_it(api: Api) -> None:
    """The API caches rule sets per process; storing a version drops the region's at once."""
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    first = admission(hospital, "W-1", "2024-06-03T10:00:00+09:00", office)
    assert (await api.post(first, h_key)).status_code == 201  # the defaults are cached now
    version = {"effective_from": "2024-06-01", "admission_info_deadline_days": 2,
               "deadline_calendar": "business"}  # fmt: skip
    assert (
        await api.client.put(f"/v1/rule-sets/{api.region}", json=version, headers=ADMIN)
    ).status_code == 200
    second = admission(hospital, "W-2", "2024-06-03T10:00:00+09:00", office)
    episode_id = (await api.post(second, h_key)).json()["episode_id"]
    episode = (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).json()
    assert episode["admission_info_deadline"] == "2024-06-05"  # before any recompute
