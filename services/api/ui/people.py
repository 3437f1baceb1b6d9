"""/ui/people: an organization's org_admin adds, disables and re-enables its people and resets
their factors; the enrolment link is shown to hand over in person (no e-mail)."""

from __future__ import annotations

import uuid
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.api.deps import client_address
from services.api.ui.pages import Caller, CallerDep, DbDep, UiForbidden, read_form, render
from services.api.ui.signin import settings_of
from shared.core import unit_of_work
from shared.models import User
from shared.people import service
from shared.people.schemas import UserIn, UserPatch
from shared.people.service import PersonConflict

router = APIRouter(prefix="/ui", include_in_schema=False)
VIA: Final = "ui"
FIELD_LABELS: Final = {"login_id": "ログインID", "display_name": "氏名", "role": "権限"}


def org_admin(caller: Caller) -> str:
    """The org_admin's organization; anyone else may not open these pages."""
    if not caller.is_org_admin or caller.principal.organization_id is None:
        raise UiForbidden("この画面は所属の管理者（org_admin）だけが開けます。")
    return caller.principal.organization_id


async def _page(
    request: Request,
    db: DbDep,
    caller: Caller,
    *,
    status: int = 200,
    error: str | None = None,
    message: str | None = None,
    enrolment: tuple[User, str] | None = None,
    cursor: str | None = None,
) -> Response:
    org = org_admin(caller)
    people, next_cursor = await service.users_page(db, org, limit=100, cursor=cursor)
    return render(request, "people.html", status=status, caller=caller, active="people",
                  people=people, next_cursor=next_cursor, error=error, message=message,
                  enrolment=enrolment)  # fmt: skip


@router.get("/people")
async def people_page(
    request: Request, caller: CallerDep, db: DbDep, cursor: str | None = None
) -> Response:
    org_admin(caller)
    return await _page(request, db, caller, cursor=cursor or None)


@router.post("/people")
async def add_person(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Add a person of the admin's own organization; their enrolment link is shown once."""
    org = org_admin(caller)
    fields = await read_form(request, caller.session)
    try:
        body = UserIn(organization_id=org, login_id=fields.get("login_id", "").strip(),
                      display_name=fields.get("display_name", ""),
                      role=fields.get("role", "member"))  # fmt: skip
        enrolled = await service.create_person(
            db, body, caller.principal, screens_url=settings_of(request).screens_url,
            client_address=client_address(request), via=VIA,
        )  # fmt: skip
    except ValidationError as exc:
        wrong = sorted({FIELD_LABELS.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors()})
        error = (
            f"{'、'.join(wrong)}を確かめてください（ログインIDは3〜64文字の半角英数字と . _ @ -）。"
        )
        return await _page(request, db, caller, status=422, error=error)
    except PersonConflict:
        error = "このログインIDはすでに使われています。別のIDにしてください。"
        return await _page(request, db, caller, status=409, error=error)
    await unit_of_work.commit(db)
    message = f"{enrolled.user.display_name}さんを追加しました。"
    return await _page(request, db, caller, message=message,
                       enrolment=(enrolled.user, enrolled.enrolment_url))  # fmt: skip


async def _own_person(db: DbDep, caller: Caller, user_id: uuid.UUID) -> User | None:
    return await service.find_user(db, user_id, org_admin(caller))


@router.post("/people/{user_id}/{action}")
async def act(
    user_id: str, action: str, request: Request, caller: CallerDep, db: DbDep
) -> Response:
    """disable, enable or reset one of the organization's people (another's: 404)."""
    await read_form(request, caller.session)
    try:
        user = await _own_person(db, caller, uuid.UUID(user_id))
    except ValueError:
        user = None
    if user is None or action not in ("disable", "enable", "reset"):
        return render(request, "not_found.html", status=404, caller=caller)
    if user.id == caller.principal.user_id and action != "enable":
        error = "自分自身を停止・リセットすることはできません。別の管理者に依頼してください。"
        return await _page(request, db, caller, status=422, error=error)
    where = client_address(request)
    if action == "reset":
        url = await service.reset_person(db, user, caller.principal,
                                         screens_url=settings_of(request).screens_url,
                                         client_address=where, via=VIA)  # fmt: skip
        await unit_of_work.commit(db)
        message = f"{user.display_name}さんのパスワードと本人確認の方法をリセットしました。"
        return await _page(request, db, caller, message=message, enrolment=(user, url))
    patch = UserPatch(disabled=action == "disable")
    await service.change_person(db, user, patch, caller.principal, client_address=where, via=VIA)
    await unit_of_work.commit(db)
    done = "停止しました（ログイン中の画面も終了します）" if action == "disable" else "再開しました"
    return await _page(request, db, caller, message=f"{user.display_name}さんを{done}。")
