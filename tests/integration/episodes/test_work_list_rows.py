"""GET /v1/handovers/pending over HTTP for every row of tests/work_rows.py: what each party sees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episode
from shared.rules.calendar import local_date
from tests.factories import Api
from tests.work_rows import ORGS, ROWS, bodies, expected

pytestmark = pytest.mark.postgres
ROLES = {"H": "hospital", "C1": "care_office", "C2": "care_office", "SC": "support_center"}


@pytest.mark.parametrize("name", ROWS)
async def test_each_party_lists_the_items_of_the_contracts_table(
    api: Api, sessions: async_sessionmaker[AsyncSession], name: str
) -> None:
    row, today = ROWS[name], local_date(datetime.now(UTC))
    ids = {o: await api.org(ROLES[o]) for o in ORGS}
    keys = {o: await api.key(ids[o], ROLES[o]) for o in ORGS}
    episode_id = ""
    for step, body in zip(row.steps, bodies(row.steps, ids, "W-1", today), strict=True):
        r = await api.post(body, keys[step.by])
        assert r.status_code == 201, (step, r.text)
        episode_id = r.json()["episode_id"]
    async with sessions() as session, session.begin():  # the worker: flags raised or cleared
        await recompute_episode(session, uuid.UUID(episode_id), datetime.now(UTC))
    if row.acknowledged:
        [flag] = (await api.client.get("/v1/flags", headers=keys["H"])).json()["items"]
        ack = await api.client.post(
            f"/v1/flags/{flag['id']}/acknowledge", json={"note": "確認済み"}, headers=keys["H"]
        )
        assert ack.status_code == 200, ack.text
    for org in ORGS:
        r = await api.client.get("/v1/handovers/pending", headers=keys[org])
        assert r.status_code == 200, r.text
        seen = [
            (i["kind"], date.fromisoformat(i["due_date"]) if i["due_date"] else None,
             i["overdue"], i.get("coordination_received"))
            for i in r.json()["items"]
        ]  # fmt: skip
        assert seen == expected(row, org, today), (org, r.text)
        assert all(i["episode_id"] == episode_id for i in r.json()["items"])
