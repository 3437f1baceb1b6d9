"""Screens for people (/ui, Japanese): server-rendered pages over the same domain services."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from services.api.ui import (
    access_log,
    account,
    auth,
    dashboard,
    enrol,
    flag_pages,
    people,
    sheets,
    signin,
    work,
    work_list,
)
from services.api.ui.pages import (
    HERE,
    LoginRequired,
    UiForbidden,
    UiTooManyRequests,
    redirect,
    render,
)
from services.api.ui.session import Signer


def install_ui(app: FastAPI) -> None:
    """Mount the screens and their static files on the app (`GET /` leads here: app.HOME_URL)."""
    app.state.ui_signer = Signer(app.state.settings)
    for router in (signin.router, enrol.router, account.router, people.router, auth.router,
                   dashboard.router, work_list.router, flag_pages.router, work.router,
                   sheets.router, access_log.router):  # fmt: skip
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, _exc: LoginRequired) -> Response:
        return redirect("/ui/login")

    @app.exception_handler(UiForbidden)
    async def forbidden(request: Request, exc: UiForbidden) -> Response:
        return render(request, "forbidden.html", status=403, message=exc.message, caller=None)

    @app.exception_handler(UiTooManyRequests)
    async def too_many(request: Request, exc: UiTooManyRequests) -> Response:
        response = render(request, "forbidden.html", status=429, message=exc.message, caller=None)
        response.headers["Retry-After"] = str(exc.wait)
        return response
