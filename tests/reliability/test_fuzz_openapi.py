"""Schemathesis against the live API's own /openapi.json: it says what the service sends.

Valid and invalid inputs for every operation, sent with an admin key to a uvicorn process. Every
answer is checked against the document: no 5xx, the status is documented, the content type and
headers are the documented ones and the body validates against the documented schema (formats
included); every 4xx is problem+json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import OperationConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.app import create_app
from shared.core.settings import Settings
from tests.factories import ADMIN_TOKEN
from tests.reliability.harness import ApiServer, api_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@schemathesis.serializer("application/hl7-v2", "x-application/hl7-v2+er7")
def _er7(_ctx: Any, value: Any) -> bytes:
    """An HL7 v2 body is text (negative cases may generate other JSON values: sent as JSON)."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per operation, fuzzing phase
# The coverage phase's boundary cases of the ten-type event union are ~1,000 per event-posting
# operation, over half the run; fuzzing still sends those two operations EXAMPLES cases each.
FULL_COVERAGE = os.environ.get("FUZZ_COVERAGE") == "all"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    log = Path(tmp_path_factory.mktemp("fuzz")) / "api.log"
    with api_server(database_url, database_url, log) as server:
        yield server


def _schema() -> schemathesis.BaseSchema:
    """The app's own OpenAPI document (building the app connects to nothing)."""
    app = create_app(Settings(database_url="postgresql://unused/unused", admin_token=ADMIN_TOKEN))
    loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        deterministic=os.environ.get("FUZZ_RANDOM") != "1",  # CI: the same cases every run
        database="none",
    )
    if not FULL_COVERAGE:
        loaded.config.operations.operations.append(
            OperationConfig.from_dict(
                {"include-path-regex": "^/v1/events", "phases": {"coverage": {"enabled": False}}}
            )
        )
    return loaded


schema = _schema()


@schema.parametrize()
def test_every_answer_is_documented_and_no_operation_answers_5xx(
    case: schemathesis.Case[Any], live_api: ApiServer
) -> None:
    response = case.call(
        base_url=live_api.base_url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}\n{live_api.tail()}"
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400 and case.formatted_path.startswith("/fhir/"):
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith("application/fhir+json"), f"{where}: {content_type}"
        assert response.json()["resourceType"] == "OperationOutcome", where
    elif response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]  # a list per name
        assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
        body = response.json()
        assert {"type", "title", "status", "detail"} <= body.keys(), where
        assert body["status"] == response.status_code, where
