"""The MLLP listener over a real TCP socket, in-process on a free port, on the real database.

Fixtures (tests/fixtures/README.md): SS-MIX2 ADT-22/ADT-52 examples in ISO-2022-JP without a
visit number, the Wikipedia "Health Level 7" ADT^A01. MSH-4 is rewritten to the facility the
test registers for its hospital.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.mllp.server import REGISTRY, Limits, Listener, start
from shared.core.db import create_engine, create_sessionmaker
from shared.interop.hl7v2.mllp import END_BLOCK, START_BLOCK, frame
from tests.factories import Api, admin_headers, unique
from tests.integration.interop.conftest import Serve
from tests.integration.interop.test_hl7v2_http import episode, err, msa, stored_counts
from tests.services import free_port
from tests.unit.interop.helpers import adt, fixture

pytestmark = pytest.mark.postgres

TIMEOUT_S = 10


def with_facility(raw: bytes, facility: str) -> bytes:
    """The message with MSH-4 replaced (the MSH of every fixture is ASCII)."""
    segment, sep, rest = raw.partition(b"\r")
    fields = segment.split(b"|")
    fields[3] = facility.encode()
    return b"|".join(fields) + sep + rest


async def sender(api: Api) -> tuple[str, str, dict[str, str]]:
    """A hospital, the sending facility (MSH-4.1) registered for it, and its key."""
    hospital, facility = unique("H"), unique("F")
    body = {"id": hospital, "kind": "hospital", "name": "病院", "region": api.region,
            "hl7_sending_facility": facility}  # fmt: skip
    r = await api.client.post("/v1/organizations", json=body, headers=admin_headers())
    assert r.status_code == 201, r.text
    return hospital, facility, await api.key(hospital, "hospital")


class Connection:
    """One MLLP client connection: send frames, read ACK frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def ack(self) -> bytes:
        data = await asyncio.wait_for(self.reader.readuntil(bytes([END_BLOCK, 0x0D])), TIMEOUT_S)
        return data[data.index(START_BLOCK) + 1 : -2]

    async def exchange(self, message: bytes) -> bytes:
        await self.send_raw(frame(message))
        return await self.ack()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def connect(port: int) -> Connection:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return Connection(reader, writer)


async def test_a01_over_mllp_is_acked_aa_and_its_episode_exists(
    api: Api, serve: Serve, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, facility, key = await sender(api)
    conn = await connect(await serve(Limits()))
    raw = with_facility(fixture("hl7v2", "wikipedia_adt_a01.hl7"), facility)
    ack = await conn.exchange(raw)
    assert msa(ack)[1:3] == ["AA", "01052901"]
    assert (await episode(api.client, hospital, "56782445-20060529", key))["admitted_at"]
    again = await conn.exchange(raw)
    assert msa(again)[1] == "AA"
    assert await stored_counts(sessions, hospital) == (1, 1)
    await conn.close()


async def test_ssmix2_stay_without_visit_numbers_admitted_then_discharged(
    api: Api, serve: Serve
) -> None:
    hospital, facility, key = await sender(api)
    conn = await connect(await serve(Limits()))
    a01 = await conn.exchange(with_facility(fixture("hl7v2", "ssmix2_adt22_a01.hl7"), facility))
    assert msa(a01, "iso2022_jp")[1] == "AA"
    a03 = await conn.exchange(with_facility(fixture("hl7v2", "ssmix2_adt52_a03.hl7"), facility))
    assert msa(a03, "iso2022_jp")[1] == "AA", err(a03, "iso2022_jp")
    found = await episode(api.client, hospital, "9999013-20111120", key)
    assert found["discharged_at"] == "2011-12-20T12:00:00+09:00"
    await conn.close()


async def test_a11_over_mllp_cancels_the_admission(api: Api, serve: Serve) -> None:
    hospital, facility, key = await sender(api)
    conn = await connect(await serve(Limits()))
    head = f"MSH|^~\\&|HIS|{facility}|"
    a01 = adt("A01", control_id="C1", pv1_fields={2: "I", 19: "V1", 44: "202406031000"})
    a11 = adt("A11", control_id="C2", pv1_fields={2: "I", 19: "V1"})
    for message in (a01, a11):
        ack = await conn.exchange(message.replace("MSH|^~\\&|HIS|HOSP|", head).encode())
        assert msa(ack)[1] == "AA", err(ack)
    events = (await episode(api.client, hospital, "V1", key))["events"]
    assert [e["cancelled"] for e in events] == [True, False]
    await conn.close()


async def test_unknown_sending_facility_is_ar_and_the_connection_serves_the_next(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits()))
    raw = fixture("hl7v2", "wikipedia_adt_a01.hl7")
    ack = await conn.exchange(with_facility(raw, "NO-SUCH-FACILITY"))
    assert msa(ack)[1] == "AR"
    assert "MSH^1^4|204^" in err(ack)
    assert msa(await conn.exchange(with_facility(raw, facility)))[1] == "AA"
    await conn.close()


