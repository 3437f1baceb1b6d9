"""`GET /v1/api-keys`: an admin sees every key's role and use, page by page, never the key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Api, admin_headers

pytestmark = pytest.mark.postgres


async def _pages(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/api-keys", params=query, headers=admin_headers())
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_an_organizations_keys_are_listed_in_pages_with_last_use_and_no_secret(
    api: Api, client: httpx.AsyncClient
) -> None:
    hospital = await api.org("hospital")
    used = await api.key(hospital, "hospital")
    await api.key(hospital, "viewer")
    revoked = await client.post(
        "/v1/api-keys", json={"organization_id": hospital, "role": "viewer"},
        headers=admin_headers(),
    )  # fmt: skip
    revoked_id = revoked.json()["id"]
    await client.delete(f"/v1/api-keys/{revoked_id}", headers=admin_headers())
    assert (await client.get("/v1/handovers/pending", headers=used)).status_code == 200

    items = await _pages(client, organization_id=hospital, limit=1)

    assert len(items) == 3
    assert {tuple(sorted(i)) for i in items} == {
        ("created_at", "id", "last_used_at", "organization_id", "revoked_at", "role")
    }
    assert [i["role"] for i in items] == ["hospital", "viewer", "viewer"]
    assert items[0]["last_used_at"] is not None
    assert items[1]["last_used_at"] is None
    assert [i["revoked_at"] is not None for i in items] == [False, False, True]
    assert items[2]["id"] == revoked_id
    text = str(items)
    assert used["Authorization"].split()[1] not in text
    assert "hash" not in text


async def test_last_use_is_written_at_most_once_a_minute(
    api: Api, client: httpx.AsyncClient
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await client.get("/v1/handovers/pending", headers=key)
    first = (await _pages(client, organization_id=hospital))[0]["last_used_at"]
    for _ in range(3):
        await client.get("/v1/handovers/pending", headers=key)
    assert (await _pages(client, organization_id=hospital))[0]["last_used_at"] == first


async def test_only_an_admin_lists_keys_and_a_bad_cursor_is_400(
    api: Api, client: httpx.AsyncClient
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    assert (await client.get("/v1/api-keys", headers=key)).status_code == 403
    r = await client.get("/v1/api-keys", params={"cursor": "nope"}, headers=admin_headers())
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
