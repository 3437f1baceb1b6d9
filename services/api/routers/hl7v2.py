"""POST /v1/hl7v2: one HL7 v2 message over HTTPS for hospitals that prefer it to MLLP."""

from __future__ import annotations

import codecs

from fastapi import APIRouter, Request, Response

from services.api.deps import PrincipalDep, SessionDep, intake, require_roles
from services.api.errors import Problem
from services.api.observability import count_message
from services.api.routing import AuthFirstRoute
from shared.interop.hl7v2.decode import charset_field
from shared.interop.hl7v2_service import record_hl7v2

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1", tags=["hospital system messages"])
HL7_MEDIA_TYPES = ("application/hl7-v2", "x-application/hl7-v2+er7")
ACK_MEDIA_TYPE = "application/hl7-v2"
EXAMPLE = (
    "MSH|^~\\&|HIS|HOSP|HANDOVER|REGION|20240603102000||ADT^A01^ADT_A01|MSG0001|P|2.5\r"
    "EVN||202406031015\r"
    "PID|1||P12345^^^HOSP^MR||山田^花子\r"
    "PV1|1|I|||||||||||||||||V0001|||||||||||||||||||||||||202406031000\r"
)
ACK_EXAMPLE = (
    "MSH|^~\\&|HANDOVER|REGION|HIS|HOSP|20240603102001+0900||ACK^A01^ACK|ACK3F2A9C1B0D4E5F60|P|2.5\r"
    "MSA|AA|MSG0001\r"
)
BODY = {
    "requestBody": {
        "required": True,
        "description": "One ER7 message; CR, LF or CRLF segment terminators; the charset from"
        " the Content-Type parameter, else MSH-18 (`~ISO IR87` is ISO-2022-JP, absent is UTF-8)",
        "content": {
            # Bytes, not a JSON string: whatever is sent is a message, answered by an ACK (AR
            # when unreadable) in a 200, so no body is of the wrong type.
            media: {"schema": {"contentMediaType": media}, "example": EXAMPLE}
            for media in HL7_MEDIA_TYPES
        },
    }
}


def _transcoded(body: bytes, content_type: str) -> bytes:
    """A body in the Content-Type's charset as UTF-8, when MSH-18 does not name one itself."""
    _, _, params = content_type.partition(";")
    charset = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"')
    if not charset or charset_field(body):
        return body
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        return body  # decoded per MSH-18 (UTF-8): undecodable text answers AE
    if codec in ("utf-8", "ascii"):
        return body
    try:
        return body.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        return body


@router.post(
    "/hl7v2",
    dependencies=[require_roles("hospital")],
    response_class=Response,
    openapi_extra=BODY,
    responses={
        200: {
            "description": "The ACK: MSA-1 AA (stored, duplicate, or a trigger the rule does not"
            " use), AE (well-formed but unusable: ERR names the field and why), AR (unreadable)",
            "content": {ACK_MEDIA_TYPE: {"schema": {"type": "string"}, "example": ACK_EXAMPLE}},
        },
        415: {"description": "The Content-Type is not application/hl7-v2"},
    },
)
async def post_hl7v2(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Record one HL7 v2 ADT message (A01/A04, A03, A16, A08, A11/A13/A25) sent by this key's
    hospital; answered with its ACK. MSH-4 is not used: the key names the hospital."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() not in HL7_MEDIA_TYPES:
        raise Problem(415, f"Send the message as {' or '.join(HL7_MEDIA_TYPES)}.")
    body = _transcoded(await request.body(), content_type)
    result = await record_hl7v2(
        session, body, channel="http", principal=principal, **intake(request)
    )
    count_message("http", result)
    media = f"{ACK_MEDIA_TYPE}; charset={'iso-2022-jp' if 'jp' in result.codec else 'utf-8'}"
    return Response(result.ack, media_type=media)
