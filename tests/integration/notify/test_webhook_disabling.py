"""Disabling a webhook: by its organization, and after five days of only failures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Webhook, WebhookAttempt, WebhookDelivery
from shared.notify import metrics
from shared.notify.client import Answer
from shared.notify.delivery import Claimed, record
from tests.factories import Api
from tests.services import free_port
from tests.webhook_receiver import subscribe

pytestmark = pytest.mark.postgres


async def test_disabling_fails_the_pending_deliveries_saying_why(api: Api) -> None:
    _, _, _, o_key = await api.parties()
    hook = await subscribe(api, o_key, f"http://127.0.0.1:{free_port()}/x", ["flag.raised"])
    ping = await api.client.post(f"/v1/webhooks/{hook['id']}/ping", headers=o_key)
    assert ping.json()["state"] == "pending"
    for loose in (0, "false"):
        r = await api.client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": loose},
                                   headers=o_key)  # fmt: skip
        assert r.status_code == 422, loose
    r = await api.client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False},
                               headers=o_key)  # fmt: skip
    assert r.status_code == 200
    assert r.json()["enabled"] is False
    log = await api.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=o_key)
    [item] = log.json()["items"]
    assert item["state"] == "failed"
    assert item["last_error"] == "webhook disabled: disabled by its organization"
    for path in ("ping", f"deliveries/{item['id']}/retry"):
        r = await api.client.post(f"/v1/webhooks/{hook['id']}/{path}", headers=o_key)
        assert r.status_code == 202, path
        assert r.json()["state"] == "failed"
        assert r.json()["last_error"] == "webhook disabled: disabled by its organization"
    r = await api.client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True},
                               headers=o_key)  # fmt: skip
    assert (r.json()["enabled"], r.json()["disabled_reason"]) == (True, None)


async def test_five_days_of_only_failures_disable_the_webhook(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    _, _, _, o_key = await api.parties()
    hook = await subscribe(api, o_key, f"http://127.0.0.1:{free_port()}/x", ["flag.raised"])
    first = (await api.client.post(f"/v1/webhooks/{hook['id']}/ping", headers=o_key)).json()
    waiting = (await api.client.post(f"/v1/webhooks/{hook['id']}/ping", headers=o_key)).json()
    now = datetime.now(UTC)
    webhook_id = uuid.UUID(hook["id"])
    async with db() as session, session.begin():
        await session.execute(
            update(Webhook).where(Webhook.id == webhook_id)
            .values(failing_since=now - timedelta(days=5, seconds=1))
        )  # fmt: skip
        claimed = Claimed(uuid.UUID(first["id"]), webhook_id, {}, 3, now, "", ())
        retry_in = await record(session, claimed, Answer(503, None, None, 0.01), now, (1, 1, 1))
    assert retry_in == 1
    retried = metrics.REGISTRY.get_sample_value("handover_webhook_deliveries_total",
                                                {"outcome": "retry"})  # fmt: skip
    assert retried is not None
    assert retried >= 1
    async with db() as session:
        found = await session.get(Webhook, webhook_id)
        assert found is not None
        assert not found.enabled
        assert found.disabled_reason == "every attempt failed for five days"
        other = await session.get(WebhookDelivery, uuid.UUID(waiting["id"]))
        assert other is not None
        assert (other.state, other.last_error) == (
            "failed", "webhook disabled: every attempt failed for five days"
        )  # fmt: skip
        attempts = await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == uuid.UUID(first["id"]))
        )
        assert [a.status_code for a in attempts] == [503]


async def test_the_api_metrics_report_the_webhook_queue(api: Api) -> None:
    _, _, _, o_key = await api.parties()
    hook = await subscribe(api, o_key, f"http://127.0.0.1:{free_port()}/x", ["flag.raised"])
    await api.client.post(f"/v1/webhooks/{hook['id']}/ping", headers=o_key)
    text = (await api.client.get("/metrics")).text
    assert 'handover_webhook_pending_deliveries{which="pending"}' in text
    assert "handover_webhook_oldest_due_seconds" in text
