"""What a newcomer meets when the service is not (yet) there: one line on stderr saying what to
do, exit 1 (could not do it) or 2 (set up wrongly), never a traceback.

Each path runs the real ``handover`` process, so what is asserted is what a terminal shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.support import SetupError, checked_database_url
from tests.services import free_port

DOWN_URL_COMMANDS = [
    ["org", "list"],
    ["key", "list"],
    ["key", "create", "4610000001", "--role", "hospital"],
    ["rebuild-metrics"],
    ["refold-set-aside"],
]
PROCESSES = ["api", "mllp", "worker", "scheduler", "migrate"]


def handover(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HANDOVER_") and k not in ("DATABASE_URL", "BROKER_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=cwd, env={**clean, "HANDOVER_DATA_DIR": str(cwd / ".data"), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("command", DOWN_URL_COMMANDS, ids=" ".join)
def test_with_handover_up_stopped_the_left_over_url_file_is_named(
    command: list[str], tmp_path: Path
) -> None:
    data = tmp_path / ".data"
    data.mkdir()
    port = free_port()  # nothing listens there: `handover up` stopped
    (data / "embedded.url").write_text(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/handover")
    result = handover(*command, cwd=tmp_path, env={})
    assert result.returncode == 1
    line = one_line(result)
    assert "`handover up` is not running" in line
    assert "embedded.url" in line
    assert "set DATABASE_URL" in line


@pytest.mark.parametrize("command", PROCESSES)
def test_a_production_process_without_database_url_says_how_to_set_it(
    command: str, tmp_path: Path
) -> None:
    result = handover(command, cwd=tmp_path, env={})
    assert result.returncode == 2
    line = one_line(result)
    assert f"DATABASE_URL is not set: `handover {command}` needs it" in line
    assert "postgresql://USER:PASSWORD@HOST:5432/DATABASE" in line
    assert "handover up" in line


@pytest.mark.parametrize("command", [["org", "list"], ["api"], ["worker"]], ids=" ".join)
def test_a_database_url_that_is_not_one_is_named_without_its_value(
    command: list[str], tmp_path: Path
) -> None:
    result = handover(*command, cwd=tmp_path, env={"DATABASE_URL": "not-a-url"})
    assert result.returncode == 2
    line = one_line(result)
    assert "DATABASE_URL is not a PostgreSQL URL" in line
    assert "not-a-url" not in line  # a real one may carry a password


def test_org_add_with_a_bad_region_says_what_a_region_code_is(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/handover"
    command = ["org", "add", "X1", "--kind", "hospital", "--name", "n", "--region", "Kagoshima 1"]
    result = handover(*command, cwd=tmp_path, env={"DATABASE_URL": url})
    assert result.returncode == 2
    assert one_line(result) == "region: use 1 to 64 of a-z, 0-9 and - (for example kagoshima)"


@pytest.mark.parametrize(
    "command",
    [
        ["org", "list", "--region", "Kagoshima 1"],
        ["demo", "--admin-token", "t" * 30, "--region", "Kagoshima 1"],
    ],
    ids=lambda c: c[0] + " " + c[1],
)
def test_a_bad_region_says_what_a_region_code_is(command: list[str], tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/handover"
    result = handover(*command, cwd=tmp_path, env={"DATABASE_URL": url})
    assert result.returncode == 2
    line = one_line(result)
    assert "--region 'Kagoshima 1' is not a region code" in line
    assert "1 to 64 of a-z, 0-9 and -" in line


@pytest.mark.parametrize("url", ["not-a-url", "ftp://example.org", "http://"])
def test_demo_with_a_url_that_is_not_one_says_what_it_wants(url: str, tmp_path: Path) -> None:
    result = handover("demo", "--admin-token", "t" * 30, "--url", url, cwd=tmp_path, env={})
    assert result.returncode == 2
    line = one_line(result)
    assert f"--url {url!r} is not an http:// or https:// address" in line
    assert "http://127.0.0.1:8000" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:@/handover?host=/srv/handover/.data/pg",  # the embedded server's
        "postgresql+asyncpg://handover:secret@db.example:5432/handover",
    ],
)
def test_a_postgresql_url_on_a_socket_or_a_host_is_accepted(url: str) -> None:
    """`handover up` hands its children the embedded server's unix-socket URL: not an error."""
    assert checked_database_url(url) == url


@pytest.mark.parametrize("url", ["not-a-url", "mysql://u@h/d", "postgresql:///handover"])
def test_a_url_naming_no_postgresql_server_is_refused(url: str) -> None:
    with pytest.raises(SetupError, match="is not a PostgreSQL URL"):
        checked_database_url(url)
