"""The demo's API keys, kept between runs so a re-run posts with the keys it issued before.

Each run used to issue one key per posting organization (336 for the default region); now the
keys are kept in ``$HANDOVER_DATA_DIR/demo-keys.json`` (readable by the owner only), per service
URL and region, and a re-run issues keys only for organizations that have none there. A kept key
the service no longer accepts (another database, revoked) sends the run back to issuing keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

import httpx

KEYS_FILE: Final = "demo-keys.json"


def _slot(base: str, region: str) -> str:
    return f"{base.rstrip('/')} {region}"


def kept_keys(data_dir: Path, base: str, region: str) -> dict[str, str]:
    """The keys a previous run issued for this service and region (organization id → key)."""
    path = data_dir / KEYS_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    slot = stored.get(_slot(base, region)) if isinstance(stored, dict) else None
    if not isinstance(slot, dict):
        return {}
    return {str(k): str(v) for k, v in slot.items()}


def keep_keys(data_dir: Path, base: str, region: str, keys: dict[str, str]) -> None:
    """Store the run's keys beside the others (0600: they are credentials)."""
    path = data_dir / KEYS_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    stored[_slot(base, region)] = keys
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(stored, handle)
    temporary.replace(path)


def still_accepted(client: httpx.Client, keys: dict[str, str]) -> bool:
    """Whether the service accepts the kept keys (one is asked: they were issued together)."""
    if not keys:
        return False
    key = next(iter(keys.values()))
    r = client.get("/v1/flags", params={"limit": 1}, headers={"Authorization": f"Bearer {key}"})
    return r.status_code == 200
