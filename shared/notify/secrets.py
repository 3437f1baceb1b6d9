"""Endpoint secrets: generated, shown once, stored encrypted with the service's webhook key."""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from shared.core.local_secrets import generated_secret
from shared.core.settings import Settings

SECRET_PREFIX = "whsec_"
KEY_FILE = "webhook.key"


class WebhookKeyMissing(RuntimeError):
    """Production refuses to store or use secrets without HANDOVER_WEBHOOK_KEY."""


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def fernet_for(key: str) -> Fernet:
    """Any high-entropy string works as the key: it is hashed to Fernet's 32 bytes."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


@lru_cache(maxsize=8)
def _cipher(key: str) -> Fernet:
    return fernet_for(key)


def cipher(settings: Settings) -> Fernet:
    """The cipher of this deployment; production requires HANDOVER_WEBHOOK_KEY."""
    if settings.webhook_key is not None:
        return _cipher(settings.webhook_key.get_secret_value())
    if settings.env == "production":
        raise WebhookKeyMissing("HANDOVER_WEBHOOK_KEY is required when HANDOVER_ENV=production")
    return _cipher(generated_secret(settings.data_dir.expanduser(), KEY_FILE))


def encrypt(settings: Settings, secret: str) -> str:
    return cipher(settings).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    """The plain secret; a wrong key is a configuration error, said plainly."""
    try:
        return cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise WebhookKeyMissing(
            "a webhook secret does not decrypt with this HANDOVER_WEBHOOK_KEY"
        ) from exc
