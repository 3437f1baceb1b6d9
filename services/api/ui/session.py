"""Browser sessions for the screens: a signed cookie naming a ``ui_sessions`` row.

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
from shared.models import ApiKey, BrowserSession

COOKIE: Final = "handover_session"
MAX_AGE_S: Final = 8 * 3600
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


async def principal_of(request: Request, db: AsyncSession, session: UiSession) -> Principal | None:
    """The caller a live session stands for: one lookup of its row and key by primary key.

    None once the session is ended or expired, its key revoked, or the admin token changed.
    """
    if session.id is None:
        return None
    row = (
        await db.execute(
            select(BrowserSession.key_id, ApiKey.organization_id, ApiKey.role, ApiKey.revoked_at)
            .outerjoin(ApiKey, ApiKey.id == BrowserSession.key_id)
            .where(
                BrowserSession.id == session.id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.expires_at > datetime.now(UTC),
            )
        )
    ).first()
    if row is None:
        return None
    if row.key_id is None:
        admin = signer(request).admin_fingerprint()
        if admin is None or not hmac.compare_digest(admin, session.fingerprint):
            return None
        return Principal(key_id=None, organization_id=None, role="admin")
    if row.revoked_at is not None:
        return None
    role: Role = row.role
    return Principal(key_id=row.key_id, organization_id=row.organization_id, role=role)
