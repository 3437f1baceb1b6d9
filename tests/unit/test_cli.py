"""The `handover` CLI as an operator meets it: natural help, real choices, one-line errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from services.cli import app
from shared.core.settings import get_settings
from tests.services import free_port

runner = CliRunner()
COMMANDS = [
    [], ["up"], ["migrate"], ["api"], ["worker"], ["scheduler"], ["mllp"], ["rebuild-metrics"],
    ["demo"],
    ["org"], ["org", "add"], ["org", "list"], ["key"], ["key", "create"], ["key", "list"],
    ["key", "revoke"],
]  # fmt: skip
INTERNAL = re.compile(r"<(bool|str|int|uuid|UUID|path)>|\{[a-z_]+\}")


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each invocation reads the environment it is given, not a cached one."""
    for name in ("HANDOVER_ENV", "HANDOVER_ADMIN_TOKEN", "DATABASE_URL", "HANDOVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def closed_port() -> int:
    return free_port()  # free now: nothing listens there


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "handover")
def test_help_reads_naturally_without_internal_metavars(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert not INTERNAL.search(result.output), result.output


def test_org_add_help_names_its_argument_and_the_kinds() -> None:
    out = runner.invoke(
        app, ["org", "add", "--help"], env={"COLUMNS": "200"}, prog_name="handover"
    ).output
    assert "handover org add [OPTIONS] ORG_ID" in out
    assert "One of: hospital, care_office, support_center, municipality, region." in out


def test_kind_and_role_are_real_choices() -> None:
    kind = runner.invoke(app, ["org", "add", "X1", "--kind", "hotel", "--name", "n",
                               "--region", "r"])  # fmt: skip
    assert kind.exit_code == 2
    assert "'hotel' is not one of" in kind.output
    role = runner.invoke(app, ["key", "create", "X1", "--role", "root"])
    assert role.exit_code == 2
    assert "'root' is not one of" in role.output


def test_org_add_with_the_database_down_says_what_to_do_in_one_line() -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/handover"
    result = runner.invoke(
        app,
        ["org", "add", "X1", "--kind", "hospital", "--name", "n", "--region", "r"],
        env={"DATABASE_URL": url},
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) <= 2, result.output
    assert "cannot reach the database at" in result.output
    assert "handover up" in result.output
    assert "Traceback" not in result.output


def test_key_list_with_the_database_down_is_one_line_too() -> None:
    url = f"postgresql://postgres:secret-pw@127.0.0.1:{closed_port()}/handover"
    result = runner.invoke(app, ["key", "list"], env={"DATABASE_URL": url})
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) <= 2, result.output
    assert "secret-pw" not in result.output


def test_a_weak_admin_token_in_production_is_one_line_without_the_token() -> None:
    result = runner.invoke(
        app, ["api"], env={"HANDOVER_ENV": "production", "HANDOVER_ADMIN_TOKEN": "admin"}
    )
    assert result.exit_code == 2
    assert result.output.count("\n") <= 2, result.output
    assert "HANDOVER_ADMIN_TOKEN must be at least 24 characters" in result.output
    assert "'admin'" not in result.output


@pytest.mark.parametrize("command", [["api"], ["worker"], ["mllp"], ["up"]])
def test_production_without_the_shared_secrets_refuses_to_start_in_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HANDOVER_SESSION_SECRET", "HANDOVER_WEBHOOK_KEY", "HANDOVER_SHEET_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = {"HANDOVER_ENV": "production", "HANDOVER_ADMIN_TOKEN": "a" * 32}
    result = runner.invoke(app, command, env=env)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") <= 2, result.output
    assert (
        "HANDOVER_SESSION_SECRET and HANDOVER_WEBHOOK_KEY and HANDOVER_SHEET_KEY must be set when "
        "HANDOVER_ENV=production" in result.output
    )
    result = runner.invoke(app, command, env=env | {"HANDOVER_SESSION_SECRET": "s" * 32})
    assert result.exit_code == 2, result.output
    assert "HANDOVER_WEBHOOK_KEY and HANDOVER_SHEET_KEY must be set" in result.output
    assert "s" * 32 not in result.output


def test_demo_without_a_service_says_how_it_looks_for_one() -> None:
    port = closed_port()
    result = runner.invoke(
        app,
        ["demo", "--admin-token", "t" * 30, "--hospitals", "1", "--care-offices", "1",
         "--support-centers", "1", "--months", "1", "--episodes", "1"],
        env={"HANDOVER_PORT": str(port)},
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"cannot reach the service at http://127.0.0.1:{port}" in result.output
    assert "HANDOVER_PORT" in result.output
    assert "Traceback" not in result.output
