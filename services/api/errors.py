"""Every error is application/problem+json (RFC 9457): what went wrong and what to fix."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.core.db import is_transient_conflict, sqlstate
from shared.core.pagination import BadCursor
from shared.interop.fhir.outcome import operation_outcome

logger = logging.getLogger("handover.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
FHIR_PREFIX = "/fhir/"  # everything under it answers OperationOutcome (services.api.routers.fhir)
FHIR_JSON = "application/fhir+json"
UNPARSEABLE_BODY = "handover.unparseable_body"  # scope key set by services.api.routing
UNSUPPORTED_BODY = "handover.unsupported_body"  # the same, for a body that is not UTF-8 JSON
NOT_JSON = "The body is not valid UTF-8 JSON."
UNSTORABLE_TEXT = "22021"  # character_not_in_repertoire: PostgreSQL text cannot hold NUL
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FieldError(BaseModel):
    """One field to fix: where it is and what is wrong (never the value sent)."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then field names and indexes",
        examples=[["body", "occurred_at"]],
    )
    msg: str = Field(description="What is wrong, in English", examples=["Field required"])


class ProblemDocument(BaseModel):
    """The body of every error (RFC 9457 problem details), as the OpenAPI document shows it."""

    model_config = ConfigDict(
        title="Problem",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://handover.example/problems/422",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "The request is invalid; see errors for each field to fix.",
                    "errors": [{"loc": ["body", "occurred_at"], "msg": "Field required"}],
                }
            ]
        },
    )

    type: str = Field(description="A URI naming the kind of problem (one per status)")
    title: str = Field(description="The status's reason phrase")
    status: int = Field(description="The HTTP status, repeated")
    detail: str = Field(description="What went wrong and what to change, for a person to read")
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="Validation problems only: each field to fix"
    )


def problem_body(
    status: int, detail: str, errors: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The one shape of an error body (see ``ProblemDocument``)."""
    body: dict[str, Any] = {
        "type": f"https://handover.example/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return body


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers


def field_error(loc: Sequence[str | int], msg: str) -> dict[str, Any]:
    """One entry of a validation problem's ``errors`` list."""
    return {"loc": list(loc), "msg": msg}


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one way a problem+json response is built."""
    body = problem_body(status, detail, errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors reduced to field path and message: never the input (it may be personal)."""
    return [
        field_error([str(p) if not isinstance(p, int) else p for p in e["loc"]], e["msg"])
        for e in raw
    ]


# SQLSTATEs that mean "PostgreSQL cannot serve now", whatever the driver's exception class:
# connection exceptions (class 08), the server shutting down, crashed or starting up (57P01
# admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), too many connections.
# asyncpg's errors reach SQLAlchemy as a plain DBAPIError, so the class alone is not enough.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08"})
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# 55000 object_not_in_prerequisite_state is an outage only as "database ... is not currently
# accepting connections" (ALTER DATABASE ... ALLOW_CONNECTIONS false, a maintenance window).
NOT_ACCEPTING_CONNECTIONS = ("55000", "not currently accepting connections")


def is_database_unavailable(exc: BaseException) -> bool:
    """The database is down or refusing connections: an outage (503), not a bug (500)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = sqlstate(exc)
        if code is not None and (code[:2] in OUTAGE_SQLSTATE_CLASSES or code in OUTAGE_SQLSTATES):
            return True
        if code == NOT_ACCEPTING_CONNECTIONS[0] and NOT_ACCEPTING_CONNECTIONS[1] in str(exc.orig):
            return True
    return isinstance(exc, OSError | TimeoutError | ConnectionError)


def unavailable_response() -> JSONResponse:
    return problem_response(
        503, "The database is unavailable; retry later.", headers={"Retry-After": "5"}
    )


def internal_error_response(method: str, path: str, exc: BaseException) -> JSONResponse:
    """The last resort: 503 for an outage, else a logged 500 that says nothing of the cause.

    Logged: the exception's type and where it was raised (file, line, function), never its
    message or local values, which may hold a patient's data.
    """
    if is_database_unavailable(exc):
        logger.warning("database unavailable on %s %s", method, path)
        return unavailable_response()
    frames = "; ".join(
        f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)
    )
    logger.error("unhandled %s on %s %s at %s", type(exc).__name__, method, path, frames)
    return problem_response(500, "An internal error occurred; it has been logged.")


class UnhandledErrorMiddleware:
    """Answer an unhandled exception with problem+json itself, without re-raising it.

    Starlette's ServerErrorMiddleware sends the 500 and then re-raises, and uvicorn closes the
    keep-alive connection on a raised exception: the client's next request on it failed. Here
    the exception ends with the response, so the connection stays usable. If the response had
    already started, nothing valid can be sent any more: the exception goes on to the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            response = internal_error_response(scope["method"], scope["path"], exc)
            await response(scope, receive, send)


async def on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)


async def on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:  # every method of the path, not only one route's
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    if request.url.path.startswith(FHIR_PREFIX):  # 404, 405 under /fhir/: FHIR's own shape
        body = operation_outcome("error", "not-supported", detail)
        return JSONResponse(body, exc.status_code, headers=headers, media_type=FHIR_JSON)
    return problem_response(exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette names only the first route's)."""
    path = request.url.path
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        route = context.original_route
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if request.scope.get(UNPARSEABLE_BODY):  # reported only now, after authentication
        return problem_response(400, NOT_JSON)
    return problem_response(
        422,
        "The request is invalid; see errors for each field to fix.",
        errors=validation_errors(exc.errors()),
    )


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Reached only for an exception raised outside UnhandledErrorMiddleware (another
    # middleware); Starlette re-raises it after this answer.
    return internal_error_response(request.method, request.url.path, exc)


async def on_bad_cursor(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        400, str(exc), errors=[field_error(["query", "cursor"], "invalid cursor")]
    )


async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # Answered here (Starlette's ExceptionMiddleware) the request ends normally. Left to the
    # catch-all, the exception is re-raised after the 503 is sent and uvicorn drops the
    # keep-alive connection: the client's next request on it fails with a reset.
    if sqlstate(exc) == UNSTORABLE_TEXT:
        return problem_response(422, "A text value contains a NUL character; remove it.")
    if is_transient_conflict(exc):  # still conflicting after the retries: nothing stored
        return problem_response(
            503, "Concurrent updates kept conflicting; retry.", headers={"Retry-After": "1"}
        )
    if not is_database_unavailable(exc):
        raise exc  # a bug, not an outage: UnhandledErrorMiddleware answers 500 and logs it
    logger.warning("database unavailable on %s %s", request.method, request.url.path)
    return unavailable_response()


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to problem+json; the database being down is a 503, never a trace."""
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(BadCursor, on_bad_cursor)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(OSError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
    # Added first, so it is the innermost middleware: the request metrics see its 500.
    app.add_middleware(UnhandledErrorMiddleware)
