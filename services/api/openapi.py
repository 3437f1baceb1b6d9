"""The OpenAPI document: the event union under components, and every error each route can answer.

Error statuses are computed here from what a route depends on, so a new route documents them by
being written: the API key (401, 429), a role check (403), a body (413, 400), a `cursor` (400),
parameters or a body (422), a `*_id` path parameter naming a resource (404), the database session
(503). A route adds only what its own code raises, as ``responses={409: {"description": ...}}``.
Every error is ``application/problem+json`` with the ``Problem`` schema; FastAPI's
``HTTPValidationError`` is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from services.api.deps import RoleCheck, get_principal, get_session
from services.api.errors import FHIR_JSON, FHIR_PREFIX, PROBLEM_CONTENT_TYPE, ProblemDocument
from services.api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, UNLIMITED_METHODS
from shared.access.principal import ROLES
from shared.core.pagination import BAD_CURSOR
from shared.rules.events import EVENT_ADAPTER
from shared.sheets.documents import SHEET_ADAPTER, SHEET_CARRIERS

REF = "#/components/schemas/{model}"
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
HEADERS = {401: WWW_AUTHENTICATE, 429: RETRY_AFTER, 503: RETRY_AFTER}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency the route runs, its sub-dependencies included."""
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def inferred_errors(route: RouteContext, operation: dict[str, Any]) -> dict[int, list[str]]:
    """The error statuses a route answers because of what it depends on, each with why."""
    calls = list(_calls(route.dependant))
    found: dict[int, list[str]] = {}
    if get_principal in calls:
        found[401] = ["The API key is missing, unknown or revoked"]
        found[429] = ["This key sent too many requests; wait `Retry-After` seconds"]
    for check in calls:
        if isinstance(check, RoleCheck) and set(check.roles) != set(ROLES):
            found.setdefault(403, []).append(f"Only {', '.join(check.roles)} keys may do this")
    if set(route.methods or ()) - UNLIMITED_METHODS:
        found[413] = [f"The body is larger than {MAX_BODY_BYTES} bytes"]
        found[400] = [f"The body's JSON nests deeper than {MAX_JSON_DEPTH} levels, or is not JSON"]
    if any(param.alias == "cursor" for param in route.dependant.query_params):
        found.setdefault(400, []).append(f"`cursor` is not valid: {BAD_CURSOR}")
    body_media = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body_media:
        found[415] = ["The body is not `application/json` in UTF-8 (say so in `Content-Type`)"]
    if "requestBody" in operation or operation.get("parameters"):
        found[422] = ["The request is invalid: `errors` names each field to fix"]
    if any(param.name.endswith("_id") for param in route.dependant.path_params):
        found[404] = ["No such resource is visible to this key"]
    if get_session in calls:
        found[503] = ["The database is unavailable, or updates kept conflicting; retry"]
    return found


OPERATION_OUTCOME = {
    "title": "OperationOutcome",
    "description": "FHIR R4 OperationOutcome: every answer under /fhir/, errors included",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"enum": ["information", "warning", "error", "fatal"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "examples": [
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "required",
                    "diagnostics": "Encounter.period.start is required, with a time and an offset",
                    "expression": ["Bundle.entry[1].resource.period.start"],
                }
            ],
        }
    ],
}


def _error_content(route: RouteContext) -> dict[str, Any]:
    """problem+json, except under /fhir/ where errors are OperationOutcome resources."""
    if (route.path_format or "").startswith(FHIR_PREFIX):
        return {FHIR_JSON: {"schema": {"$ref": REF.format(model="OperationOutcome")}}}
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}}


def error_responses(route: RouteContext, operation: dict[str, Any]) -> dict[str, Any]:
    """Inferred and route-declared errors, each as a problem+json response."""
    reasons = inferred_errors(route, operation)
    for status, declared in route.responses.items():
        if int(status) >= 400:
            reasons.setdefault(int(status), []).append(declared.get("description", ""))
    responses: dict[str, Any] = {}
    for status in sorted(reasons):
        response: dict[str, Any] = {
            "description": "; ".join(filter(None, reasons[status])) or "Error",
            "content": _error_content(route),
        }
        if status in HEADERS:
            response["headers"] = HEADERS[status]
        responses[str(status)] = response
    return responses


def _document_errors(schema: dict[str, Any], routes: list[RouteContext]) -> None:
    """Replace every operation's error responses with the computed problem+json ones."""
    for route in routes:
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            kept = {k: v for k, v in operation["responses"].items() if int(k) < 400}
            operation["responses"] = kept | error_responses(route, operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for fastapi_default in ("HTTPValidationError", "ValidationError"):
        components.pop(fastapi_default, None)
    problem = ProblemDocument.model_json_schema(ref_template=REF)
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    components["OperationOutcome"] = OPERATION_OUTCOME


def _document_sheets(components: dict[str, Any]) -> None:
    """The sheets' schemas, and ``sheet`` on the event types that carry one (api.md "Sheets")."""
    sheet = SHEET_ADAPTER.json_schema(ref_template=REF)
    components.update(sheet.pop("$defs", {}))
    for event_schema, kind_schema in SHEET_CARRIERS.items():
        properties = components[event_schema].setdefault("properties", {})
        properties["sheet"] = {
            "anyOf": [{"$ref": REF.format(model=kind_schema)}, {"type": "null"}],
            "description": "The sheet this event carries (optional): encrypted at rest, shown "
            "only to the stay's parties at GET /v1/episodes/{episode_id}/sheets",
        }


def install_openapi(app: FastAPI) -> None:
    """Generate once, adding the ``Event`` schema and the computed error responses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        event = EVENT_ADAPTER.json_schema(ref_template=REF)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(event.pop("$defs", {}))
        components["Event"] = event
        _document_sheets(components)
        routes = [
            r
            for r in iter_route_contexts(app.routes)
            if isinstance(r.original_route, APIRoute) and r.include_in_schema
        ]
        _document_errors(schema, routes)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
