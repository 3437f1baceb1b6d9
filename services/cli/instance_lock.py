"""One ``handover up`` per data directory: an OS lock the kernel drops when its holder dies."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "launcher.lock"


class DataDirInUse(Exception):
    """Another live launcher holds the data directory; its message names that instance."""


def _holder(fd: int, data_dir: Path) -> str:
    """The running instance as its lock file describes it (empty in the instant after it locks)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, OSError):
        info = {}
    pid = info.get("pid", "unknown")
    url = info.get("url", "unknown")
    return (
        f"handover up is already running for {data_dir} (pid {pid}, API {url}); "
        "stop it first or set HANDOVER_DATA_DIR to another folder"
    )


@contextmanager
def instance_lock(data_dir: Path, url: str) -> Iterator[Path]:
    """Hold ``data_dir/launcher.lock`` (flock) for the block, or raise DataDirInUse at once.

    A crash cannot leave it stale: the lock lives on the open file, not in its contents. The file
    itself stays (unlinking a lock file races with the next launcher opening it).
    """
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited: children never hold it
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUse(_holder(fd, data_dir)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