async def test_garbage_wrong_framing_and_oversized_frames_leave_the_connection_serving(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits(max_message_bytes=4096)))
    good = with_facility(fixture("hl7v2", "wikipedia_adt_a01.hl7"), facility)
    await conn.send_raw(b"noise outside any frame\r\n")  # ignored
    assert msa(await conn.exchange(b"\x00\xff\xfe not hl7 at all"))[1] == "AR"
    await conn.send_raw(bytes([START_BLOCK]) + b"MSH|^~\\&|unfinished")  # then a new frame:
    assert msa(await conn.exchange(good))[1] == "AA"  # the unfinished one is dropped
    oversized = await conn.exchange(b"MSH|^~\\&|" + b"X" * 10_000)
    assert msa(oversized)[1] == "AR"
    assert "larger than 4096 bytes" in err(oversized)
    assert msa(await conn.exchange(good))[1] == "AA"  # a duplicate now, still served
    bad_charset = good.replace(b"|2.5", b"|2.5||||||~ISO IR87", 1) + "é".encode()
    assert msa(await conn.exchange(bad_charset))[1] == "AE"  # undecodable: AE, not a drop
    await conn.close()


async def test_an_idle_connection_is_closed_after_the_idle_timeout(serve: Serve) -> None:
    conn = await connect(await serve(Limits(idle_timeout_s=0.3)))
    assert await asyncio.wait_for(conn.reader.read(), TIMEOUT_S) == b""  # EOF: closed by server
    await conn.close()


async def test_connections_past_the_bound_are_refused_and_the_others_served(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    port = await serve(Limits(max_connections=2))
    first, second = await connect(port), await connect(port)
    await asyncio.sleep(0.1)  # both accepted
    extra = await connect(port)
    assert await asyncio.wait_for(extra.reader.read(), TIMEOUT_S) == b""
    raw = with_facility(fixture("hl7v2", "wikipedia_adt_a01.hl7"), facility)
    assert msa(await first.exchange(raw))[1] == "AA"
    assert msa(await second.exchange(raw))[1] == "AA"
    for conn in (first, second, extra):
        await conn.close()


async def test_mllp_messages_are_counted_in_the_listeners_registry(api: Api, serve: Serve) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits()))
    labels = {"channel": "mllp", "trigger": "other", "outcome": "AA"}
    before = REGISTRY.get_sample_value("handover_messages_total", labels) or 0
    a02 = adt("A02").replace("MSH|^~\\&|HIS|HOSP|", f"MSH|^~\\&|HIS|{facility}|")
    assert msa(await conn.exchange(a02.encode()))[1] == "AA"
    assert REGISTRY.get_sample_value("handover_messages_total", labels) == before + 1
    await conn.close()


async def test_with_the_database_down_each_message_gets_an_ar_and_the_connection_stays() -> None:
    # An AR (application reject: the receiver is unavailable) tells the sender to resend; a
    # dropped connection left its queue stalled on the message.
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/none", pool_size=1)
    listener = Listener(create_sessionmaker(engine))
    port = free_port()
    server = await start(listener, "127.0.0.1", port)
    try:
        conn = await connect(port)
        raw = fixture("hl7v2", "wikipedia_adt_a01.hl7")
        for _ in range(2):
            ack = await conn.exchange(raw)
            assert msa(ack)[1:3] == ["AR", "01052901"]
            assert "send it again later" in err(ack)
        await conn.close()
    finally:
        server.close()
        await engine.dispose()
