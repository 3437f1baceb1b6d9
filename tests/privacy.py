"""Collects what the suite logs and every error body it receives, to scan for personal data."""

from __future__ import annotations

import logging

import httpx

INSURED_NUMBERS: set[str] = set()  # every insured number a test posted (factories add to it)
CAPTURED: list[str] = []


class CaptureHandler(logging.Handler):
    """Keeps every formatted log record of the test process (all loggers, all levels)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            CAPTURED.append(self.format(record))
        except Exception:  # a record that cannot format is still text we must not miss
            CAPTURED.append(repr(record.__dict__))


async def capture_error_body(response: httpx.Response) -> None:
    """httpx response hook: remember the body of every 4xx/5xx answer."""
    if response.status_code >= 400:
        await response.aread()
        CAPTURED.append(response.text)


def leaks() -> list[str]:
    """Captured texts that contain any insured number used by the tests."""
    return [text for text in CAPTURED if any(n in text for n in INSURED_NUMBERS)]
