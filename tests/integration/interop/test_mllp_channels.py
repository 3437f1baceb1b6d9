"""Authenticated hospital channels on the MLLP listener: source-address allow-lists and TLS with
client certificates mapped to hospitals (certificates made by the test with `cryptography`)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.mllp.channels import Channels, networks, server_context
from services.mllp.server import Limits
from tests.factories import Api, unique
from tests.integration.interop.conftest import Serve
from tests.integration.interop.test_hl7v2_http import err, msa
from tests.integration.interop.test_mllp_listener import Connection, connect, sender
from tests.unit.interop.helpers import adt

pytestmark = pytest.mark.postgres


def a01(facility: str) -> bytes:
    message = adt("A01", control_id=unique("M"), pv1_fields={2: "I", 19: unique("V")})
    return message.replace("|HOSP|", f"|{facility}|", 1).encode()


async def test_a_hospital_with_an_allow_list_is_refused_from_another_address(
    api: Api, serve: Serve
) -> None:
    listed, listed_facility, _ = await sender(api)
    local, local_facility, _ = await sender(api)
    _, open_facility, _ = await sender(api)
    channels = Channels(networks({listed: ["10.0.0.0/8"], local: ["127.0.0.1"]}))
    conn = await connect(await serve(Limits(), channels))
    refused = await conn.exchange(a01(listed_facility))
    assert msa(refused)[1] == "AR"
    assert f"not on hospital {listed}'s MLLP allow-list" in err(refused)
    assert msa(await conn.exchange(a01(local_facility)))[1] == "AA"
    assert msa(await conn.exchange(a01(open_facility)))[1] == "AA"  # no list: any address
    await conn.close()


async def test_with_channels_required_a_hospital_without_one_is_refused(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits(), Channels(require_channel=True)))
    ack = await conn.exchange(a01(facility))
    assert msa(ack)[1] == "AR"
    assert "no MLLP allow-list or client certificate" in err(ack)
    await conn.close()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.now(UTC)
    issuer_name, signer = (subject, key) if issuer is None else issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def pki(tmp_path: Path, hospital: str) -> tuple[ssl.SSLContext, Path]:
    """A CA, the listener's certificate, and a client certificate for `hospital` (its CN);
    returns the listener's TLS context and the client files' stem."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("handover test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("mllp.test", server_key, ("handover test CA", ca_key), server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(hospital, client_key, ("handover test CA", ca_key))
    (tmp_path / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write(tmp_path / "server", server, server_key)
    _write(tmp_path / "client", client, client_key)
    context = server_context(tmp_path / "server.crt", tmp_path / "server.key", tmp_path / "ca.crt")
    return context, tmp_path / "client"


def client_context(tmp_path: Path, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=tmp_path / "ca.crt")
    if with_certificate:
        context.load_cert_chain(tmp_path / "client.crt", tmp_path / "client.key")
    return context


async def test_over_tls_a_client_certificate_may_send_only_its_own_hospitals_messages(
    api: Api, serve: Serve, tmp_path: Path
) -> None:
    hospital, facility, _ = await sender(api)
    _, other_facility, _ = await sender(api)
    context, _ = pki(tmp_path, hospital)
    port = await serve(Limits(), Channels(tls=context, require_channel=True))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context(tmp_path, True)
    )
    conn = Connection(reader, writer)
    assert msa(await conn.exchange(a01(facility)))[1] == "AA"
    refused = await conn.exchange(a01(other_facility))
    assert msa(refused)[1] == "AR"
    assert f"certificate is hospital {hospital}'s" in err(refused)
    await conn.close()


async def test_over_tls_a_client_without_a_certificate_is_not_served(
    api: Api, serve: Serve, tmp_path: Path
) -> None:
    hospital, facility, _ = await sender(api)
    context, _ = pki(tmp_path, hospital)
    port = await serve(Limits(), Channels(tls=context))

    async def without_certificate() -> bytes:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(tmp_path, False)
        )
        return await Connection(reader, writer).exchange(a01(facility))

    # TLS 1.3: the listener's refusal arrives on the client's first read.
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await without_certificate()
