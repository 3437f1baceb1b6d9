"""Poisoned episodes for the worker tests: a stored event the fold cannot read, and its repair.

The API refuses such a body, so the tests write it straight into the events table, as legacy
data or a future rule bug would leave it.
"""

from __future__ import annotations

import uuid

import psycopg

from tests.factories import Api, admission, patient
from tests.privacy import INSURED_NUMBERS

# Eleven digits: not a valid 被保険者番号, and a ValidationError would quote it. Scanned for.
BAD_INSURED = "12345678901"
INSURED_NUMBERS.add(BAD_INSURED)


async def post_stays(
    api: Api, hospital: str, office: str, key: dict[str, str], n: int
) -> list[str]:
    """``n`` admissions (one stay each) in batches; their episode ids, in order."""
    ids: list[str] = []
    for start in range(0, n, 1000):
        events = [
            admission(hospital, f"P-{i}", "2024-06-03T10:00:00+09:00", office)
            for i in range(start, min(n, start + 1000))
        ]
        r = await api.client.post("/v1/events:batch", json={"events": events}, headers=key)
        assert r.status_code == 200, r.text
        ids += [item["episode_id"] for item in r.json()["results"]]
    return ids


def _set_insured(database_url: str, episode_id: str, insured: str) -> None:
    with psycopg.connect(database_url) as conn:
        updated = conn.execute(
            "UPDATE events SET body = jsonb_set(body, '{patient,insured_number}',"
            " to_jsonb(%s::text)) WHERE episode_id = %s AND type = 'admission'",
            (insured, uuid.UUID(episode_id)),
        ).rowcount
    assert updated == 1


def poison(database_url: str, episode_id: str) -> None:
    """Make the episode's admission unreadable by the fold (it raises ValidationError)."""
    _set_insured(database_url, episode_id, BAD_INSURED)


def repair(database_url: str, episode_id: str) -> None:
    """The operator's fix: the admission gets a valid insured number again."""
    _set_insured(database_url, episode_id, patient()["insured_number"])
