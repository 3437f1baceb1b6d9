"""Passwords: argon2id (argon2-cffi's RFC 9106 low-memory profile), a minimum length and a list of
common passwords; no composition rules (NIST SP 800-63B 5.1.1.2).

The list is Django 5.2.17's ``django/contrib/auth/common-passwords.txt.gz`` (20,000 passwords
by Royce Williams, lower-cased and deduplicated; BSD licence), shipped as it is.
"""

from __future__ import annotations

import asyncio
import gzip
from functools import lru_cache
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 256  # argon2 takes any length; this bounds the work one request can ask for
COMMON_LIST: Final = Path(__file__).with_name("common-passwords.txt.gz")
_HASHER: Final = PasswordHasher()  # argon2id, the library's maintained defaults
# Verified when the login id is unknown (or has no password yet), so both answers take as long.
_DUMMY: Final = _HASHER.hash("handover: no such person, the same work as a real one")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str, *, login_id: str) -> str | None:
    """Why a new password is refused (in Japanese, for the screens), or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"パスワードは{MIN_LENGTH}文字以上にしてください。"
    if len(password) > MAX_LENGTH:
        return f"パスワードは{MAX_LENGTH}文字以内にしてください。"
    lowered = password.lower()
    if lowered in common_passwords() or lowered == login_id.lower():
        return "よく使われているパスワードです。推測されにくいものにしてください。"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


async def hashed(password: str) -> str:
    """``hash_password`` in a worker thread: argon2 takes ~0.1 s of CPU, not of the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verified(stored: str | None, password: str) -> bool:
    """``password_matches`` in a worker thread (the same work whether ``stored`` exists or not)."""
    return await asyncio.to_thread(password_matches, stored, password)


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the stored one; with no stored hash, the same work then False."""
    try:
        return _HASHER.verify(stored or _DUMMY, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
