"""Every interleaving of a stay's messages over HTTP folds as its JSON events do (exhaustive).

One hospital sends a stay's A01, then its A08, A16 and A03 in one of the 6 orders (plus a resend
of the first) to `POST /v1/hl7v2`; another hospital posts the same events as JSON in the natural
order to `POST /v1/events:batch`. The two episodes, as `GET /v1/episodes` shows them, are the
same. (An HL7 feed is ordered: a message before its stay's admission is an AE, api.md.)
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.factories import Api
from tests.integration.interop.test_hl7v2_http import HL7, episode, err, msa
from tests.unit.interop.test_fold_interleavings import VISIT, stay_messages

pytestmark = pytest.mark.postgres
ORDERS = [(0, *rest) for rest in itertools.permutations(range(1, 4))]


def comparable(found: dict[str, Any]) -> dict[str, Any]:
    """The episode without what names its hospital or its rows; events by time, not arrival."""
    drop = {"episode_id", "hospital_id", "flags"}
    kept = {k: v for k, v in found.items() if k not in drop}
    own = ("event_id", "recorded_at", "cancels_event_id", "posted_by")
    ids = ("event_id", "hospital_id")
    events = [
        {**{k: v for k, v in e.items() if k not in own},
         "body": {k: v for k, v in e.get("body", {}).items() if k not in ids}}
        for e in found["events"]
    ]  # fmt: skip
    kept["events"] = sorted(events, key=lambda e: (e["occurred_at"], e["type"]))
    return kept


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "".join(map(str, o)))
async def test_an_interleaving_of_messages_folds_as_the_json_events(
    api: Api, order: tuple[int, ...]
) -> None:
    by_hl7, by_json = await api.org("hospital"), await api.org("hospital")
    hl7_key, json_key = await api.key(by_hl7, "hospital"), await api.key(by_json, "hospital")
    shape = ([0, 30, 50, 24 * 9], 10, "01", "奥笠")
    for i in [*order, order[1]]:  # and the second one again: a resend
        message = stay_messages(*shape)[i][0]
        r = await api.client.post("/v1/hl7v2", content=message.encode(), headers={**HL7, **hl7_key})
        assert msa(r.content)[1] == "AA", err(r.content)
    json_events = [body for _, body in stay_messages(*shape, hospital=by_json)]
    r = await api.client.post("/v1/events:batch", json={"events": json_events}, headers=json_key)
    assert [x["status"] for x in r.json()["results"]] == ["created"] * 4, r.text
    left = comparable(await episode(api.client, by_hl7, VISIT, hl7_key))
    right = comparable(await episode(api.client, by_json, VISIT, json_key))
    assert left == right
