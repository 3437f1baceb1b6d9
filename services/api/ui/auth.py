"""Sign-out, and the survey downloads a signed-in viewer follows (sign-in: ``signin``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.ui.pages import (
    CallerDep,
    DbDep,
    UiForbidden,
    read_form,
    redirect,
    render,
    require,
    secured,
)
from services.api.ui.session import (
    clear_session,
    end,
    read_session,
)
from shared.access.visibility import ScopeUnavailable, metrics_scope
from shared.metrics.survey_download import FILE_FORMATS, survey_file
from shared.metrics.survey_period import period_from_stem
from shared.metrics.window import WindowError
from shared.rules.bounds import server_today
from shared.rules.zone import TOKYO

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.post("/logout")
async def logout(request: Request, db: DbDep) -> Response:
    """End the session on the server, so a copy of the cookie opens nothing either."""
    session = read_session(request)
    await read_form(request, session)
    if session is not None:
        await end(db, session)
    response = redirect("/ui/login")
    clear_session(request, response)
    return response


@router.get("/survey/{period}.{fmt}")
async def survey_download(
    request: Request, period: str, fmt: str, caller: CallerDep, db: DbDep
) -> Response:
    """The survey file GET /v1/reports/survey gives (viewer: its region) for a period named as
    in the file names: ``2024-06``, ``FY2024`` or ``2024-04-01_2024-06-30``."""
    require(caller, ("viewer", "admin"))
    chosen = FILE_FORMATS.get(fmt)
    try:
        survey = period_from_stem(period, today=server_today())
    except WindowError:
        chosen = None
    if chosen is None:  # a page with a way back, not a bare status
        return render(request, "not_found.html", status=404, caller=caller)
    region = None
    if caller.role == "viewer":
        try:
            region = (await metrics_scope(db, caller.principal)).value
        except ScopeUnavailable as exc:
            raise UiForbidden("このAPIキーには集計できる組織がありません。") from exc
    found = await survey_file(db, survey, region, chosen, now=datetime.now(TOKYO))
    headers = {"Content-Disposition": f'attachment; filename="{found.filename}"'}
    return secured(Response(found.body, media_type=found.media_type, headers=headers))
