"""The episode row ingest writes equals a fresh fold of the events it stored.

Ingest writes the fold its checks made in memory (it does not reread the events), so this
compares that row with a fold of what is really in ``events``, for stays posted one by one,
in batches, out of order, with cancels and with rejected events in between.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.repository import events_by_episode, fold_rows, state_json
from shared.models import Episode
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres


def stay_events(hospital: str, office: str, ref: str) -> list[dict[str, Any]]:
    """A full stay, a correction and an impossible discharge, in arrival order."""
    plan = event("discharge_planned", hospital, ref, "2024-06-05T10:00:00+09:00",
                 planned_discharge_date="2024-06-20")  # fmt: skip
    return [
        admission(hospital, ref, "2024-06-03T10:00:00+09:00", office),
        event(
            "admission_info",
            hospital,
            ref,
            "2024-06-04T10:00:00+09:00",
            care_office_id=office,
            channel="fax",
        ),
        plan,
        event(
            "cancel", hospital, ref, "2024-06-06T10:00:00+09:00", cancels_event_id=plan["event_id"]
        ),
        event(
            "discharge_planned",
            hospital,
            ref,
            "2024-06-07T10:00:00+09:00",
            planned_discharge_date="2024-06-25",
        ),
        event(
            "discharge_coordination",
            hospital,
            ref,
            "2024-06-18T10:00:00+09:00",
            to_org_id=office,
            channel="fax",
        ),
        event("discharge", hospital, ref, "2024-05-01T10:00:00+09:00", destination="home"),
        event("discharge", hospital, ref, "2024-06-24T10:00:00+09:00", destination="home"),
    ]


async def assert_row_is_the_fold(
    sessions: async_sessionmaker[AsyncSession], episode_id: str
) -> dict[str, Any]:
    async with sessions() as session:
        episode = await session.get(Episode, uuid.UUID(episode_id))
        assert episode is not None
        rows = (await events_by_episode(session, [episode.id]))[episode.id]
    fresh = fold_rows(rows, [], datetime.now(UTC))
    assert episode.state == state_json(fresh)
    assert episode.discharged_at == fresh.discharged_at
    assert episode.first_coordination_at == fresh.first_coordination_at
    assert episode.planned_discharge_date == fresh.planned_discharge_date
    assert set(episode.party_org_ids) == fresh.party_org_ids
    return episode.state


@pytest.mark.parametrize("order", ["arrival", "shuffled", "reversed"])
async def test_single_posts_leave_the_fold_of_the_stored_events(
    api: Api, sessions: async_sessionmaker[AsyncSession], order: str
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    bodies = stay_events(hospital, office, f"S-{order}")
    if order == "shuffled":
        random.Random(7).shuffle(bodies)
    elif order == "reversed":
        bodies.reverse()
    episode_id = None
    statuses = []
    for body in bodies:
        r = await api.post(body, c_key if body["type"] == "admission_info" else h_key)
        statuses.append(r.status_code)
        if r.status_code == 201:
            episode_id = r.json()["episode_id"]
            await assert_row_is_the_fold(sessions, episode_id)
    assert 201 in statuses
    assert episode_id is not None


async def test_a_batch_with_rejections_leaves_the_fold_of_the_stored_events(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, h_key, _ = await api.parties()
    bodies = [b for b in stay_events(hospital, office, "B-1") if b["type"] != "admission_info"]
    other = stay_events(hospital, office, "B-2")[0]
    r = await api.client.post(
        "/v1/events:batch", json={"events": [*bodies, other, bodies[0]]}, headers=h_key
    )
    results = r.json()["results"]
    statuses = [x["status"] for x in results]
    # The early discharge is refused: it would come before the admission.
    assert statuses == ["created"] * 5 + ["invalid", "created", "created", "duplicate"]
    state = await assert_row_is_the_fold(sessions, results[0]["episode_id"])
    assert state["planned_discharge_date"] == "2024-06-25"  # the cancelled plan is gone
    assert state["coordinated"] is True
    await assert_row_is_the_fold(sessions, results[7]["episode_id"])
