"""FHIR R4: POST /fhir/r4/$process-message (Da Vinci notifications) and GET /fhir/r4/metadata.

Everything under /fhir/ answers in FHIR terms: errors of this router (401, 403, 422, 503 …)
are OperationOutcome resources as application/fhir+json, never problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.deps import PrincipalDep, SessionDep, intake, require_roles
from services.api.errors import FHIR_JSON, Problem, is_database_unavailable
from services.api.observability import count_message
from services.api.routing import AuthFirstRoute
from shared.interop.fhir.outcome import operation_outcome
from shared.interop.fhir_service import record_fhir_bundle

logger = logging.getLogger("handover.api.fhir")
ISSUE_CODES: Final = {401: "login", 403: "forbidden", 404: "not-found", 429: "throttled"}
DAVINCI_MESSAGE_DEFINITION: Final = (
    "http://hl7.org/fhir/us/davinci-alerts/MessageDefinition/notifications-messagedefinition"
)


Headers = dict[str, str] | None


def fhir_response(status: int, body: dict[str, Any], headers: Headers = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _error(status: int, code: str, diagnostics: str, headers: Headers = None) -> JSONResponse:
    return fhir_response(status, operation_outcome("error", code, diagnostics), headers)


class FhirRoute(AuthFirstRoute):
    """Auth before body as everywhere, and every error of the route as an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_fhir(request: Request) -> Response:
            try:
                return await handler(request)
            except Problem as exc:
                code = ISSUE_CODES.get(exc.status, "processing")
                return _error(exc.status, code, exc.detail, exc.headers)
            except StarletteHTTPException as exc:
                headers = dict(exc.headers) if exc.headers else None
                return _error(exc.status_code, "processing", str(exc.detail), headers)
            except RequestValidationError:
                return _error(400, "invalid", "The body is not a FHIR JSON resource.")
            except (DBAPIError, OSError) as exc:
                if not is_database_unavailable(exc):
                    raise
                logger.warning("database unavailable on %s", request.url.path)
                return _error(503, "transient", "The database is unavailable; retry later.",
                              {"Retry-After": "5"})  # fmt: skip

        return as_fhir


router = APIRouter(route_class=FhirRoute, prefix="/fhir/r4", tags=["hospital system messages"])
# The Da Vinci IG's admit-notification-message-bundle-01, reduced to what is read.
BUNDLE_EXAMPLE: Final = {
    "resourceType": "Bundle",
    "id": "admit-notification-message-bundle-01",
    "type": "message",
    "timestamp": "2020-08-17T17:15:12.011868Z",
    "entry": [
        {
            "fullUrl": "urn:uuid:31ab7fe2-e0ad-11ea-bf7c-864d2e68a322",
            "resource": {
                "resourceType": "MessageHeader",
                "id": "31ab7fe2-e0ad-11ea-bf7c-864d2e68a322",
                "eventCoding": {
                    "system": "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event",
                    "code": "notification-admit",
                },
                "source": {"endpoint": "https://example.org/Endpoints/P456"},
                "focus": [{"reference": "urn:uuid:5fe62cd5-bfcf-4d3b-a1e9-80d6f75d6f82"}],
            },
        },
        {
            "fullUrl": "urn:uuid:5fe62cd5-bfcf-4d3b-a1e9-80d6f75d6f82",
            "resource": {
                "resourceType": "Encounter",
                "id": "5fe62cd5-bfcf-4d3b-a1e9-80d6f75d6f82",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "identifier": [{"system": "http://example.org", "value": "V-0001"}],
                "subject": {"reference": "urn:uuid:06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b"},
                "period": {"start": "2024-06-03T10:00:00+09:00"},
            },
        },
        {
            "fullUrl": "urn:uuid:06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b",
            "resource": {
                "resourceType": "Patient",
                "id": "06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b",
                "identifier": [{"system": "http://hospital.example/mrn", "value": "P12345"}],
                "name": [{"family": "山田", "given": ["花子"]}],
            },
        },
    ],
}
BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A Bundle of type message: MessageHeader first, eventCoding from the Da"
        " Vinci notification-event code system, focus on an Encounter in the bundle",
        "content": {
            FHIR_JSON: {"schema": {"type": "object"}, "example": BUNDLE_EXAMPLE},
            "application/json": {"schema": {"type": "object"}, "example": BUNDLE_EXAMPLE},
        },
    }
}


@router.post(
    "/$process-message",
    dependencies=[require_roles("hospital")],
    openapi_extra=BUNDLE_BODY,
    response_class=JSONResponse,
    responses={
        200: {
            "description": "OperationOutcome, severity information: stored or duplicate",
            "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
        },
        400: {"description": "The body is not JSON"},
        422: {"description": "Not a valid notification Bundle: `expression` names the element"},
    },
)
async def process_message(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    """Record a Da Vinci admit/discharge notification (transfer: nothing to record) sent by this
    key's hospital; answered with an OperationOutcome."""
    result = await record_fhir_bundle(
        session, await request.body(), principal=principal, **intake(request)
    )
    count_message("fhir", result)
    return fhir_response(result.status_code, result.body)


def capability_statement(base_url: str) -> dict[str, Any]:
    """What this server does in FHIR: receive notification messages, nothing else."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-02",
        "publisher": "handover",
        "kind": "instance",
        "software": {"name": "handover"},
        "implementation": {
            "description": "Handover (入退院支援ルール): admission and discharge notifications in",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Authorization: Bearer <hospital API key>"},
                "operation": [
                    {
                        "name": "process-message",
                        "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
                    }
                ],
            }
        ],
        "messaging": [
            {
                "documentation": "Da Vinci Unsolicited Notifications: notification-admit and"
                " notification-discharge are recorded; notification-transfer is accepted",
                "supportedMessage": [
                    {"mode": "receiver", "definition": DAVINCI_MESSAGE_DEFINITION}
                ],
            }
        ],
    }


@router.get(
    "/metadata",
    response_class=JSONResponse,
    responses={200: {"description": "The CapabilityStatement", "content": {FHIR_JSON: {}}}},
)
async def metadata(request: Request) -> JSONResponse:
    """The server's CapabilityStatement (FHIR 4.0.1): $process-message for notifications."""
    return fhir_response(200, capability_statement(str(request.base_url).rstrip("/") + "/fhir/r4"))
