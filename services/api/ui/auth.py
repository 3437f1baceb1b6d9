"""Sign-out, and the survey downloads a signed-in viewer follows (sign-in: ``signin``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.routers.reports import XLSX_TYPE
from services.api.ui.pages import (
    CallerDep,
    DbDep,
    read_form,
    redirect,
    require,
    secured,
)
from services.api.ui.session import (
    clear_session,
    end,
    read_session,
)
from shared.access.visibility import ScopeUnavailable, metrics_scope
from shared.metrics.survey import survey_csv, survey_table, survey_xlsx
from shared.metrics.window import WindowError, parse_month
from shared.rules.bounds import server_today

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


@router.get("/survey/{month}.{fmt}")
async def survey_download(month: str, fmt: str, caller: CallerDep, db: DbDep) -> Response:
    """The month's survey table as GET /v1/reports/survey gives it (viewer: its region)."""
    require(caller, ("viewer", "admin"))
    if fmt not in ("csv", "xlsx"):
        return secured(Response(status_code=404))
    today = server_today()
    try:
        parse_month(month, today=today)
    except WindowError:
        return secured(Response(status_code=404))
    region = None
    if caller.role == "viewer":
        try:
            region = (await metrics_scope(db, caller.principal)).value
        except ScopeUnavailable:
            return secured(Response(status_code=403))
    out = await survey_table(db, month, region, today=today)
    stem = f"survey-{region}-{month}" if region else f"survey-{month}"
    body, media = (
        (survey_csv(out), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (survey_xlsx(out), XLSX_TYPE)
    )
    headers = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
    return secured(Response(body, media_type=media, headers=headers))
