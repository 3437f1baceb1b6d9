"""Browser sessions for the screens: a signed cookie naming a ``ui_sessions`` row.

A row stands for an API key, the admin token or a person (``user_id``); a person's row is live
only after the second factor, and ends after 30 idle minutes, when the person is disabled or
reset (their rows are ended), on password change, on sign-out and 8 hours after sign-in.

The cookie holds no secret of the key, only the session's id, a CSRF token, the login time (and,
for the admin token, a fingerprint of it); it is HMAC-signed, HttpOnly, SameSite=Lax, Secure in
production. Every request reads the session's row joined to its key by primary key, so a session
ends on logout (the row is ended: a copied cookie is worthless), 8 hours after login (the row's
``expires_at``) or as soon as its key is revoked (or the admin token changed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from fastapi import Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.authentication import authenticate
from shared.access.principal import Principal, Role
from shared.core import unit_of_work
from shared.core.local_secrets import generated_secret
from shared.core.settings import Settings
from shared.models import ApiKey, BrowserSession, Organization, User
from shared.people.account import IDLE_LIMIT
from shared.people.service import ROLE_BY_KIND

COOKIE: Final = "handover_session"
MAX_AGE_S: Final = 8 * 3600
IDLE_TIMEOUT: Final = IDLE_LIMIT  # a person's session ends after 30 idle minutes
SEEN_RESOLUTION: Final = timedelta(seconds=60)  # last_seen_at is written at most once a minute
PURGE_BATCH: Final = 1000  # per login; each login adds one row, so this keeps up with any load
SECRET_FILE: Final = "session.key"  # development only: production sets HANDOVER_SESSION_SECRET


@dataclass(frozen=True, slots=True)
class UiSession:
    """What the cookie says: the login's row (None before login), the CSRF token, the login time.

    ``fingerprint`` is the admin token's digest for an admin login, empty otherwise.
    """

    id: uuid.UUID | None
    fingerprint: str
    csrf: str
    issued_at: int

    @classmethod
    def anonymous(cls) -> UiSession:
        return cls(None, "", secrets.token_urlsafe(24), int(time.time()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 over the JSON payload, keyed by HANDOVER_SESSION_SECRET.

    Production settings do not load without it; development generates it once into the data
    directory, so restarts and several API processes keep every session.
    """

    def __init__(self, settings: Settings) -> None:
        secret = settings.session_secret
        if secret is None and settings.env == "production":
            raise RuntimeError("HANDOVER_SESSION_SECRET is required when HANDOVER_ENV=production")
        key = (
            secret.get_secret_value()
            if secret is not None
            else generated_secret(settings.data_dir.expanduser(), SECRET_FILE)
        )
        self._key = key.encode()
        self.secure = settings.env == "production"
        self._admin = settings.admin_token

    def admin_fingerprint(self) -> str | None:
        """A digest of the configured admin token, so changing the token ends admin sessions."""
        if self._admin is None:
            return None
        return hashlib.sha256(self._admin.get_secret_value().encode()).hexdigest()[:32]

    def dumps(self, session: UiSession) -> str:
        sid = None if session.id is None else str(session.id)
        payload = {"s": sid, "f": session.fingerprint, "c": session.csrf, "t": session.issued_at}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str, now: float) -> UiSession | None:
        """The session in a cookie, or None when forged, malformed or older than 8 hours."""
        body, _, signature = value.partition(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            data: dict[str, Any] = json.loads(_unb64(body))
            sid = None if data["s"] is None else uuid.UUID(str(data["s"]))
            session = UiSession(sid, str(data["f"]), str(data["c"]), int(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= now - session.issued_at < MAX_AGE_S:
            return None
        return session

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def signer(request: Request) -> Signer:
    ui_signer: Signer = request.app.state.ui_signer
    return ui_signer


def read_session(request: Request) -> UiSession | None:
    value = request.cookies.get(COOKIE)
    return None if value is None else signer(request).loads(value, time.time())


def write_session(request: Request, response: Response, session: UiSession) -> None:
    """Set the cookie; it expires with the session, 8 hours after login."""
    remaining = max(0, MAX_AGE_S - int(time.time() - session.issued_at))
    response.set_cookie(
        COOKIE,
        signer(request).dumps(session),
        max_age=remaining,
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=signer(request).secure,
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/ui", httponly=True, samesite="lax", secure=signer(request).secure
    )


async def login(
    request: Request, db: AsyncSession, api_key: str, replacing: UiSession | None
) -> UiSession | None:
    """A fresh logged-in session (new row, new CSRF token) for a valid key, None for a wrong one.

    The session it replaces ends, and rows past their 8 hours are purged, in one commit.
    """
    found = await _authenticate(request, db, api_key)
    if found is None:
        return None
    now = datetime.now(UTC)
    if replacing is not None:
        await _end_row(db, replacing)
    await _purge_expired(db, now)
    row = BrowserSession(key_id=found.key_id, created_at=now,
                         expires_at=now + timedelta(seconds=MAX_AGE_S))  # fmt: skip
    db.add(row)
    await unit_of_work.commit(db)
    admin = found.key_id is None
    fingerprint = (signer(request).admin_fingerprint() or "") if admin else ""
    return replace(UiSession.anonymous(), id=row.id, fingerprint=fingerprint,
                   issued_at=int(now.timestamp()))  # fmt: skip


async def _purge_expired(db: AsyncSession, now: datetime) -> None:
    """Delete up to PURGE_BATCH rows past their 8 hours.

    Rows another login is purging are skipped, so concurrent logins neither wait nor deadlock.
    """
    expired = (
        select(BrowserSession.id)
        .where(BrowserSession.expires_at <= now)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    await db.execute(delete(BrowserSession).where(BrowserSession.id.in_(expired.scalar_subquery())))


@dataclass(frozen=True, slots=True)
class _Login:
    key_id: uuid.UUID | None  # None: the admin token


async def _authenticate(request: Request, db: AsyncSession, api_key: str) -> _Login | None:
    """Who the key is (an API key's id, or the admin token); None for a wrong or revoked key."""
    settings: Settings = request.app.state.settings
    admin = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
    found = await authenticate(db, api_key, admin_token=admin, keys=request.app.state.keys)
    return None if found is None else _Login(found.key_id)


async def end(db: AsyncSession, session: UiSession) -> None:
    """Logout: the row is ended, so the cookie (and any copy of it) opens nothing any more."""
    await _end_row(db, session)
    await unit_of_work.commit(db)


async def _end_row(db: AsyncSession, session: UiSession) -> None:
    if session.id is not None:
        await db.execute(
            update(BrowserSession)
            .where(BrowserSession.id == session.id, BrowserSession.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC))
        )


@dataclass(frozen=True, slots=True)
class Live:
    """Who a live session stands for: the principal and, for a person, their name and role."""

    principal: Principal
    person_name: str | None = None
    person_role: str | None = None  # member, org_admin


async def principal_of(request: Request, db: AsyncSession, session: UiSession) -> Principal | None:
    """The caller a live session stands for (see ``live_of``)."""
    live = await live_of(request, db, session)
    return None if live is None else live.principal


async def live_of(request: Request, db: AsyncSession, session: UiSession) -> Live | None:
    """The caller a live session stands for: one lookup of its row, key or person by primary key.

    None once the session is ended or expired, its key revoked, the admin token changed, or for a
    person: before the second factor, after 30 idle minutes, or once they are disabled.
    """
    if session.id is None:
        return None
    now = datetime.now(UTC)
    row = (
        await db.execute(
            select(
                BrowserSession.key_id,
                BrowserSession.user_id,
                BrowserSession.verified_at,
                BrowserSession.last_seen_at,
                ApiKey.organization_id,
                ApiKey.role,
                ApiKey.revoked_at,
                User.organization_id.label("user_org"),
                User.display_name,
                User.role.label("user_role"),
                User.disabled,
                Organization.kind,
            )
            .outerjoin(ApiKey, ApiKey.id == BrowserSession.key_id)
            .outerjoin(User, User.id == BrowserSession.user_id)
            .outerjoin(Organization, Organization.id == User.organization_id)
            .where(
                BrowserSession.id == session.id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    if row.user_id is not None:
        return await _person(db, session.id, row, now)
    if row.key_id is None:
        admin = signer(request).admin_fingerprint()
        if admin is None or not hmac.compare_digest(admin, session.fingerprint):
            return None
        return Live(Principal(key_id=None, organization_id=None, role="admin"))
    if row.revoked_at is not None:
        return None
    role: Role = row.role
    return Live(Principal(key_id=row.key_id, organization_id=row.organization_id, role=role))


async def _person(db: AsyncSession, session_id: uuid.UUID, row: Any, now: datetime) -> Live | None:
    """A person's verified, non-idle session; its last use is written at most once a minute."""
    if row.verified_at is None or row.disabled or row.last_seen_at is None:
        return None
    idle = now - row.last_seen_at
    if idle >= IDLE_TIMEOUT:
        return None
    if idle >= SEEN_RESOLUTION:
        await db.execute(
            update(BrowserSession).where(BrowserSession.id == session_id).values(last_seen_at=now)
        )
        await unit_of_work.commit(db)
    role: Role = ROLE_BY_KIND[row.kind]
    principal = Principal(key_id=None, organization_id=row.user_org, role=role,
                          user_id=row.user_id, org_admin=row.user_role == "org_admin")  # fmt: skip
    return Live(principal, row.display_name, row.user_role)


PENDING: Final = timedelta(minutes=5)  # the second step must follow the password within this


async def begin_person(
    db: AsyncSession,
    user_id: uuid.UUID,
    replacing: UiSession | None,
    *,
    address: str | None,
    user_agent: str,
) -> UiSession:
    """A person's session after the password: it opens nothing until ``verify_person``.

    The row it replaces ends and expired rows are purged; the caller commits.
    """
    now = datetime.now(UTC)
    if replacing is not None:
        await _end_row(db, replacing)
    await _purge_expired(db, now)
    row = BrowserSession(
        user_id=user_id, created_at=now, expires_at=now + PENDING, address=address,
        user_agent=user_agent[:200],
    )  # fmt: skip
    db.add(row)
    await db.flush()
    return replace(UiSession.anonymous(), id=row.id, issued_at=int(now.timestamp()))


async def pending_person(db: AsyncSession, session: UiSession | None) -> BrowserSession | None:
    """The session's row while it waits for the second factor (5 minutes after the password)."""
    if session is None or session.id is None:
        return None
    row: BrowserSession | None = await db.scalar(
        select(BrowserSession).where(
            BrowserSession.id == session.id,
            BrowserSession.user_id.is_not(None),
            BrowserSession.verified_at.is_(None),
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > datetime.now(UTC),
        )
    )
    return row


def verify_person(row: BrowserSession) -> UiSession:
    """The second factor is proven: the row lives 8 hours (30 idle minutes), a new CSRF token."""
    now = datetime.now(UTC)
    row.verified_at = now
    row.last_seen_at = now
    row.expires_at = now + timedelta(seconds=MAX_AGE_S)
    row.challenge = None
    return replace(UiSession.anonymous(), id=row.id, issued_at=int(now.timestamp()))
