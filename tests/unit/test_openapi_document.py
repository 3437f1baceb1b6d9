"""/openapi.json says what the service sends, for every operation, so a new route cannot regress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.api.app import create_app
from services.api.errors import PROBLEM_CONTENT_TYPE
from shared.core.settings import Settings
from tests.factories import ADMIN_TOKEN

Operation = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(database_url="postgresql://unused/unused", admin_token=ADMIN_TOKEN))
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_authenticated_operation_documents_401_429_and_503(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        if operation.get("security"):
            assert {"401", "429", "503"} <= operation["responses"].keys(), name


def test_every_operation_with_input_documents_422_and_every_write_413_and_400(
    document: dict[str, Any],
) -> None:
    for name, operation in operations(document):
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in operation["responses"], name
        if "requestBody" in operation:
            assert {"400", "413"} <= operation["responses"].keys(), name


def test_every_error_response_is_problem_json_with_the_problem_schema(
    document: dict[str, Any],
) -> None:
    """Under /fhir/ every error is an OperationOutcome instead (api.md)."""
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    outcome = {
        "application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    }
    for name, operation in operations(document):
        expected = outcome if " /fhir/" in name else problem
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["description"], f"{name} {status}"
                assert response["content"] == expected, f"{name} {status}"


def test_the_problem_schema_has_the_rfc_9457_members_and_field_errors(
    document: dict[str, Any],
) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    errors = problem["properties"]["errors"]
    assert errors["type"] == "array"
    field_error = resolve(document, errors["items"])
    assert set(field_error["required"]) == {"loc", "msg"}


def test_no_fastapi_validation_error_schema_remains(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert "HTTPValidationError" not in str(document["paths"])


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            schema = resolve(document, media["schema"])
            assert media.get("example") or media.get("examples") or schema.get("examples"), name


def test_no_time_field_declares_an_rfc_3339_time_the_service_refuses(
    document: dict[str, Any],
) -> None:
    """`format: time` requires an offset; office hours are local and refuse one."""
    assert '"format": "time"' not in str(document).replace("'", '"')
    office_opens = document["components"]["schemas"]["RuleSet"]["properties"]["office_opens"]
    assert "pattern" in office_opens
