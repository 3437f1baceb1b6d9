"""/ui/enrol/{token}: a person sets their password and enrols a passkey or TOTP by the one-time
link an org_admin (or the operator) handed them; then they see their recovery codes once."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address
from services.api.ui.pages import DbDep, read_form, render
from services.api.ui.session import (
    UiSession,
    begin_person,
    read_session,
    verify_person,
    write_session,
)
from services.api.ui.signin import relying_party, settings_of
from shared.access.audit import audit
from shared.core import unit_of_work
from shared.models import BrowserSession, Enrolment, User
from shared.people.enrolment import Enrolling, EnrolmentRefused, complete, offer, open_enrolment
from shared.people.factors import totp_qr_svg
from shared.people.passwords import MIN_LENGTH
from shared.people.service import principal_for

router = APIRouter(prefix="/ui", include_in_schema=False)


def _gone(request: Request) -> Response:
    return render(request, "enrol_gone.html", status=404)


async def _page(
    request: Request,
    db: DbDep,
    pair: tuple[Enrolment, User],
    session: UiSession,
    *,
    error: str | None,
    status: int,
) -> Response:
    enrolment, user = pair
    offered = await offer(db, enrolment, user, relying_party(request))
    await unit_of_work.commit(db)
    screens_url = settings_of(request).screens_url
    response = render(
        request, "enrol.html", status=status, csrf=session.csrf, error=error, user=user,
        totp_secret=offered.totp_secret, passkey_options=offered.passkey_options,
        qr=totp_qr_svg(offered.totp_secret, user.login_id, screens_url), min_length=MIN_LENGTH,
    )  # fmt: skip
    write_session(request, response, session)
    return response


@router.get("/enrol/{token}")
async def enrol_form(token: str, request: Request, db: DbDep) -> Response:
    """The enrolment form; opening it does not use the link up."""
    pair = await open_enrolment(db, token, datetime.now(UTC))
    if pair is None:
        return _gone(request)
    return await _page(request, db, pair, UiSession.anonymous(), error=None, status=200)


@router.post("/enrol/{token}")
async def enrol_submit(token: str, request: Request, db: DbDep) -> Response:
    """Set the password and factor; the person is signed in and sees their recovery codes."""
    anonymous = read_session(request)
    fields = await read_form(request, anonymous)
    now = datetime.now(UTC)
    pair = await open_enrolment(db, token, now)
    if pair is None or anonymous is None:
        return _gone(request)
    enrolment, user = pair
    given = Enrolling(
        password=fields.get("password", ""),
        password_confirm=fields.get("password_confirm", ""),
        passkey=fields.get("passkey", "").strip(),
        totp_code=fields.get("totp_code", "").strip(),
    )
    try:
        codes = await complete(db, enrolment, user, given, rp=relying_party(request), now=now)
    except EnrolmentRefused as exc:
        return await _page(request, db, pair, anonymous, error=str(exc), status=422)
    pending = await begin_person(
        db, user.id, anonymous, address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )  # fmt: skip
    session = verify_person(await db.get_one(BrowserSession, pending.id))
    audit(db, await principal_for(db, user), "enrol", client_address=client_address(request),
          via="ui", factor="passkey" if given.passkey else "totp")  # fmt: skip
    await unit_of_work.commit(db)
    response = render(request, "enrolled.html", codes=codes, csrf=session.csrf)
    write_session(request, response, session)
    return response
