"""POST /v1/events and /v1/events:batch: hospitals and care offices record handover events."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.deps import PrincipalDep, SessionDep, intake, require_roles
from services.api.errors import NOT_JSON, Problem
from services.api.observability import count_ingested
from services.api.routing import AuthFirstRoute
from shared.access.principal import POSTING_ROLES
from shared.core import unit_of_work
from shared.events.recording import BATCH, ONE_EVENT, STORED, created_types, kept, record
from shared.events.schemas import BatchIn, BatchOut, EventAccepted

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1", tags=["events"])
EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
    }
}
POSTERS = require_roles(*sorted(POSTING_ROLES))  # type: ignore[arg-type]


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, NOT_JSON) from exc


@router.post(
    "/events",
    status_code=201,
    response_model=EventAccepted,
    openapi_extra=EVENT_BODY,
    dependencies=[POSTERS],
    responses={
        200: {"model": EventAccepted, "description": "Identical replay (duplicate)"},
        400: {"description": "The body is not valid JSON"},
        403: {
            "description": "A hospital key posting for another hospital, a care-office key posting"
            " a hospital-only type, or a care office that is not a party to the episode"
        },
        409: {"description": "event_id reused with a different body"},
        422: {
            "description": "Unknown type, missing field, bad code, timestamp without offset, a"
            " discharge before the admission, a cancel of an unknown event, an unknown organization"
        },
    },
)
async def post_event(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    """Record one handover event (idempotent on `event_id`)."""
    raw = await _json_body(request)
    recorded = await unit_of_work.run(
        session, lambda: record(session, [raw], principal, ONE_EVENT, **intake(request)), keep=kept
    )
    outcome = recorded.outcomes[0]
    if outcome.status not in STORED:
        raise Problem(outcome.http_status, outcome.detail, errors=outcome.errors or None)
    count_ingested(created_types([raw], [outcome]))
    body = EventAccepted(
        event_id=outcome.event_id,
        episode_id=outcome.episode_id,
        duplicate=outcome.status == "duplicate",
        recorded_at=outcome.recorded_at,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=outcome.http_status)


@router.post("/events:batch", response_model=BatchOut, dependencies=[POSTERS])
async def post_events_batch(
    request: Request,
    batch: BatchIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> JSONResponse:
    """Record up to 1000 events in order; each item answers on its own, valid ones are stored."""
    events = batch.events
    recorded = await unit_of_work.run(
        session, lambda: record(session, events, principal, BATCH, **intake(request)), keep=kept
    )
    outcomes = recorded.outcomes
    count_ingested(created_types(batch.events, outcomes))
    # Plain dicts in BatchOut's shape, not models (docs/performance.md; tests validate BatchOut).
    results = [
        {"event_id": o.event_id, "status": o.status,
         "episode_id": None if o.episode_id is None else str(o.episode_id),
         "error": o.detail or None, "errors": o.errors or None}
        for o in outcomes
    ]  # fmt: skip
    return JSONResponse({"results": results})
