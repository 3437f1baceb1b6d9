"""Standard Webhooks headers for one attempt, signed afresh with every active secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(msg_id: str, body: str, secrets: Sequence[str], now: datetime) -> dict[str, str]:
    """``webhook-id``, ``-timestamp`` and ``-signature`` (space-separated with two secrets)."""
    at = now.astimezone(UTC)  # the library reads the datetime as UTC whatever its tzinfo
    signatures = [Webhook(secret).sign(msg_id, at, body) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
