"""The message counter's shape, shared by the API's registry and the MLLP listener's."""

from __future__ import annotations

from typing import Final, Protocol

from prometheus_client import Counter

MESSAGES_LABELS: Final = ("channel", "trigger", "outcome")
MESSAGES_HELP: Final = (
    "Hospital system messages by channel (mllp, http, fhir), trigger and AA/AE/AR."
)


class CountedMessage(Protocol):
    """What a hospital system message's result says for the metrics (HL7 v2 or FHIR)."""

    @property
    def trigger_label(self) -> str: ...
    @property
    def ack_code(self) -> str: ...
    @property
    def created_types(self) -> tuple[str, ...]: ...


def count_message(messages: Counter, channel: str, result: CountedMessage) -> None:
    """One message by channel, trigger and AA/AE/AR."""
    messages.labels(channel, result.trigger_label, result.ack_code).inc()
