"""Abuse limits at the edge: body size, JSON depth, per-key rate, and the audit trail."""

from __future__ import annotations

import re

import httpx
import pytest

from services.api.app import create_app
from shared.core.settings import Settings
from tests.factories import ADMIN_TOKEN, Api, admission

pytestmark = pytest.mark.postgres
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_oversized_body_gets_413_and_deep_json_400(api: Api) -> None:
    huge = b'{"events": [' + b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}]}'
    r = await api.client.post("/v1/events:batch", content=huge, headers=ADMIN)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    deep = b"[" * 10_000 + b"]" * 10_000
    r = await api.client.post("/v1/events", content=deep, headers=ADMIN)
    assert r.status_code == 400
    r = await api.client.post("/v1/events", content=b"\xff\xfe{", headers=ADMIN)
    assert r.status_code == 415  # neither declared JSON nor UTF-8


async def test_a_key_over_its_rate_gets_429_with_retry_after(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 5}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            codes = [
                (await client.get("/v1/organizations", headers=ADMIN)).status_code for _ in range(7)
            ]
            r = await client.get("/v1/organizations", headers=ADMIN)
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429, 429]
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


async def test_the_screens_count_against_the_same_per_key_limit_as_the_api(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 5}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as browser:
            form = await browser.get("/ui/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            login = {"api_key": ADMIN_TOKEN, "csrf_token": token.group(1)}
            assert (await browser.post("/ui/login", data=login)).status_code == 303
            api = [(await browser.get("/v1/organizations", headers=ADMIN)).status_code
                   for _ in range(3)]  # fmt: skip
            screens = [(await browser.get("/ui/")) for _ in range(3)]
    assert api == [200] * 3
    assert [r.status_code for r in screens] == [200, 200, 429]  # 5 a minute, both together
    assert int(screens[-1].headers["retry-after"]) >= 1
    assert "操作が多すぎます" in screens[-1].text


async def test_reads_and_writes_of_an_episode_are_audited(api: Api) -> None:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h_key = await api.key(hospital, "hospital")
    episode_id = (
        await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    ).json()["episode_id"]
    await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)
    trail = await api.client.get("/v1/audit", params={"episode_id": episode_id}, headers=ADMIN)
    assert trail.status_code == 200
    entries = trail.json()["items"]
    assert [e["action"] for e in entries] == ["read_episode", "post_event"]
    assert {e["organization_id"] for e in entries} == {hospital}
    assert all(e["client_address"] for e in entries)
    assert "0000123456" not in trail.text
    assert (await api.client.get("/v1/audit", headers=h_key)).status_code == 403
