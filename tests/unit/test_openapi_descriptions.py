"""An integrator reads /docs: every field of every documented body says what it means."""

from __future__ import annotations

from typing import Any

from services.api.app import create_app
from shared.core.settings import Settings
from tests.factories import ADMIN_TOKEN

# FHIR's own resource (its fields are FHIR's, documented by the FHIR specification).
FOREIGN_MODELS = {"OperationOutcome"}


def test_every_field_of_every_schema_has_a_description() -> None:
    app = create_app(Settings(database_url="postgresql://unused/unused", admin_token=ADMIN_TOKEN))
    schemas: dict[str, Any] = app.openapi()["components"]["schemas"]
    bare = {
        f"{name}.{field}"
        for name, schema in schemas.items()
        if name not in FOREIGN_MODELS
        for field, prop in schema.get("properties", {}).items()
        if "description" not in prop
    }
    assert bare == set()


def test_work_list_items_document_why_they_are_listed() -> None:
    app = create_app(Settings(database_url="postgresql://unused/unused", admin_token=ADMIN_TOKEN))
    item = app.openapi()["components"]["schemas"]["PendingItem"]["properties"]
    assert {"reason", "detail", "hospital_name", "care_office_name", "due_date"} <= item.keys()
    assert "coordination_due_before_planned_discharge" in str(item["reason"])
