"""Rendering, security headers, login checks and CSRF for every screen (one place for each)."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import get_session
from services.api.limits import rate_limit_wait
from services.api.ui.session import UiSession, live_of, read_session
from shared.access.access_log import may_read_access_log
from shared.access.principal import Principal, Role
from shared.organizations.service import organization_names
from shared.rules.metrics import round_half_up_pct
from shared.rules.zone import TOKYO

HERE = Path(__file__).parent
# No inline script or style anywhere: every script and stylesheet is a file under /ui/static.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
ROLE_LABELS: Final = {
    "hospital": "医療機関",
    "care_office": "居宅介護支援事業所",
    "support_center": "地域包括支援センター",
    "viewer": "地域（閲覧）",
    "admin": "管理者",
}
PARTY_ROLES: Final[tuple[Role, ...]] = ("hospital", "care_office", "support_center")
OFFICE_ROLES: Final[tuple[Role, ...]] = ("care_office", "support_center")


def pct(rate: Fraction | None) -> str:
    """The survey's percentage (exact × 100, half-up to one decimal) followed by %, or —."""
    return "—" if rate is None else f"{round_half_up_pct(rate)}%"


def pct_number(rate: Fraction | None) -> float | None:
    """The same rounded percentage as a number, for the charts."""
    return None if rate is None else float(round_half_up_pct(rate))


def pct1(value: float | None) -> str:
    """A survey percentage already rounded to one decimal (SurveyFigures), followed by %."""
    return "—" if value is None else f"{value:.1f}%"


def count(value: int) -> str:
    return f"{value:,}"


def days(value: float | Decimal | None) -> str:
    return "—" if value is None else f"{value:.1f}日"


def local_time(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def local_day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    pct=pct, pct1=pct1, count=count, days=days, local_time=local_time, day=local_day
)
templates.globals["role_labels"] = ROLE_LABELS


class LoginRequired(Exception):
    """No valid session: the screen answers with a redirect to the login form."""


class UiTooManyRequests(Exception):
    """The caller's key (or person) used its requests for now, on the screens as on the API."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait
        self.message = f"操作が多すぎます。{wait}秒ほど待ってからもう一度お試しください。"


class UiForbidden(Exception):
    """A logged-in caller whose role may not open this screen (or a stale form)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the screens, escaped by Jinja2, with the CSP and no-store headers."""
    html = templates.get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status)
    secured(response)
    return response


def redirect(url: str) -> Response:
    return secured(RedirectResponse(url, status_code=303))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is signed in: the principal, its session (for CSRF), its organization and, for a
    person (not a key), their name and role in the organization."""

    principal: Principal
    session: UiSession
    organization_name: str | None
    person_name: str | None = None
    person_role: str | None = None

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def reads_access_log(self) -> bool:
        return may_read_access_log(self.principal)

    @property
    def is_org_admin(self) -> bool:
        return self.principal.org_admin


DbDep = Annotated[AsyncSession, Depends(get_session)]


async def current_caller(request: Request, db: DbDep) -> Caller:
    """The session's caller, re-checked against its key or person on every request."""
    session = read_session(request)
    live = None if session is None else await live_of(request, db, session)
    if session is None or live is None:
        raise LoginRequired
    principal = live.principal
    wait = rate_limit_wait(request.app.state.rate_limiter, principal)  # the API's limit
    if wait:
        raise UiTooManyRequests(wait)
    names = await organization_names(db, [principal.organization_id])
    return Caller(principal, session, names.get(principal.organization_id or ""),
                  live.person_name, live.person_role)  # fmt: skip


CallerDep = Annotated[Caller, Depends(current_caller)]


def require(caller: Caller, roles: Iterable[Role]) -> None:
    if caller.role not in tuple(roles):
        raise UiForbidden("この画面はお使いのアカウントの種類では開けません。")


def require_person(caller: Caller) -> uuid.UUID:
    """The signed-in person's id; a key's session may not open a person's own pages."""
    if caller.principal.user_id is None:
        raise UiForbidden("この画面は職員のアカウントでログインしたときに開けます。")
    return caller.principal.user_id


async def read_form(request: Request, session: UiSession | None) -> dict[str, str]:
    """The posted form fields (urlencoded); the CSRF token must match the session's."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise UiForbidden("フォームの形式が正しくありません。")
    try:
        parsed = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise UiForbidden("フォームの文字コードが正しくありません。") from exc
    fields = {name: values[0] for name, values in parsed.items()}
    token = fields.pop("csrf_token", "")
    if session is None or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise UiForbidden(
            "フォームの有効期限が切れたか、正しくない送信です。画面を開き直してください。"
        )
    return fields
