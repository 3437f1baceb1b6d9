"""The route class of every router: authentication, then authorization, then validation (api.md).

FastAPI solves a route's dependencies (the key, the role) before it validates parameters and
body, except one step: it decodes the JSON body first, so a malformed body without a key was a
422 instead of a 401. Here the body decodes to a marker instead of raising; the dependencies run
as usual (401, 403), and only then does the marker fail the body's model, which the validation
handler turns into the 400 for undecodable JSON (services.api.errors).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute

from services.api.errors import UNPARSEABLE_BODY, UNSUPPORTED_BODY, Problem, field_error

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA: Final = frozenset({"application/json"})


class _Unparseable:
    """Stands for a body that is not UTF-8 JSON; no body model accepts it."""

    __slots__ = ()


UNPARSEABLE: Final = _Unparseable()


def media_problem(
    content_type: str | None, body: bytes, accepted: frozenset[str] = JSON_MEDIA
) -> str | None:
    """Why a body is not ``application/json`` in UTF-8 (api.md: 415); None when it is.

    An empty body is left to validation (it says which body is missing).
    """
    if not body:
        return None
    media, *params = (content_type or "").split(";")
    if media.strip().lower() not in accepted:
        return "Send the body as JSON with `Content-Type: application/json` (UTF-8)."
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return "The body must be UTF-8 JSON; send `charset=utf-8` or no charset."
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The body is not UTF-8; send JSON encoded as UTF-8."
    return None


class AuthFirstRequest(Request):
    """A request whose body, if undecodable or not JSON, is reported after the auth dependencies.

    A route that reads the raw body itself (no body model) gets the 415 when it reads it, so
    after its dependencies; a body model gets it from the validation handler.
    """

    async def json(self) -> Any:
        if self.scope.get(UNSUPPORTED_BODY):
            return UNPARSEABLE
        try:
            return await super().json()
        except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
            self.scope[UNPARSEABLE_BODY] = True
            return UNPARSEABLE

    async def raw_json_body(self) -> bytes:
        """The body of a route that reads it itself: a 415 unless it is UTF-8 JSON."""
        problem = self.scope.get(UNSUPPORTED_BODY)
        if problem:
            raise Problem(415, problem, errors=[field_error(["header", "content-type"], problem)])
        return await self.body()


class AuthFirstRoute(APIRoute):
    """Every operation checks the key and the role before it looks at the input."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        content = (self.openapi_extra or {}).get("requestBody", {}).get("content", {})
        accepted = frozenset(m for m in content if m.endswith("json"))
        if self.body_field is not None:
            accepted = JSON_MEDIA

        async def auth_first(request: Request) -> Response:
            wrapped = AuthFirstRequest(request.scope, request.receive)
            if accepted and request.method in BODY_METHODS:
                body = await wrapped.body()
                problem = media_problem(request.headers.get("content-type"), body, accepted)
                if problem:
                    request.scope[UNSUPPORTED_BODY] = problem
            return await handler(wrapped)

        return auth_first
