"""Every timestamp a response model can send goes out on the Tokyo clock (+09:00, api.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from services.api.app import create_app
from shared.core.settings import Settings
from shared.episodes.work_schemas import FlagOut
from shared.rules.timestamps import in_tokyo
from tests.factories import ADMIN_TOKEN


def response_models() -> Iterator[tuple[str, type[BaseModel]]]:
    app = create_app(Settings(database_url="postgresql://unused/unused", admin_token=ADMIN_TOKEN))
    for route in (ctx.original_route for ctx in iter_route_contexts(app.routes)):
        if not isinstance(route, APIRoute):
            continue
        extra = [r.get("model") for r in route.responses.values() if isinstance(r, dict)]
        for model in (route.response_model, *extra):
            if isinstance(model, type) and issubclass(model, BaseModel):
                assert route.methods is not None  # an APIRoute always has its methods
                yield f"{sorted(route.methods)} {route.path}", model


def datetime_schemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every `datetime` node of a pydantic core schema, definitions included."""
    if isinstance(schema, dict):
        if schema.get("type") == "datetime":
            yield schema
        for name, value in schema.items():
            if name != "return_schema":  # what the serializer returns, not a field
                yield from datetime_schemas(value)
    elif isinstance(schema, list | tuple):
        for value in schema:
            yield from datetime_schemas(value)


def test_every_response_timestamp_is_serialized_in_tokyo_time() -> None:
    checked = 0
    for name, model in response_models():
        for node in datetime_schemas(model.__pydantic_core_schema__):
            checked += 1
            serializer = node.get("serialization", {})
            assert serializer.get("function") is in_tokyo, f"{name}: {model.__name__} uses datetime"
    assert checked >= 10  # events, episodes, flags, api keys, audit, set-aside episodes


def test_a_utc_timestamp_reads_plus_nine_hours() -> None:
    flag = FlagOut.model_validate(
        {
            "id": "00000000-0000-0000-0000-000000000001",
            "kind": "admission_info_overdue",
            "episode_id": "00000000-0000-0000-0000-000000000002",
            "hospital_id": "H1",
            "party_org_id": "C1",
            "since": datetime(2024, 6, 3, 15, 0, tzinfo=UTC),
            "raised_at": datetime(2024, 6, 3, 15, 0, tzinfo=UTC),
            "cleared_at": None,
            "cleared_reason": None,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "acknowledgement_note": None,
            "detail": {},
        }
    )
    body = flag.model_dump(mode="json")
    assert (body["since"], body["raised_at"]) == ("2024-06-04T00:00:00+09:00",) * 2
