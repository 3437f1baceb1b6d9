"""Passkeys (WebAuthn, the ``webauthn`` package): options for the browser and checking its answer.

The relying party is HANDOVER_PUBLIC_URL: its host name is the RP id (browsers refuse a bare IP
address) and its scheme, host and port the one origin accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

RP_NAME: Final = "入退院支援ルール"
MAX_CREDENTIAL_JSON: Final = 16_384


class PasskeyRejected(ValueError):
    """The browser's answer does not prove the credential (wrong challenge, origin, signature)."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    rp_id: str
    origin: str

    @classmethod
    def of(cls, screens_url: str) -> RelyingParty:
        parts = urlsplit(screens_url)
        return cls(parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True, slots=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes
    sign_count: int


def registration_options(
    rp: RelyingParty, *, user_id: bytes, login_id: str, display_name: str, existing: list[bytes]
) -> tuple[str, bytes]:
    """The JSON the browser's navigator.credentials.create() takes, and its challenge."""
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id, rp_name=RP_NAME, user_id=user_id, user_name=login_id,
        user_display_name=display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
    )  # fmt: skip
    return webauthn.options_to_json(options), options.challenge


def verify_registration(rp: RelyingParty, credential: str, challenge: bytes) -> NewPasskey:
    _bounded(credential)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=rp.rp_id, expected_origin=rp.origin,
        )  # fmt: skip
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected(str(exc)) from exc
    return NewPasskey(verified.credential_id, verified.credential_public_key, verified.sign_count)


def authentication_options(rp: RelyingParty, credential_ids: list[bytes]) -> tuple[str, bytes]:
    """The JSON for navigator.credentials.get() offering the person's passkeys; its challenge."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in credential_ids],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return webauthn.options_to_json(options), options.challenge


def credential_id_of(credential: str) -> bytes:
    """The raw id the browser's answer names (to find the stored passkey)."""
    _bounded(credential)
    try:
        raw = json.loads(credential)["rawId"]
        return webauthn.base64url_to_bytes(str(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected("malformed credential") from exc


def verify_authentication(
    rp: RelyingParty, credential: str, challenge: bytes, *, public_key: bytes, sign_count: int
) -> int:
    """The authenticator's new signature counter when the assertion is valid."""
    _bounded(credential)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origin, credential_public_key=public_key,
            credential_current_sign_count=sign_count,
        )  # fmt: skip
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected(str(exc)) from exc
    return verified.new_sign_count


def _bounded(credential: str) -> None:
    if len(credential) > MAX_CREDENTIAL_JSON:
        raise PasskeyRejected("credential too large")
