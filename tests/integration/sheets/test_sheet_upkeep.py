"""Upkeep of stored sheets: retention per kind, and re-encryption after a key rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.core.local_secrets import generated_secret
from shared.core.settings import Settings, get_settings
from shared.models import SheetRecord
from shared.sheets.examples import ADMISSION_INFO_EXAMPLE, DISCHARGE_INFO_EXAMPLE
from shared.sheets.sealing import KEY_FILE, SheetKeyMissing, unseal
from shared.sheets.store import purge_expired, rekey
from tests.factories import Api, admission, event

pytestmark = pytest.mark.postgres
ADMITTED = "2024-06-03T10:15:00+09:00"
LATER = "2024-06-20T10:00:00+09:00"


async def _stay_with_both_sheets(api: Api) -> str:
    hospital, office, h_key, o_key = await api.parties()
    r = await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    info = event(
        "admission_info",
        hospital,
        "A-1",
        ADMITTED,
        care_office_id=office,
        channel="fax",
        sheet=ADMISSION_INFO_EXAMPLE,
    )
    conference = event(
        "discharge_conference",
        hospital,
        "A-1",
        LATER,
        participant_org_ids=[office],
        sheet=DISCHARGE_INFO_EXAMPLE,
    )
    assert (await api.post(info, o_key)).status_code == 201
    assert (await api.post(conference, h_key)).status_code == 201
    episode_id: str = r.json()["episode_id"]
    return episode_id


async def _kinds(session: AsyncSession, episode_id: str) -> list[str]:
    rows = await session.scalars(
        select(SheetRecord.kind).where(SheetRecord.episode_id == episode_id).order_by("kind")
    )
    return list(rows)


async def test_each_kind_is_deleted_after_its_own_retention_days(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    episode_id = await _stay_with_both_sheets(api)
    short_admission = Settings(admission_info_sheet_days=365, discharge_info_sheet_days=36500)
    async with db() as session:
        assert await purge_expired(session, short_admission, datetime(2025, 7, 1, tzinfo=UTC)) >= 1
        assert await _kinds(session, episode_id) == ["discharge_info_sheet"]


async def test_rekey_moves_every_sheet_to_the_new_key(
    api: Api, db: async_sessionmaker[AsyncSession]
) -> None:
    episode_id = await _stay_with_both_sheets(api)
    current = get_settings()  # the app's: in development its key is generated into .data/
    running_key = generated_secret(current.data_dir, KEY_FILE)
    rotating = Settings(
        sheet_key=SecretStr("the-new-key-0123456789"), sheet_previous_keys=SecretStr(running_key)
    )
    new_only = Settings(sheet_key=SecretStr("the-new-key-0123456789"))
    async with db() as session:
        assert await rekey(session, rotating, batch=1) >= 2
        sealed = await session.scalars(
            select(SheetRecord.sealed).where(SheetRecord.episode_id == episode_id)
        )
        opened = [unseal(new_only, token)["kind"] for token in sealed]
        assert sorted(opened) == ["admission_info_sheet", "discharge_info_sheet"]
        token = await session.scalar(select(SheetRecord.sealed).limit(1))
        assert token is not None
        with pytest.raises(SheetKeyMissing):
            unseal(current, token)
