"""No sender can stall or crash the MLLP listener (api.md, issue #21), over a real socket.

A message of a million empty fields is parsed on a worker thread while another connection's
message is answered; mutated published messages each get an ACK and the listener keeps
serving; bytes outside a frame keep no connection open; one source address cannot hold every
slot; messages that used to drop the connection (a bare `MSH`, a NUL in MSH-4) get an AR.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.mllp.server import Limits
from shared.interop.hl7v2.mllp import START_BLOCK, frame
from tests.factories import Api, admin_headers, unique
from tests.integration.interop.conftest import Serve
from tests.integration.interop.test_hl7v2_http import err, msa
from tests.integration.interop.test_mllp_listener import (
    TIMEOUT_S,
    Connection,
    connect,
    sender,
    with_facility,
)
from tests.unit.interop.helpers import adt, fixture

pytestmark = pytest.mark.postgres
PUBLISHED = (
    "wikipedia_adt_a01.hl7",
    "ssmix2_adt22_a01.hl7",
    "ssmix2_adt00_a08.hl7",
    "emap_adt_a04_outpatient.hl7",
    "emap_adt_a06_inpatient.hl7",
    "fhir_converter_adt_a03_01.hl7",
)


def a01(facility: str, control: str) -> bytes:
    message = adt("A01", control_id=control, pv1_fields={2: "I", 19: unique("V")})
    return message.replace("|HOSP|", f"|{facility}|", 1).encode()


async def slow_ack(conn: Connection) -> bytes:
    """The next ACK, however long a loaded machine takes (the test asserts an order)."""
    data = await asyncio.wait_for(conn.reader.readuntil(b"\x1c\r"), 300)
    return data[data.index(START_BLOCK) + 1 : -2]


async def test_a_normal_message_is_acked_while_a_million_field_one_is_parsed(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    # The bound on delimiters is raised so that the message is really parsed (the default
    # answers it AR before parsing): this shows that parsing holds up no other connection.
    port = await serve(Limits(max_delimiters=2_000_000))
    big = a01(facility, "BIG1") + b"ZPD|" + b"|" * 1_000_000 + b"\r"
    order: list[str] = []
    started = time.perf_counter()
    first, second = await connect(port), await connect(port)

    async def big_one() -> float:
        await first.send_raw(frame(big))
        ack = await slow_ack(first)
        order.append("big")
        assert msa(ack)[1] in ("AA", "AE", "AR")
        return time.perf_counter() - started

    task = asyncio.create_task(big_one())
    await asyncio.sleep(0.2)  # the big frame is in and being parsed
    sent = time.perf_counter()
    await second.send_raw(frame(a01(facility, "SMALL1")))
    assert msa(await slow_ack(second))[1] == "AA"  # an order is asserted, not a time
    order.append("normal")
    normal_s = time.perf_counter() - sent
    big_s = await asyncio.wait_for(task, 120)
    print(f"\nnormal ACK {normal_s:.3f} s while the 1M-field message took {big_s:.3f} s")
    assert order == ["normal", "big"]
    for conn in (first, second):
        await conn.close()


def mutations() -> st.SearchStrategy[tuple[str, list[tuple[str, int, int]]]]:
    """A published message and edits: (kind, position, byte) applied in order."""
    edit = st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate", "delimiter"]),
        st.integers(0, 4000),
        st.integers(0, 255).filter(lambda b: b not in (0x0B, 0x1C)),  # MLLP framing bytes
    )
    return st.tuples(st.sampled_from(PUBLISHED), st.lists(edit, min_size=1, max_size=6))


def mutate(raw: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(raw)
    for kind, at, value in edits:
        at = at % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] = value
        elif kind == "insert":
            data[at:at] = bytes([value])
        elif kind == "delete":
            del data[at : at + 1 + value % 8]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = b"|^~\\&\r"[value % 6 : value % 6 + 1] * (1 + value % 50)
    return bytes(data)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(case=mutations())
@example(case=("wikipedia_adt_a01.hl7", [("flip", 3, ord(":"))]))  # CI's draw: MSH-1 is ':'
async def test_every_mutated_message_gets_an_ack_and_the_listener_keeps_serving(
    api: Api, serve: Serve, case: tuple[str, list[tuple[str, int, int]]]
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits()))
    name, edits = case
    mutated = mutate(with_facility(fixture("hl7v2", name), facility), edits)
    ack = await conn.exchange(mutated)
    assert ack.startswith(b"MSH")
    separator = ack[3:4]  # MSH-1: the ACK is written with the message's own field separator
    assert b"\rMSA" + separator + b"A" in ack  # AA, AE or AR, in whatever charset it named
    assert msa(await conn.exchange(a01(facility, unique("OK"))))[1] == "AA"
    await conn.close()


async def test_bytes_outside_a_frame_do_not_keep_a_connection_open(serve: Serve) -> None:
    conn = await connect(await serve(Limits(idle_timeout_s=0.5)))
    started = time.perf_counter()
    closed = False
    while time.perf_counter() - started < TIMEOUT_S:
        try:
            await conn.send_raw(b"x")
        except ConnectionError:
            closed = True
            break
        try:
            data = await asyncio.wait_for(conn.reader.read(1), 0.2)
        except TimeoutError:
            continue
        if data == b"":
            closed = True
            break
    assert closed
    assert time.perf_counter() - started < 3  # the idle timeout, not the noise, decided
    await conn.close()


async def test_progress_inside_a_frame_keeps_a_slow_sender_connected(
    api: Api, serve: Serve
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits(idle_timeout_s=0.5)))
    framed = frame(a01(facility, "SLOW1"))
    pieces = [framed[i : i + 40] for i in range(0, len(framed), 40)]
    for piece in pieces:  # longer in all than the idle timeout, never idle for it
        await conn.send_raw(piece)
        await asyncio.sleep(0.15)
    assert msa(await conn.ack())[1] == "AA"
    await conn.close()


async def test_one_address_cannot_hold_every_slot(api: Api, serve: Serve) -> None:
    _, facility, _ = await sender(api)
    port = await serve(Limits(max_connections=8, max_connections_per_address=2))
    held = [await connect(port), await connect(port)]
    await asyncio.sleep(0.1)
    third = await connect(port)
    assert await asyncio.wait_for(third.reader.read(), TIMEOUT_S) == b""  # refused
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
    other = Connection(reader, writer)  # another address still gets in
    assert msa(await other.exchange(a01(facility, "OTHER1")))[1] == "AA"
    for conn in (*held, third, other):
        await conn.close()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"MSH\rPID|1||P1\r", "must start with an MSH segment"),
        (b"MSH|^~\\&|HIS|HO\x00SP|H|R|20240603||ADT^A01|M1|P|2.5\r", "control character"),
        (b"MSHX^~\\&XHISXHOSPX", "five distinct delimiters"),
    ],
)
async def test_messages_that_dropped_the_connection_now_get_an_ar(
    api: Api, serve: Serve, payload: bytes, reason: str
) -> None:
    _, facility, _ = await sender(api)
    conn = await connect(await serve(Limits()))
    await conn.send_raw(bytes([START_BLOCK]) + payload + b"\x1c\r")
    ack = await conn.ack()
    assert msa(ack)[1] == "AR"
    assert reason in err(ack)
    assert b"\x00" not in ack
    assert msa(await conn.exchange(a01(facility, unique("N"))))[1] == "AA"
    await conn.close()


async def test_a_real_msh_4_with_spaces_is_registered_by_patch_and_accepted(
    api: Api, serve: Serve
) -> None:
    hospital = await api.org("hospital")
    facility = f"GOOD HEALTH {unique('')[:8]}"
    r = await api.client.patch(
        f"/v1/organizations/{hospital}",
        json={"hl7_sending_facility": facility},
        headers=admin_headers(),
    )
    assert r.status_code == 200, r.text
    conn = await connect(await serve(Limits()))
    raw = with_facility(fixture("hl7v2", "emap_adt_a06_inpatient.hl7").replace(b"\n", b"\r"),
                        facility)  # fmt: skip
    ack = await conn.exchange(raw)
    assert msa(ack)[1:3] == ["AA", "14444444"], err(ack)
    await conn.close()
