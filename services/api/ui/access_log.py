"""アクセスログ (/ui/access-log): who was shown which episode's patient fields, and its CSV.

The operator reads every organization's log; who else may, and which organization they see, is
decided in one place, ``shared.access.access_log.access_log_scope``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.ui.pages import CallerDep, DbDep, UiForbidden, redirect, render, secured
from shared.access.access_log import (
    AccessLogDenied,
    AccessLogFilter,
    access_log_csv,
    access_log_page,
    access_log_scope,
)
from shared.core.pagination import BadCursor
from shared.organizations.service import organization_names
from shared.rules.bounds import BoundedDate
from shared.rules.events import OrgId
from shared.rules.zone import TOKYO

T = TypeVar("T")
router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE: Final = 100
FIELDS: Final = ("organization_id", "episode_id", "since", "until")
MESSAGES: Final = {
    "organization_id": "組織コードを確認してください（1〜32文字の英数字・-・_）。",
    "episode_id": "入院IDを確認してください（UUID形式）。",
    "since": "開始日を確認してください（2000年以降、3年先までの日付）。",
    "until": "終了日を確認してください（2000年以降、3年先までの日付）。",
}
ORG_ID: Final = TypeAdapter(OrgId)
EPISODE_ID: Final = TypeAdapter(uuid.UUID)
DAY: Final = TypeAdapter(BoundedDate)


def _scope(caller: CallerDep) -> str | None:
    try:
        return access_log_scope(caller.principal)
    except AccessLogDenied as exc:
        raise UiForbidden("アクセスログはお使いの利用者の種類では開けません。") from exc


def _start_of(day: date | None, *, days: int = 0) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=days), time(0), TOKYO)


class _Form:
    """The filter form's fields (blank ones ignored), each validated, with a message per bad one."""

    def __init__(self, request: Request) -> None:
        self.sent = {k: request.query_params.get(k, "").strip() for k in FIELDS}
        self.errors: dict[str, str] = {}

    def field(self, name: str, adapter: TypeAdapter[T]) -> T | None:
        if not self.sent[name]:
            return None
        try:
            return adapter.validate_python(self.sent[name])
        except ValidationError:
            self.errors[name] = MESSAGES[name]
            return None

    def filters(self) -> AccessLogFilter:
        """The entries of the days 開始日 to 終了日 (both inclusive, Asia/Tokyo)."""
        since, until = self.field("since", DAY), self.field("until", DAY)
        if since is not None and until is not None and until < since:
            self.errors["until"] = "終了日は開始日と同じか、それより後の日付にしてください。"
        return AccessLogFilter(
            organization_id=self.field("organization_id", ORG_ID),
            episode_id=self.field("episode_id", EPISODE_ID),
            since=_start_of(since),
            until=_start_of(until, days=1),
        )

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.sent.items() if v})


@router.get("/access-log")
async def access_log(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """A page of the log, newest first, filtered by organization, episode and days."""
    scope = _scope(caller)
    form = _Form(request)
    filters = form.filters()
    page: dict[str, Any] = {"caller": caller, "form": form, "scope": scope, "rows": [], "names": {}}
    if form.errors:
        return render(request, "access_log.html", status=422, **page)
    cursor = request.query_params.get("cursor") or None
    try:
        rows, next_cursor = await access_log_page(
            db, filters.within(scope), limit=PAGE, cursor=cursor
        )
    except BadCursor:
        return redirect(f"/ui/access-log?{form.query}")  # a mangled link: start again
    names = await organization_names(db, [r.organization_id for r in rows])
    page |= {"rows": rows, "names": names, "cursor": cursor, "next_cursor": next_cursor}
    return render(request, "access_log.html", **page)


@router.get("/access-log.csv")
async def access_log_download(request: Request, caller: CallerDep) -> Response:
    """The page's entries (every page of them) as CSV, as GET /v1/access-log?format=csv."""
    scope = _scope(caller)
    form = _Form(request)
    filters = form.filters()
    if form.errors:
        return render(request, "access_log.html", status=422, caller=caller, form=form,
                      scope=scope, rows=[], names={})  # fmt: skip
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return secured(
        StreamingResponse(
            access_log_csv(sessions, filters.within(scope)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="access-log.csv"'},
        )
    )
