"""/healthz, /readyz and the Prometheus /metrics, as an operator's monitoring sees them."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from shared.episodes.recompute import recompute_episode
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


async def test_prometheus_reports_requests_events_lag_and_open_flags(api: Api) -> None:
    hospital, office, h_key, _ = await api.parties()
    posted = await api.post(admission(hospital, "A-1", "2024-06-03T10:00:00+09:00", office), h_key)
    await api.post(
        event("discharge", hospital, "A-1", "2024-06-10T10:00:00+09:00", destination="home"), h_key
    )
    sessions = api.client.app.state.sessionmaker  # type: ignore[attr-defined]
    async with sessions() as session, session.begin():
        episode_id = uuid.UUID(posted.json()["episode_id"])
        await recompute_episode(
            session, episode_id, datetime.fromisoformat("2024-06-11T00:00+09:00")
        )
    text = (await api.client.get("/metrics")).text
    assert 'handover_events_ingested_total{type="admission"}' in text
    assert 'handover_http_requests_total{method="POST",route="/v1/events",status="201"}' in text
    assert "handover_http_request_duration_seconds_bucket" in text
    assert "handover_recompute_lag_seconds" in text
    open_missed = [
        line for line in text.splitlines()
        if line.startswith('handover_open_flags{kind="missed_discharge_coordination"}')
    ]  # fmt: skip
    assert open_missed
    assert float(open_missed[0].split()[-1]) >= 1
    assert "0000123456" not in text
