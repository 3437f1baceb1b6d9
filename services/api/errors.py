"""Every error is application/problem+json (RFC 9457): what went wrong and what to fix."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_transient_conflict, sqlstate

logger = logging.getLogger("handover.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
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


def _is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError | TimeoutError | ConnectionError)


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to problem+json; the database being down is a 503, never a trace."""

    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, detail, headers=headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            422,
            "The request is invalid; see errors for each field to fix.",
            errors=validation_errors(exc.errors()),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _is_database_unavailable(exc):
            logger.warning("database unavailable on %s %s", request.method, request.url.path)
            return problem_response(
                503, "The database is unavailable; retry later.", headers={"Retry-After": "5"}
            )
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem_response(500, "An internal error occurred; it has been logged.")

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
        if not _is_database_unavailable(exc):
            raise exc  # a bug, not an outage: the catch-all answers 500 and the trace is logged
        return await on_unexpected(request, exc)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(OSError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
