"""The hot operations run on the event loop: no dependency or endpoint of theirs is a plain
`def`, which FastAPI would run in a worker thread (a hop of ~0.7 ms a request, measured in the
POST profile of docs/performance.md, for code that does no blocking work)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest

from tests.factories import Api, admission

pytestmark = pytest.mark.postgres


async def test_a_post_a_batch_and_a_metrics_read_never_hop_to_a_thread(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    hospital, office, h_key, _ = await api.parties()
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    body = admission(hospital, "T-1", "2024-06-03T10:00:00+09:00", office)
    assert (await api.post(body, h_key)).status_code == 201
    batch = {"events": [admission(hospital, "T-2", "2024-06-04T10:00:00+09:00", office)]}
    assert (await api.client.post("/v1/events:batch", json=batch, headers=h_key)).status_code == 200
    assert (await api.client.get("/v1/metrics?month=2024-06", headers=h_key)).status_code == 200
    assert hops == []
