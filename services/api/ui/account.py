"""/ui/account: a signed-in person changes their password, manages their passkeys, sees their
active sessions and ends them, and replaces their recovery codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.ui.pages import Caller, CallerDep, DbDep, read_form, redirect, render
from services.api.ui.pages import require_person as person_of
from services.api.ui.signin import attempt_of, relying_party, settings_of, throttled_message
from shared.access.audit import audit
from shared.core import unit_of_work
from shared.models import BrowserSession, User
from shared.people import passkeys
from shared.people.account import (
    AccountRefused,
    change_password,
    end_own_session,
    live_sessions,
    person_passkeys,
    recovery_codes_left,
    remove_passkey,
)
from shared.people.enrolment import add_passkey
from shared.people.factors import new_totp_secret, totp_qr_svg, totp_step
from shared.people.passkeys import PasskeyRejected
from shared.people.passwords import MIN_LENGTH
from shared.people.service import replace_recovery_codes
from shared.people.sign_in import Throttled, passkey_ids

router = APIRouter(prefix="/ui", include_in_schema=False)


async def _page(
    request: Request,
    db: DbDep,
    caller: Caller,
    *,
    status: int = 200,
    error: str | None = None,
    message: str | None = None,
    codes: list[str] | None = None,
) -> Response:
    """The account page; each visit offers a fresh passkey challenge (kept on the session row)."""
    user = await db.get_one(User, person_of(caller))
    row = await db.get_one(BrowserSession, caller.session.id)
    options, row.challenge = passkeys.registration_options(
        relying_party(request), user_id=user.id.bytes, login_id=user.login_id,
        display_name=user.display_name, existing=await passkey_ids(db, user.id),
    )  # fmt: skip
    now = datetime.now(UTC)
    qr = None
    if user.totp_secret is None:  # offer an authenticator app as the fallback factor
        row.totp_offer = row.totp_offer or new_totp_secret()
        qr = totp_qr_svg(row.totp_offer, user.login_id, settings_of(request).screens_url)
    context = {
        "user": user, "passkeys": await person_passkeys(db, user.id),
        "sessions": await live_sessions(db, user.id, now), "current": caller.session.id,
        "totp_offer": row.totp_offer if qr else None, "qr": qr,
        "codes_left": await recovery_codes_left(db, user.id),
    }  # fmt: skip
    await unit_of_work.commit(db)
    return render(request, "account.html", status=status, caller=caller, active="account",
                  error=error, message=message, codes=codes, passkey_options=options,
                  min_length=MIN_LENGTH, **context)  # fmt: skip


@router.get("/account")
async def account(request: Request, caller: CallerDep, db: DbDep) -> Response:
    person_of(caller)
    return await _page(request, db, caller)


@router.post("/account/password")
async def password(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Change the password; the person's other sessions end at once."""
    fields = await read_form(request, caller.session)
    user = await db.get_one(User, person_of(caller))
    try:
        await change_password(
            db, user, caller.principal, current=fields.get("current_password", ""),
            new=fields.get("new_password", ""), confirm=fields.get("new_password_confirm", ""),
            keep=caller.session.id or uuid.uuid4(), attempt=attempt_of(request),
        )  # fmt: skip
    except Throttled as exc:
        return await _page(request, db, caller, status=429, error=throttled_message(exc.seconds))
    except AccountRefused as exc:
        await unit_of_work.commit(db)  # a wrong current password counts toward the throttle
        return await _page(request, db, caller, status=422, error=str(exc))
    await unit_of_work.commit(db)
    message = "パスワードを変更しました。ほかの端末のログインは終了しました。"
    return await _page(request, db, caller, message=message)


@router.post("/account/passkeys")
async def add(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Register a passkey against the challenge the page offered."""
    fields = await read_form(request, caller.session)
    user = await db.get_one(User, person_of(caller))
    row = await db.get_one(BrowserSession, caller.session.id)
    name = fields.get("name", "").strip() or "パスキー"
    try:
        if row.challenge is None:
            raise PasskeyRejected("no challenge offered")
        new = passkeys.verify_registration(relying_party(request), fields.get("passkey", ""),
                                           row.challenge)  # fmt: skip
    except PasskeyRejected:
        error = "パスキーを登録できませんでした。もう一度お試しください。"
        return await _page(request, db, caller, status=422, error=error)
    add_passkey(db, user, new, name, datetime.now(UTC))
    await unit_of_work.commit(db)
    return await _page(request, db, caller, message=f"パスキー「{name[:64]}」を登録しました。")


@router.post("/account/passkeys/{passkey_id}/delete")
async def delete(passkey_id: uuid.UUID, request: Request, caller: CallerDep, db: DbDep) -> Response:
    await read_form(request, caller.session)
    user = await db.get_one(User, person_of(caller))
    try:
        await remove_passkey(db, user, passkey_id)
    except AccountRefused as exc:
        return await _page(request, db, caller, status=422, error=str(exc))
    await unit_of_work.commit(db)
    return await _page(request, db, caller, message="パスキーを削除しました。")


@router.post("/account/sessions/{session_id}/end")
async def end_session(
    session_id: uuid.UUID, request: Request, caller: CallerDep, db: DbDep
) -> Response:
    """End one of the person's sessions (ending the current one signs out)."""
    await read_form(request, caller.session)
    ended = await end_own_session(db, person_of(caller), session_id, datetime.now(UTC))
    await unit_of_work.commit(db)
    if session_id == caller.session.id:
        return redirect("/ui/login")
    message = "ログインを終了しました。" if ended else "そのログインはすでに終了しています。"
    return await _page(request, db, caller, message=message)


@router.post("/account/recovery-codes")
async def new_codes(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Ten new recovery codes, shown once; the earlier ones stop working."""
    await read_form(request, caller.session)
    codes = await replace_recovery_codes(db, person_of(caller))
    await unit_of_work.commit(db)
    message = "新しいリカバリーコードを発行しました。以前のコードは使えません。"
    return await _page(request, db, caller, codes=codes, message=message)


@router.post("/account/totp")
async def add_totp(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Add an authenticator app: the code proves the person's app holds the offered secret."""
    fields = await read_form(request, caller.session)
    user = await db.get_one(User, person_of(caller))
    row = await db.get_one(BrowserSession, caller.session.id)
    offer = row.totp_offer
    step = None
    if offer is not None and user.totp_secret is None:
        step = totp_step(offer, fields.get("totp_code", ""), last_step=None)
    if offer is None or step is None:
        error = "認証アプリのコードが正しくありません。時刻を確かめてください。"
        return await _page(request, db, caller, status=422, error=error)
    user.totp_secret, user.totp_last_step, row.totp_offer = offer, step, None
    audit(db, caller.principal, "add_totp", client_address=attempt_of(request).address, via="ui")
    await unit_of_work.commit(db)
    return await _page(request, db, caller, message="認証アプリを登録しました。")
