"""Acknowledgement notes: text like any other (no control characters), and for parties only."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Flag
from tests.factories import Api, admin_headers, admission, event
from tests.integration.access.test_authorization_matrix import _raise_flags

pytestmark = pytest.mark.postgres
NOTE = "山田様: 退院後の連絡先は長女 090-0000-0000"


async def _flag(api: Api) -> tuple[str, dict[str, str], dict[str, str]]:
    """A missed-coordination flag of a fresh region, its hospital's key and a viewer's key."""
    hospital, office, key, _ = await api.parties()
    viewer = await api.key(await api.org("municipality"), "viewer")
    episode_id = (
        await api.post(admission(hospital, "N-1", "2024-06-03T10:00:00+09:00", office), key)
    ).json()["episode_id"]
    discharge = event("discharge", hospital, "N-1", "2024-06-10T10:00:00+09:00", destination="home")
    assert (await api.post(discharge, key)).status_code == 201
    return await _raise_flags(api, episode_id), key, viewer


async def _stored_note(api: Api, flag_id: str) -> str | None:
    sessions: async_sessionmaker[AsyncSession] = api.client.app.state.sessionmaker  # type: ignore[attr-defined]
    async with sessions() as session:
        flag = await session.scalar(select(Flag).where(Flag.id == uuid.UUID(flag_id)))
        assert flag is not None
        return flag.acknowledgement_note


@pytest.mark.parametrize(
    "note", ["x\u0000y", "x\u202ey", "bell\u0007", "zero\u200bwidth", "line\u2028sep", ""]
)
async def test_a_note_with_control_characters_is_422_and_not_stored(api: Api, note: str) -> None:
    flag_id, key, _ = await _flag(api)
    r = await api.client.post(f"/v1/flags/{flag_id}/acknowledge", json={"note": note}, headers=key)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert ["body", "note"] in [e["loc"] for e in r.json()["errors"]]
    assert await _stored_note(api, flag_id) is None


async def test_a_note_may_span_lines(api: Api) -> None:
    flag_id, key, _ = await _flag(api)
    note = "電話済み\r\n\t明日再確認"
    r = await api.client.post(f"/v1/flags/{flag_id}/acknowledge", json={"note": note}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["acknowledgement_note"] == note


async def test_the_note_is_shown_to_the_parties_and_to_no_viewer(api: Api) -> None:
    flag_id, key, viewer = await _flag(api)
    r = await api.client.post(f"/v1/flags/{flag_id}/acknowledge", json={"note": NOTE}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["acknowledgement_note"] == NOTE
    mine = (await api.client.get("/v1/flags", params={"status": "all"}, headers=key)).json()
    assert [f["acknowledgement_note"] for f in mine["items"] if f["id"] == flag_id] == [NOTE]
    for headers in (viewer, admin_headers()):
        page = await api.client.get("/v1/flags", params={"status": "all", "limit": 1000},
                                    headers=headers)  # fmt: skip
        assert page.status_code == 200
        assert NOTE not in page.text
        shown = [f for f in page.json()["items"] if f["id"] == flag_id]
        assert shown or headers is not viewer, "the viewer should see its region's flag"
        assert all(f["acknowledgement_note"] is None for f in shown)
        assert all(f["acknowledged_at"] is not None for f in shown)
