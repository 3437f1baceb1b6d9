"""API key format and hashing: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "hov"


def new_api_key() -> tuple[str, str, str]:
    """A fresh key as (full key, lookup prefix, hash); 192 random bits."""
    lookup = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    key = f"{KEY_PREFIX}_{lookup}_{secret}"
    return key, lookup, hash_key(key)


def hash_key(key: str) -> str:
    """The stored form of a key (high-entropy keys need no salt or stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with the stored hash."""
    return hmac.compare_digest(hash_key(key), stored_hash)
