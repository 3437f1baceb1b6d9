"""Browser sessions for the screens: a signed cookie naming the API key, re-checked per request.

The cookie holds no secret of the key, only its id (or a fingerprint of the admin token), a CSRF
token and the login time; it is HMAC-signed, HttpOnly, SameSite=Lax, Secure in production and
ends 8 hours after login. Every request reads the key's row by primary key, so revoking the
key ends every session made with it at once.
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
from typing import Any, Final

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.api_keys import key_matches, split_key
from shared.access.principal import Principal, Role
from shared.core.settings import Settings
from shared.models import ApiKey

COOKIE: Final = "handover_session"
MAX_AGE_S: Final = 8 * 3600
ADMIN: Final = "admin"


@dataclass(frozen=True, slots=True)
class UiSession:
    """What the cookie says: who logged in (None before login), the CSRF token, the login time."""

    key: str | None
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
    """HMAC-SHA256 over the JSON payload; the secret comes from settings or is random per app."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.session_secret
        self._key = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
        self.secure = settings.env == "production"
        self._admin = settings.admin_token

    def admin_fingerprint(self) -> str | None:
        """A digest of the configured admin token, so changing the token ends admin sessions."""
        if self._admin is None:
            return None
        return hashlib.sha256(self._admin.get_secret_value().encode()).hexdigest()[:32]

    def dumps(self, session: UiSession) -> str:
        payload = {"k": session.key, "f": session.fingerprint, "c": session.csrf,
                   "t": session.issued_at}  # fmt: skip
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str, now: float) -> UiSession | None:
        """The session in a cookie, or None when forged, malformed or older than 8 hours."""
        body, _, signature = value.partition(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            data: dict[str, Any] = json.loads(_unb64(body))
            session = UiSession(data["k"], str(data["f"]), str(data["c"]), int(data["t"]))
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


async def login(request: Request, db: AsyncSession, api_key: str) -> UiSession | None:
    """A fresh logged-in session (new CSRF token) for a valid key, None for a wrong one."""
    sign = signer(request)
    admin = sign.admin_fingerprint()
    if admin is not None and hmac.compare_digest(
        hashlib.sha256(api_key.encode()).hexdigest()[:32], admin
    ):
        return replace(UiSession.anonymous(), key=ADMIN, fingerprint=admin)
    prefix = split_key(api_key)
    if prefix is None:
        return None
    row = (
        await db.execute(
            select(ApiKey.id, ApiKey.key_hash, ApiKey.revoked_at).where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or row.revoked_at is not None or not key_matches(api_key, row.key_hash):
        return None
    return replace(UiSession.anonymous(), key=str(row.id), fingerprint=row.key_hash[:16])


async def principal_of(request: Request, db: AsyncSession, session: UiSession) -> Principal | None:
    """The caller a logged-in session stands for, None once its key is revoked or replaced."""
    if session.key is None:
        return None
    if session.key == ADMIN:
        admin = signer(request).admin_fingerprint()
        if admin is None or not hmac.compare_digest(admin, session.fingerprint):
            return None
        return Principal(key_id=None, organization_id=None, role="admin")
    try:
        key_id = uuid.UUID(session.key)
    except ValueError:
        return None
    row = (
        await db.execute(
            select(ApiKey.organization_id, ApiKey.role, ApiKey.key_hash, ApiKey.revoked_at).where(
                ApiKey.id == key_id
            )
        )
    ).first()
    if row is None or row.revoked_at is not None or row.key_hash[:16] != session.fingerprint:
        return None
    role: Role = row.role
    return Principal(key_id=key_id, organization_id=row.organization_id, role=role)
