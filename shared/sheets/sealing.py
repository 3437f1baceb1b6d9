"""Sheets encrypted at rest with a key the operator holds (``HANDOVER_SHEET_KEY``).

Fernet (AES-128-CBC + HMAC-SHA256, the cipher of ``shared.notify.secrets``) through a
``MultiFernet``: the current key encrypts, it and every key in ``HANDOVER_SHEET_PREVIOUS_KEYS``
decrypt, so a rotation is: set the new key, move the old one to the previous keys, run
``handover rekey-sheets`` (re-encrypts every stored sheet with the new key), then drop the old
one. In development the key is generated once into the data directory.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet

from shared.core.local_secrets import generated_secret
from shared.core.settings import Settings
from shared.notify.secrets import fernet_for

KEY_FILE = "sheet.key"


class SheetKeyMissing(RuntimeError):
    """Production refuses to store or read sheets without HANDOVER_SHEET_KEY."""


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([fernet_for(key) for key in keys])


def _keys(settings: Settings) -> tuple[str, ...]:
    if settings.sheet_key is not None and settings.sheet_key.get_secret_value().strip():
        current = settings.sheet_key.get_secret_value().strip()
    elif settings.env == "production":
        raise SheetKeyMissing("HANDOVER_SHEET_KEY is required when HANDOVER_ENV=production")
    else:
        current = generated_secret(settings.data_dir.expanduser(), KEY_FILE)
    previous = settings.sheet_previous_keys
    older = [k.strip() for k in (previous.get_secret_value() if previous else "").split(",")]
    return (current, *(k for k in older if k and k != current))


def cipher(settings: Settings) -> MultiFernet:
    """Encrypts with the current key, decrypts with it or any previous one."""
    return _cipher(_keys(settings))


def seal(settings: Settings, document: dict[str, Any]) -> str:
    """The sheet as stored: a Fernet token of its JSON."""
    plain = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return cipher(settings).encrypt(plain.encode()).decode()


def unseal(settings: Settings, token: str) -> dict[str, Any]:
    """The sheet as posted; a key that does not fit is a configuration error, said plainly."""
    try:
        plain = cipher(settings).decrypt(token.encode())
    except InvalidToken as exc:
        raise SheetKeyMissing(
            "a stored sheet does not decrypt with HANDOVER_SHEET_KEY or the previous keys"
        ) from exc
    document: dict[str, Any] = json.loads(plain)
    return document


def reseal(settings: Settings, token: str) -> str:
    """The same sheet encrypted with the current key (a rotation's step)."""
    return cipher(settings).rotate(token.encode()).decode()
