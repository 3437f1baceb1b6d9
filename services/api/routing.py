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

from services.api.errors import UNPARSEABLE_BODY


class _Unparseable:
    """Stands for a body that is not UTF-8 JSON; no body model accepts it."""

    __slots__ = ()


UNPARSEABLE: Final = _Unparseable()


class AuthFirstRequest(Request):
    """A request whose JSON body, if undecodable, is reported after the auth dependencies."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
            self.scope[UNPARSEABLE_BODY] = True
            return UNPARSEABLE


class AuthFirstRoute(APIRoute):
    """Every operation checks the key and the role before it looks at the input."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def auth_first(request: Request) -> Response:
            return await handler(AuthFirstRequest(request.scope, request.receive))

        return auth_first
