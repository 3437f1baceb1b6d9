"""Raw hospital messages are blanked after HANDOVER_RAW_MESSAGE_DAYS; their fingerprints stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.interop.store import blank_raw_before
from shared.models import InboundMessage
from tests.factories import Api
from tests.integration.interop.test_hl7v2_http import msa, post, stored_counts
from tests.unit.interop.helpers import adt

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]


async def _raw(sessions: Sessions, hospital: str) -> dict[str, bytes | None]:
    async with sessions() as session:
        rows = await session.execute(
            select(InboundMessage.control_id, InboundMessage.raw).where(
                InboundMessage.hospital_id == hospital
            )
        )
        return dict(rows.all())


async def test_old_raw_messages_are_blanked_and_a_resend_is_still_a_duplicate(
    api: Api, sessions: Sessions
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    old = adt("A01", control_id="OLD-1", pv1_fields={2: "I", 19: "R-1", 44: "202406031000"})
    new = adt("A01", control_id="NEW-1", pv1_fields={2: "I", 19: "R-2", 44: "202406031100"})
    for message in (old, new):
        assert msa((await post(api.client, message.encode(), key)).content)[1] == "AA"
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.hospital_id == hospital, InboundMessage.control_id == "OLD-1")
            .values(received_at=now - timedelta(days=91))
        )

    async with sessions() as session, session.begin():
        blanked = await blank_raw_before(session, now - timedelta(days=90))
    assert blanked >= 1
    raw = await _raw(sessions, hospital)
    assert raw["OLD-1"] is None
    assert raw["NEW-1"] == new.encode()

    again = await post(api.client, old.encode(), key)
    assert msa(again.content)[1] == "AA"
    assert await stored_counts(sessions, hospital) == (2, 2), "nothing stored twice"
    async with sessions() as session, session.begin():
        assert await blank_raw_before(session, now - timedelta(days=90)) == 0, "done already"


async def test_a_batch_blanks_at_most_its_size_oldest_first(api: Api, sessions: Sessions) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    now = datetime.now(UTC)
    for i in range(3):
        message = adt("A01", control_id=f"B-{i}", pv1_fields={2: "I", 19: f"B-{i}"})
        assert msa((await post(api.client, message.encode(), key)).content)[1] == "AA"
        async with sessions() as session, session.begin():
            await session.execute(
                update(InboundMessage)
                .where(
                    InboundMessage.hospital_id == hospital, InboundMessage.control_id == f"B-{i}"
                )
                .values(received_at=now - timedelta(days=200 - i))
            )
    async with sessions() as session, session.begin():
        assert await blank_raw_before(session, now - timedelta(days=90), batch=2) == 2
    raw = await _raw(sessions, hospital)
    assert (raw["B-0"], raw["B-1"]) == (None, None)
    assert raw["B-2"] is not None, "the newest waits for the next batch"
    async with sessions() as session, session.begin():
        assert await blank_raw_before(session, now - timedelta(days=90), batch=2) == 1
