"""The OpenAPI document declares the bounds the validation enforces, and means the same by them.

Each declared pattern is checked, with a JSON Schema validator (the one schemathesis uses),
against the service's own validator on the same strings: what one refuses the other refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from pydantic import TypeAdapter, ValidationError

from services.api.app import create_app
from shared.core.settings import Settings
from shared.rules.bounds import BoundedDate, BoundedMonth, BoundedTimestamp
from shared.rules.events import DisplayName, EncounterRef, Note

DOCUMENT = create_app(Settings(database_url="postgresql://unused/unused")).openapi()
SCHEMAS = DOCUMENT["components"]["schemas"]


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in DOCUMENT["paths"].items()
            for method, op in ops.items()]  # fmt: skip


def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The string branch of an optional (anyOf string/null) schema."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            return dict(branch)
    raise AssertionError(schema)


def test_every_list_declares_the_cursors_alphabet_and_length() -> None:
    lists = 0
    for path, method, op in _operations():
        for param in op.get("parameters", []):
            if param["name"] == "cursor":
                lists += 1
                assert param["schema"]["pattern"] == "^[A-Za-z0-9_-]*$", (method, path)
                assert param["schema"]["maxLength"] == 1024, (method, path)
                assert "empty" in param["description"], (method, path)
    assert lists >= 7


def test_every_operation_taking_a_json_body_documents_415() -> None:
    for path, method, op in _operations():
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            assert "415" in op["responses"], (method, path)


def test_no_organization_id_the_schema_allows_is_reserved() -> None:
    schema = SCHEMAS["OrganizationIn"]["properties"]["id"]
    validator = jsonschema_rs.validator_for(schema)
    for value in ("admin", "ADMIN", "aDmIn"):
        assert not validator.is_valid(value)
    assert validator.is_valid("admin2")


def _agrees(schema: dict[str, Any], accepts: Callable[[str], bool], samples: list[str]) -> None:
    validator = jsonschema_rs.validator_for(schema)
    for sample in samples:
        assert validator.is_valid(sample) == accepts(sample), (schema.get("pattern"), sample)


def _accepts(kind: Any) -> Callable[[str], bool]:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def accepts(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return accepts


TEXT = [
    "テスト 太郎",
    "a\u3000b",
    "x\x00",
    "x\u202ey",
    "x\ty",
    "x\ny",
    "x\u2028",
    "\u0085",
    "\u00ad",
    "é",
]  # assigned BMP characters


@pytest.mark.parametrize("kind", [DisplayName, EncounterRef, Note])
def test_text_patterns_refuse_what_the_validators_refuse(kind: Any) -> None:
    schema = _string_schema(TypeAdapter(kind).json_schema())
    _agrees(schema, _accepts(kind), TEXT)


def test_date_month_and_timestamp_patterns_take_ascii_digits_in_the_years_served() -> None:
    dates = ["2024-06-03", "２０２４-06-03", "1999-12-31", "2024-13-01", "2024-6-3"]
    _agrees(_string_schema(TypeAdapter(BoundedDate).json_schema()), _accepts(BoundedDate), dates)
    months = ["2024-06", "２０２４-06", "2024-０6", "1999-12", "2024-13", "2024-6"]
    _agrees(_string_schema(TypeAdapter(BoundedMonth).json_schema()), _accepts(BoundedMonth),
            months)  # fmt: skip
    stamps = ["2024-06-03T10:15:00+09:00", "2024-06-03T10:15:00.5Z", "2024-06-03T10:15:00",
              "２０２４-06-03T10:15:00+09:00", "1999-12-31T23:59:59+09:00"]  # fmt: skip
    _agrees(_string_schema(TypeAdapter(BoundedTimestamp).json_schema(mode="validation")),
            _accepts(BoundedTimestamp), stamps)  # fmt: skip
