"""Schemathesis hooks for the CLI run (`SCHEMATHESIS_HOOKS=tests.reliability.schemathesis_hooks`).

An HL7 v2 body is ER7 text; schemathesis knows no serializer for its media types.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/hl7-v2", "x-application/hl7-v2+er7")
def er7(_ctx: Any, value: Any) -> bytes:
    """Text as UTF-8; a negative case's other JSON values are sent as their JSON text."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()
