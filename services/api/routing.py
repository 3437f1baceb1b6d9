"""The route class of every router: authentication, then authorization, then validation (api.md).

FastAPI solves a route's dependencies (the key, the role) before it validates parameters and
body, except one step: it decodes the JSON body first, so a malformed body without a key was a
422 instead of a 401. Here the body decodes to a marker instead of raising, and a body that is
not ``application/json`` in UTF-8 is only noted; the dependencies run as usual (401, 403), and
a last dependency then refuses the body: 415 when it is not UTF-8 JSON, 400 when it does not
parse (even where every field of the body's model is optional, so the marker would pass).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final, get_type_hints

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

from services.api.errors import (
    NOT_JSON,
    UNPARSEABLE_BODY,
    UNSUPPORTED_BODY,
    Problem,
    field_error,
)

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA: Final = frozenset({"application/json"})
BODY_CHECK: Final = "_readable_body"  # the parameter that carries refuse_unreadable_body


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
    """A request whose body, if undecodable or not UTF-8 JSON, is refused after the auth
    dependencies (``refuse_unreadable_body``)."""

    async def json(self) -> Any:
        if self.scope.get(UNSUPPORTED_BODY):
            return UNPARSEABLE
        try:
            return await super().json()
        except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
            self.scope[UNPARSEABLE_BODY] = True
            return UNPARSEABLE


async def refuse_unreadable_body(request: Request) -> None:
    """The route's last dependency, so after the key and the role: 415, then 400, or nothing."""
    problem = request.scope.get(UNSUPPORTED_BODY)
    if problem:
        raise Problem(415, problem, errors=[field_error(["header", "content-type"], problem)])
    if request.scope.get(UNPARSEABLE_BODY):
        raise Problem(400, NOT_JSON)


def _body_checked_last(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint with ``refuse_unreadable_body`` as its last parameter's dependency.

    FastAPI solves dependencies in the order of the parameters, so it runs after the key and
    the role, wherever the route gets them from. The annotations are resolved here, in the
    endpoint's own module, so FastAPI reads the same signature it would have read.
    """
    if not inspect.iscoroutinefunction(endpoint):
        return endpoint
    hints = get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    parameters = [p.replace(annotation=hints.get(p.name, p.annotation))
                  for p in signature.parameters.values()]  # fmt: skip
    last = inspect.Parameter(
        BODY_CHECK,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[None, Depends(refuse_unreadable_body)],
        default=None,
    )

    @functools.wraps(endpoint)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop(BODY_CHECK, None)
        return await endpoint(*args, **kwargs)

    checked.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*parameters, last],
        return_annotation=hints.get("return", signature.return_annotation),
    )
    return checked


class AuthFirstRoute(APIRoute):
    """Every operation checks the key and the role before it looks at the input."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _body_checked_last(endpoint), **kwargs)

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
