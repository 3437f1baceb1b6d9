"""Signing in at /ui/login: a person's login id and password, then a second factor (a passkey,
a TOTP code or a recovery code); an API key only in development (or HANDOVER_UI_KEY_LOGIN).

Both steps answer a failure the same way whatever failed, are throttled per login id and per
address (429 after 5 failures in 15 minutes), and count their failures toward that throttle.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address
from services.api.ui.pages import DbDep, read_form, redirect, render
from services.api.ui.session import (
    UiSession,
    begin_person,
    login,
    pending_person,
    principal_of,
    read_session,
    verify_person,
    write_session,
)
from shared.access.audit import audit
from shared.core import unit_of_work
from shared.core.settings import Settings
from shared.models import User
from shared.people import passkeys
from shared.people.passkeys import RelyingParty
from shared.people.service import principal_for
from shared.people.sign_in import (
    Attempt,
    SecondFactor,
    Throttled,
    check_password,
    check_second_factor,
    passkey_ids,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
WRONG: Final = "ログインIDまたはパスワードが正しくありません。"
WRONG_FACTOR: Final = "確認できませんでした。もう一度お試しください。"
WRONG_KEY: Final = "APIキーが正しくないか、失効しています。"
EXPIRED: Final = "時間切れです。もう一度ログインしてください。"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def relying_party(request: Request) -> RelyingParty:
    return RelyingParty.of(settings_of(request).screens_url)


def attempt_of(request: Request) -> Attempt:
    return Attempt(client_address(request) or "unknown", datetime.now(UTC))


def throttled_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"失敗が続いたため、ログインを一時的に止めています。約{minutes}分後にお試しください。"


def _login_page(
    request: Request, session: UiSession, *, error: str | None, status: int, login_id: str = ""
) -> Response:
    response = render(
        request, "login.html", status=status, csrf=session.csrf, error=error, login_id=login_id,
        key_login=settings_of(request).key_login_allowed,
    )  # fmt: skip
    write_session(request, response, session)
    return response


@router.get("/login")
async def login_form(request: Request, db: DbDep) -> Response:
    """The sign-in form; an anonymous session carries its CSRF token."""
    session = read_session(request)
    if session is not None and await principal_of(request, db, session) is not None:
        return redirect("/ui/")
    return _login_page(request, UiSession.anonymous(), error=None, status=200)


@router.post("/login")
async def login_submit(request: Request, db: DbDep) -> Response:
    """The password step (or a key, where allowed); the second step follows on /ui/login/verify."""
    anonymous = read_session(request)
    fields = await read_form(request, anonymous)
    anonymous = anonymous or UiSession.anonymous()
    if "api_key" in fields and settings_of(request).key_login_allowed:
        return await _key_login(request, db, anonymous, fields["api_key"].strip())
    login_id = fields.get("login_id", "").strip()
    password = fields.get("password", "")
    if not login_id or not password:
        error = "ログインIDとパスワードを入力してください。"
        return _login_page(request, anonymous, error=error, status=422, login_id=login_id)
    try:
        user = await check_password(db, login_id, password, attempt_of(request))
    except Throttled as exc:
        return _throttled(request, anonymous, exc, login_id)
    if user is None:
        await unit_of_work.commit(db)  # the failure counts
        return _login_page(request, anonymous, error=WRONG, status=401, login_id=login_id)
    pending = await begin_person(
        db, user.id, anonymous, address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )  # fmt: skip
    await unit_of_work.commit(db)
    response = redirect("/ui/login/verify")
    write_session(request, response, pending)
    return response


def _throttled(request: Request, session: UiSession, exc: Throttled, login_id: str) -> Response:
    response = _login_page(request, session, error=throttled_message(exc.seconds), status=429,
                           login_id=login_id)  # fmt: skip
    response.headers["Retry-After"] = str(exc.seconds)
    return response


async def _key_login(request: Request, db: DbDep, anonymous: UiSession, api_key: str) -> Response:
    session = await login(request, db, api_key, anonymous) if api_key else None
    if session is None:
        error = "APIキーを入力してください。" if not api_key else WRONG_KEY
        return _login_page(request, anonymous, error=error, status=401)
    response = redirect("/ui/")
    write_session(request, response, session)
    return response


@router.get("/login/verify")
async def verify_form(request: Request, db: DbDep) -> Response:
    """The second step: the person's passkeys (a fresh challenge), a TOTP or recovery code."""
    session = read_session(request)
    row = await pending_person(db, session)
    if session is None or row is None or row.user_id is None:
        return redirect("/ui/login")
    return await _verify_page(request, db, session, row.user_id, error=None, status=200)


async def _verify_page(
    request: Request,
    db: DbDep,
    session: UiSession,
    user_id: uuid.UUID,
    *,
    error: str | None,
    status: int,
) -> Response:
    row = await pending_person(db, session)
    user = await db.get(User, user_id)
    if row is None or user is None:
        return redirect("/ui/login")
    ids = await passkey_ids(db, user.id)
    options = None
    if ids:
        options, row.challenge = passkeys.authentication_options(relying_party(request), ids)
        await unit_of_work.commit(db)
    return render(request, "login_verify.html", status=status, csrf=session.csrf, error=error,
                  passkey_options=options, has_totp=user.totp_secret is not None)  # fmt: skip


@router.post("/login/verify")
async def verify_submit(request: Request, db: DbDep) -> Response:
    """Check the second factor; the session then opens the screens (new CSRF token)."""
    session = read_session(request)
    fields = await read_form(request, session)
    row = await pending_person(db, session)
    user = None if row is None or row.user_id is None else await db.get(User, row.user_id)
    if session is None or row is None or user is None:
        return _login_page(request, UiSession.anonymous(), error=EXPIRED, status=401)
    given = SecondFactor(
        passkey=fields.get("passkey", "").strip(),
        totp_code=fields.get("totp_code", "").strip(),
        recovery_code=fields.get("recovery_code", "").strip(),
    )
    try:
        ok = await check_second_factor(
            db, user, given, attempt_of(request), rp=relying_party(request),
            challenge=row.challenge,
        )  # fmt: skip
    except Throttled as exc:
        row.ended_at = datetime.now(UTC)
        await unit_of_work.commit(db)
        return _throttled(request, UiSession.anonymous(), exc, user.login_id)
    if not ok:
        await unit_of_work.commit(db)  # the failure counts, a spent code stays spent
        return await _verify_page(request, db, session, user.id, error=WRONG_FACTOR, status=401)
    verified = verify_person(row)
    audit(db, await principal_for(db, user), "sign_in", client_address=client_address(request),
          via="ui", factor=given.kind)  # fmt: skip
    await unit_of_work.commit(db)
    response = redirect("/ui/")
    write_session(request, response, verified)
    return response
