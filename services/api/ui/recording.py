"""Recording an event from a form through exactly the ingestion POST /v1/events uses.

Same function (``shared.events.service.ingest``), same transient-conflict retry, same audit,
commit and recompute enqueue after commit; only the answer differs (a page, not problem+json).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import record_access
from services.api.observability import EVENTS_INGESTED
from shared.access.principal import Principal
from shared.core.db import retry_transient
from shared.events.service import Outcome, ingest

STORED: Final = ("created", "duplicate")

# What to tell a person about each field, in Japanese (the API's messages are for integrators).
FIELD_MESSAGES: Final = {
    "hospital_id": "医療機関コードを確認してください（登録済みの医療機関のコード）。",
    "encounter_ref": "入院番号を確認してください（1〜64文字の英数字・記号）。",
    "occurred_at": "日時を確認してください（2000年以降、未来でない日時）。",
    "channel": "提供方法を選んでください。",
    "care_office_id": "事業所番号を確認してください（登録済みの事業所のコード）。",
}
STATUS_MESSAGES: Final = {
    "forbidden": "この入院について記録する権限がありません（当事者の事業所ではありません）。",
    "conflict": "この送信番号は別の内容で既に記録されています。画面を開き直してください。",
    "invalid": "入力内容を確認してください。",
}


async def record_event(
    request: Request, db: AsyncSession, principal: Principal, raw: dict[str, Any]
) -> Outcome:
    """Store one event (idempotent on its event_id); a refused one changes nothing."""
    reference = request.app.state.reference

    async def record() -> Outcome:
        outcome = await ingest(db, raw, principal, datetime.now(UTC), reference)
        if outcome.status not in STORED:
            await db.rollback()
            return outcome
        record_access(request, db, principal, "post_event", episode_id=outcome.episode_id,
                      event_type=raw["type"], outcome=outcome.status, via="ui")  # fmt: skip
        await db.commit()
        return outcome

    outcome = await retry_transient(db, record)
    if outcome.status == "created" and outcome.episode_id is not None:
        EVENTS_INGESTED.labels(raw["type"]).inc()
        request.app.state.recompute.add([outcome.episode_id])
    return outcome


def field_errors(outcome: Outcome, fields: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    """Japanese messages per form field, and one for the form when no field is to blame."""
    errors: dict[str, str] = {}
    for error in outcome.errors:
        loc = [str(part) for part in error.get("loc", [])]
        name = loc[1] if len(loc) > 1 and loc[0] == "body" else (loc[0] if loc else "")
        if name in fields:
            errors[name] = FIELD_MESSAGES.get(name, "入力内容を確認してください。")
    general = None if errors else STATUS_MESSAGES.get(outcome.status, "記録できませんでした。")
    return errors, general
