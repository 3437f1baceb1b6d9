"""One launcher per data directory: refused while held, free again once the holder is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.instance_lock import DataDirInUse, instance_lock

HOLD = ("import sys, time; from pathlib import Path; "
        "from services.cli.instance_lock import instance_lock\n"
        "with instance_lock(Path(sys.argv[1]), 'http://127.0.0.1:8123'):\n"
        "    print('locked', flush=True); time.sleep(60)")  # fmt: skip


def test_a_second_holder_is_refused_with_one_line_naming_the_running_instance(
    tmp_path: Path,
) -> None:
    with (
        instance_lock(tmp_path, "http://127.0.0.1:8123"),
        pytest.raises(DataDirInUse) as refused,
        instance_lock(tmp_path, "http://127.0.0.1:9999"),
    ):
        pytest.fail("two holders of one data dir")
    message = str(refused.value)
    assert "\n" not in message
    assert f"pid {os.getpid()}" in message
    assert "http://127.0.0.1:8123" in message
    assert str(tmp_path) in message
    with instance_lock(tmp_path, "http://127.0.0.1:9999"):
        pass  # released with the block


def test_the_lock_of_a_killed_launcher_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"locked\n"
        with (
            pytest.raises(DataDirInUse, match=f"pid {holder.pid}, API http://127.0.0.1:8123"),
            instance_lock(tmp_path, "http://127.0.0.1:9999"),
        ):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        holder.kill()
        holder.wait()
    with instance_lock(tmp_path, "http://127.0.0.1:9999"):
        pass  # no stale pid file to clean up
