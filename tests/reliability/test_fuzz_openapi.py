"""Schemathesis against the live API's own /openapi.json: no 5xx, and every 4xx is problem+json.

Valid and invalid inputs for every operation, sent with an admin key to a uvicorn process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode

from services.api.app import create_app
from shared.settings import Settings
from tests.factories import ADMIN_TOKEN
from tests.reliability.harness import ApiServer, api_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per operation and mode


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
    return loaded


schema = _schema()


@schema.parametrize()
def test_no_operation_answers_5xx_or_a_non_problem_4xx(
    case: schemathesis.Case, live_api: ApiServer
) -> None:
    response = case.call(
        base_url=live_api.base_url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}\n{live_api.tail()}"
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]  # a list per name
        assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
        body = response.json()
        assert {"type", "title", "status", "detail"} <= body.keys(), where
        assert body["status"] == response.status_code, where
