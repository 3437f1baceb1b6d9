"""api.md's order of checks on every operation: authentication, then authorization, then input.

A request with no key learns nothing about its input (401), one with a key of the wrong role
learns only that the role may not (403), whatever the body, path and query hold.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from services.api.app import create_app
from services.api.routing import AuthFirstRoute
from shared.core.settings import Settings
from tests.factories import Api

pytestmark = pytest.mark.postgres
PUBLIC = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /fhir/r4/metadata"}
# A role each operation refuses (None: every role may call it, so only the 401 applies).
WRONG_ROLE: dict[str, str | None] = {
    "POST /v1/events": "viewer",
    "POST /v1/events:batch": "viewer",
    "GET /v1/episodes/{episode_id}": "viewer",
    "GET /v1/episodes": "viewer",
    "GET /v1/episodes/{episode_id}/sheets": "viewer",
    "GET /v1/episodes/{episode_id}/sheets/{sheet_id}.pdf": "viewer",
    "GET /v1/handovers/pending": "viewer",
    "GET /v1/flags": None,
    "POST /v1/flags/{flag_id}/acknowledge": "viewer",
    "GET /v1/metrics": None,
    "GET /v1/metrics/series": None,
    "GET /v1/reports/survey": "hospital",
    "POST /v1/organizations": "hospital",
    "GET /v1/organizations": None,
    "PATCH /v1/organizations/{org_id}": "hospital",
    "POST /v1/api-keys": "hospital",
    "DELETE /v1/api-keys/{key_id}": "hospital",
    "GET /v1/api-keys": "hospital",
    "POST /v1/users": "hospital",
    "GET /v1/users": "hospital",
    "PATCH /v1/users/{user_id}": "hospital",
    "POST /v1/users/{user_id}/reset": "hospital",
    "GET /v1/admin/set-aside-episodes": "viewer",
    "POST /v1/admin/set-aside-episodes:retry": "viewer",
    "PUT /v1/rule-sets/{region}": "care_office",
    "GET /v1/rule-sets/{region}": None,
    "GET /v1/audit": "viewer",
    "GET /v1/access-log": "hospital",
    "POST /v1/webhooks": "viewer",
    "GET /v1/webhooks": "viewer",
    "GET /v1/webhooks/{webhook_id}": "viewer",
    "PATCH /v1/webhooks/{webhook_id}": "viewer",
    "DELETE /v1/webhooks/{webhook_id}": "viewer",
    "POST /v1/webhooks/{webhook_id}/rotate-secret": "viewer",
    "POST /v1/webhooks/{webhook_id}/ping": "viewer",
    "GET /v1/webhooks/{webhook_id}/deliveries": "viewer",
    "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": "viewer",
    "POST /v1/hl7v2": "care_office",
    "POST /fhir/r4/$process-message": "care_office",
}
BROKEN_BODIES = [b'{"', b"\xff\xfe", b'{"events": 1, "id": null, "note": 5}', b"[]"]


def _routes(settings: Settings) -> dict[str, APIRoute]:
    app = create_app(settings)
    routes = [ctx.original_route for ctx in iter_route_contexts(app.routes)]
    return {
        f"{method} {route.path}": route
        for route in routes
        if isinstance(route, APIRoute) and route.include_in_schema  # not /docs, /redoc, /
        for method in sorted(route.methods or ())  # an APIRoute always has its methods
    }


def test_every_operation_is_listed_and_uses_the_auth_first_route(settings: Settings) -> None:
    routes = _routes(settings)
    assert set(routes) - PUBLIC == set(WRONG_ROLE), "list each new operation in WRONG_ROLE"
    assert all(isinstance(r, AuthFirstRoute) for r in routes.values())


def _params(dependant: Dependant, kind: str) -> set[str]:
    """Names (aliases) of the operation's path or query parameters, dependencies included."""
    names = {p.alias for p in getattr(dependant, f"{kind}_params")}
    for sub in dependant.dependencies:
        names |= _params(sub, kind)
    return names


def _invalid_request(route: APIRoute, method: str, body: bytes) -> dict[str, Any]:
    """Every path and query parameter malformed, and a body that is not the operation's."""
    path = route.path
    for name in _params(route.dependant, "path"):
        path = path.replace("{" + name + "}", "%00not-valid")
    query = dict.fromkeys(_params(route.dependant, "query"), "\u0000not-valid")
    request: dict[str, Any] = {"method": method, "url": path, "params": query}
    if method in ("POST", "PUT", "PATCH"):
        request["content"] = body
        request["headers"] = {"content-type": "application/json"}
    return request


async def _send(client: httpx.AsyncClient, request: dict[str, Any], key: dict[str, str]) -> Any:
    headers = {**request.get("headers", {}), **key}
    return await client.request(
        request["method"],
        request["url"],
        params=request["params"],
        content=request.get("content"),
        headers=headers,
    )


@pytest.mark.parametrize("body", BROKEN_BODIES)
@pytest.mark.parametrize("operation", sorted(WRONG_ROLE))
async def test_no_key_is_401_and_a_wrong_role_is_403_before_any_input_is_checked(
    api: Api, settings: Settings, operation: str, body: bytes
) -> None:
    route = _routes(settings)[operation]
    request = _invalid_request(route, operation.split()[0], body)
    # Under /fhir/ every answer is an OperationOutcome (api.md).
    error_type = "application/fhir+json" if " /fhir/" in operation else "application/problem+json"
    r = await _send(api.client, request, {})
    assert r.status_code == 401, (operation, r.text)
    assert r.headers["content-type"] == error_type
    assert r.headers["www-authenticate"] == "Bearer"
    r = await _send(api.client, request, {"Authorization": "Bearer hk_not-a-key"})
    assert r.status_code == 401, (operation, r.text)
    role = WRONG_ROLE[operation]
    if role is None:
        return
    org = await api.org("municipality" if role == "viewer" else role)
    r = await _send(api.client, request, await api.key(org, role))
    assert r.status_code == 403, (operation, r.text)
    assert r.headers["content-type"] == error_type
    assert "errors" not in r.json()


async def test_undecodable_json_with_a_valid_key_is_400_problem_json(api: Api) -> None:
    headers = {"Authorization": "Bearer test-admin-token-0123456789abcdef",
               "content-type": "application/json"}  # fmt: skip
    for method, path in [
        ("POST", "/v1/events"),
        ("POST", "/v1/events:batch"),
        ("POST", "/v1/organizations"),
        ("POST", "/v1/api-keys"),
        ("POST", "/v1/users"),
        ("PUT", f"/v1/rule-sets/{api.region}"),
        ("POST", "/v1/flags/00000000-0000-0000-0000-000000000000/acknowledge"),
    ]:
        r = await api.client.request(method, path, content=b'{"', headers=headers)
        assert r.status_code == 400, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "The body is not valid UTF-8 JSON."
        r = await api.client.request(method, path, content=b"\xff\xfe", headers=headers)
        assert r.status_code == 415, (path, r.text)  # api.md: JSON bodies are UTF-8
        assert r.headers["content-type"] == "application/problem+json"
