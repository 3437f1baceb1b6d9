"""What a client reads: every timestamp in every JSON response carries +09:00 (api.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import Api, admin_headers, admission, event
from tests.integration.access.test_authorization_matrix import _raise_flags

pytestmark = pytest.mark.postgres
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def timestamps(body: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, value) of every timestamp string, except inside an event's body as posted."""
    if isinstance(body, dict):
        for name, value in body.items():
            if name != "body":  # the event exactly as the client sent it
                yield from timestamps(value, f"{path}.{name}")
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield from timestamps(value, f"{path}[{i}]")
    elif isinstance(body, str) and TIMESTAMP.match(body):
        yield path, body


async def test_every_list_and_object_sends_timestamps_with_plus_nine_hours(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    posted = await api.post(admission(hospital, "Z-1", "2024-06-03T01:00:00Z", office), h_key)
    episode_id = posted.json()["episode_id"]
    discharge = event("discharge", hospital, "Z-1", "2024-06-10T01:00:00Z", destination="home")
    assert (await api.post(discharge, h_key)).status_code == 201
    flag_id = await _raise_flags(api, episode_id)
    note = {"note": "Called the ward."}
    ack = await api.client.post(f"/v1/flags/{flag_id}/acknowledge", json=note, headers=h_key)
    assert ack.status_code == 200, ack.text
    admin = admin_headers()
    bodies = {
        "POST /v1/events": posted.json(),
        "POST ack": ack.json(),
        "GET /v1/episodes/{id}": (
            await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)
        ).json(),
        "GET /v1/flags": (
            await api.client.get("/v1/flags", params={"status": "all"}, headers=h_key)
        ).json(),
        "GET /v1/api-keys": (
            await api.client.get("/v1/api-keys", params={"organization_id": office}, headers=admin)
        ).json(),
        "GET /v1/audit": (
            await api.client.get("/v1/audit", params={"organization_id": hospital}, headers=admin)
        ).json(),
        "GET /v1/admin/set-aside-episodes": (
            await api.client.get("/v1/admin/set-aside-episodes", headers=admin)
        ).json(),
    }
    seen = [(name, *ts) for name, body in bodies.items() for ts in timestamps(body)]
    assert {name for name, *_ in seen} >= set(bodies) - {"GET /v1/admin/set-aside-episodes"}
    assert [s for s in seen if not s[2].endswith("+09:00")] == []
    episode = bodies["GET /v1/episodes/{id}"]
    assert episode["admitted_at"] == "2024-06-03T10:00:00+09:00"
    assert episode["events"][0]["body"]["occurred_at"] == "2024-06-03T01:00:00Z"  # as posted
