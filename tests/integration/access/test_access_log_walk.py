"""Every path that answers with an episode's patient fields writes exactly one access-log row per
episode shown, naming the key (later the person), before the answer is sent.

The walk is data-driven: the operations come from the OpenAPI document (every operation whose
answer can hold a `patient` or a sheet, and everything under /v1/episodes) and the screens from
the app's routes, so a new path that shows patients fails here until the walk calls it.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import AccessLogEntry
from shared.rules.zone import TOKYO
from shared.sheets.examples import ADMISSION_INFO_EXAMPLE
from tests.factories import ADMIN_TOKEN, Api, admin_headers, admission, event
from tests.integration.access.test_authorization_matrix import _raise_flags
from tests.integration.metrics.test_query_plans import captured

pytestmark = pytest.mark.postgres
PATIENT_PROPERTIES = frozenset({"patient", "sheet", "sheets"})
EPISODE_PATH = re.compile(r"^/(?:v1|ui)/episodes/([0-9a-f-]{36})(?:/|$)")


@dataclass
class Reader:
    """Who reads: a key (``key_id`` None: the bootstrap admin token), or a person (``user_id``),
    and the organization."""

    name: str
    token: str
    key_id: uuid.UUID | None
    organization_id: str | None
    user_id: uuid.UUID | None = None

    @property
    def actor(self) -> tuple[str, uuid.UUID | None]:
        """What the access log must name: the person, else the key."""
        if self.user_id is not None:
            return "user", self.user_id
        return "api_key", self.key_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """A region: a stay in hospital with a planned discharge (work-list items on both sides) and
    two stays discharged without coordination (missed-coordination flags), read by three keys."""

    api: Api
    hospital: str
    staying: str  # episode ids
    discharged: str
    other: str  # discharged too, with a flag of its own
    flag_id: str
    readers: list[Reader]
    sheet_id: str = ""  # the 入院時情報提供書 the office posted for the staying stay

    @property
    def episodes(self) -> set[uuid.UUID]:
        return {uuid.UUID(e) for e in (self.staying, self.discharged, self.other)}


def _local(days: int) -> str:
    return (
        (datetime.now(UTC).astimezone(TOKYO) + timedelta(days=days))
        .replace(hour=10, minute=0, second=0, microsecond=0)
        .isoformat()
    )


async def _reader(api: Api, name: str, org_id: str, role: str) -> Reader:
    body = {"organization_id": org_id, "role": role}
    made = (await api.client.post("/v1/api-keys", json=body, headers=admin_headers())).json()
    return Reader(name, made["key"], uuid.UUID(made["id"]), org_id)


async def _discharged_without_coordination(api: Api, hospital: str, office: str, ref: str,
                                           h: Reader) -> str:  # fmt: skip
    """A stay that went home without 退院調整, its missed-coordination flag raised; its id."""
    stay = await api.post(admission(hospital, ref, "2024-06-03T10:00:00+09:00", office), h.headers)
    gone = event("discharge", hospital, ref, "2024-06-10T10:00:00+09:00", destination="home")
    assert (await api.post(gone, h.headers)).status_code == 201
    return str(stay.json()["episode_id"])


@pytest.fixture
async def world(api: Api) -> World:
    hospital, office = await api.org("hospital"), await api.org("care_office")
    h = await _reader(api, "hospital", hospital, "hospital")
    c = await _reader(api, "care_office", office, "care_office")
    planned = (datetime.now(UTC).astimezone(TOKYO) + timedelta(days=3)).date().isoformat()
    staying = await api.post(
        admission(hospital, "W-1", _local(-2), office, planned_discharge_date=planned), h.headers
    )
    discharged = await _discharged_without_coordination(api, hospital, office, "W-2", h)
    other = await _discharged_without_coordination(api, hospital, office, "W-3", h)
    await _raise_flags(api, other)
    flag_id = await _raise_flags(api, discharged)
    info = event("admission_info", hospital, "W-1", _local(-1), care_office_id=office,
                 channel="ict", sheet=ADMISSION_INFO_EXAMPLE)  # fmt: skip
    assert (await api.post(info, c.headers)).status_code == 201
    admin = Reader("admin", ADMIN_TOKEN, None, None)
    world = World(api, hospital, staying.json()["episode_id"], discharged, other, flag_id,
                  [h, c, admin])  # fmt: skip
    sheets = await api.client.get(f"/v1/episodes/{world.staying}/sheets", headers=h.headers)
    world.sheet_id = sheets.json()["items"][0]["id"]
    return world


# How the walk calls each operation that shows patient fields, and each screen that does.
Call = Callable[[World, httpx.AsyncClient, dict[str, str]], Awaitable[httpx.Response]]
CALLS: dict[str, Call] = {
    "GET /v1/episodes/{episode_id}": lambda w, c, h: c.get(f"/v1/episodes/{w.staying}", headers=h),
    "GET /v1/episodes": lambda w, c, h: c.get(
        "/v1/episodes", params={"hospital_id": w.hospital, "encounter_ref": "W-2"}, headers=h
    ),
    "GET /v1/handovers/pending": lambda _w, c, h: c.get("/v1/handovers/pending", headers=h),
    "GET /v1/flags": lambda _w, c, h: c.get(
        "/v1/flags", params={"status": "all", "limit": 1000}, headers=h
    ),
    "POST /v1/flags/{flag_id}/acknowledge": lambda w, c, h: c.post(
        f"/v1/flags/{w.flag_id}/acknowledge", json={"note": "電話で確認"}, headers=h
    ),
    "GET /v1/episodes/{episode_id}/sheets": lambda w, c, h: c.get(
        f"/v1/episodes/{w.staying}/sheets", headers=h
    ),
    "GET /v1/episodes/{episode_id}/sheets/{sheet_id}.pdf": lambda w, c, h: c.get(
        f"/v1/episodes/{w.staying}/sheets/{w.sheet_id}.pdf", headers=h
    ),
}
SCREENS: dict[str, Call] = {
    "GET /ui/work": lambda _w, c, _h: c.get("/ui/work"),
    "GET /ui/flags": lambda _w, c, _h: c.get("/ui/flags"),
    "GET /ui/episodes/{episode_id}": lambda w, c, _h: c.get(f"/ui/episodes/{w.discharged}"),
    "GET /ui/episodes/{episode_id}/sheets/{sheet_id}": lambda w, c, _h: c.get(
        f"/ui/episodes/{w.staying}/sheets/{w.sheet_id}"
    ),
    "GET /ui/episodes/{episode_id}/sheets/{sheet_id}.pdf": lambda w, c, _h: c.get(
        f"/ui/episodes/{w.staying}/sheets/{w.sheet_id}.pdf"
    ),
    # A refused note shows the flags page again, patients and all.
    "POST /ui/flags/{flag_id}/acknowledge": lambda w, c, h: c.post(
        f"/ui/flags/{w.flag_id}/acknowledge", data={"note": "", "csrf_token": h["csrf"]}
    ),
}
# Screens that show no patient field (figures, forms, the log itself, signing in and out).
NO_PATIENT_SCREENS = frozenset({
    "GET /ui/", "GET /ui/login", "POST /ui/login", "POST /ui/logout", "GET /ui/record",
    "POST /ui/record/{kind}", "GET /ui/survey/{period}.{fmt}", "GET /ui/report",
    "GET /ui/access-log", "GET /ui/access-log.csv",
    # The sheet forms show the stay's hospital and number; a form pre-filled from the office's
    # previous sheet logs that sheet's stay itself (services/api/ui/sheets.py).
    "GET /ui/episodes/{episode_id}/sheets/new", "POST /ui/episodes/{episode_id}/sheets/new",
    # People's own screens: sign-in, enrolment, the account and the org_admin's staff list show
    # staff (names, login ids, devices), never a patient.
    "GET /ui/login/verify", "POST /ui/login/verify",
    "GET /ui/enrol/{token}", "POST /ui/enrol/{token}",
    "GET /ui/account", "POST /ui/account/password", "POST /ui/account/passkeys",
    "POST /ui/account/passkeys/{passkey_id}/delete", "POST /ui/account/totp",
    "POST /ui/account/recovery-codes", "POST /ui/account/sessions/{session_id}/end",
    "GET /ui/people", "POST /ui/people", "POST /ui/people/{user_id}/{action}",
})  # fmt: skip


def _reaches_patient(schema: Any, components: dict[str, Any], seen: set[str]) -> bool:
    """Whether a JSON schema (following $refs) can hold a patient or a sheet."""
    if isinstance(schema, list):
        return any(_reaches_patient(s, components, seen) for s in schema)
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        return name == "Patient" or _reaches_patient(components.get(name), components, seen)
    if PATIENT_PROPERTIES & set(schema.get("properties", {})):
        return True
    return any(_reaches_patient(v, components, seen) for v in schema.values())


def patient_operations(document: dict[str, Any]) -> set[str]:
    """Every operation whose success answer can show an episode's patient fields or sheets."""
    components = document.get("components", {}).get("schemas", {})
    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = [a for s, a in operation.get("responses", {}).items() if s.startswith("2")]
            if path.startswith("/v1/episodes") or _reaches_patient(answers, components, set()):
                found.add(f"{method.upper()} {path}")
    return found


def screen_routes(app: Any) -> set[str]:
    """Every screen (a route under /ui/, static files aside) as ``METHOD path``."""
    routes = (ctx.original_route for ctx in iter_route_contexts(app.routes))
    return {
        f"{method} {route.path}"
        for route in routes
        if isinstance(route, APIRoute) and route.path.startswith("/ui/")
        for method in route.methods or ()
    }


def shown_in_json(body: Any) -> Iterator[uuid.UUID]:
    """The episodes whose patient fields a JSON answer shows: every object carrying a patient."""
    if isinstance(body, list):
        for item in body:
            yield from shown_in_json(item)
    elif isinstance(body, dict):
        if body.get("patient") is not None and "episode_id" in body:
            yield uuid.UUID(body["episode_id"])
        for value in body.values():
            yield from shown_in_json(value)


def _sessions(world: World) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = world.api.client.app.state.sessionmaker  # type: ignore[attr-defined]
    return sessions


def shown_by(answer: httpx.Response) -> set[uuid.UUID]:
    """The episodes a successful answer shows: an episode's own path (its page, sheets, PDF)
    and, in JSON, every object carrying a patient."""
    if answer.status_code != 200:
        return set()
    found = EPISODE_PATH.match(answer.request.url.path)
    shown = {uuid.UUID(found.group(1))} if found else set()
    if answer.headers.get("content-type", "").startswith("application/json"):
        shown |= set(shown_in_json(answer.json()))
    return shown


async def _rows_after(world: World, after: int) -> list[AccessLogEntry]:
    async with _sessions(world)() as session:
        query = select(AccessLogEntry).where(
            AccessLogEntry.id > after, AccessLogEntry.episode_id.in_(world.episodes)
        )
        return list(await session.scalars(query))


async def _last_id(world: World) -> int:
    async with _sessions(world)() as session:
        last = select(AccessLogEntry.id).order_by(AccessLogEntry.id.desc()).limit(1)
        return await session.scalar(last) or 0


def assert_logged(rows: list[AccessLogEntry], shown: set[uuid.UUID], reader: Reader,
                  path: str) -> None:  # fmt: skip
    """Exactly one row per episode shown, naming the reader, with the request's own path."""
    assert Counter(r.episode_id for r in rows) == Counter(shown), (reader.name, path)
    for row in rows:
        assert (row.actor_type, row.actor_id) == reader.actor, (reader.name, path)
        assert row.organization_id == reader.organization_id
        assert row.path == path
        assert row.address


def test_every_operation_showing_patients_is_walked(client: httpx.AsyncClient) -> None:
    document = client.app.openapi()  # type: ignore[attr-defined]
    operations = patient_operations(document)
    assert "GET /v1/episodes/{episode_id}" in operations  # the detection itself works
    missing = operations - set(CALLS)
    assert not missing, (
        f"shows patient fields: log its reads (record_reads), add it to CALLS: {missing}"
    )
    assert set(CALLS) <= operations, "CALLS names an operation that no longer shows patients"


def test_every_screen_is_walked_or_shows_no_patient(client: httpx.AsyncClient) -> None:
    screens = screen_routes(client.app)  # type: ignore[attr-defined]
    unknown = screens - set(SCREENS) - NO_PATIENT_SCREENS
    assert not unknown, (
        f"a new screen: log its reads and add it to SCREENS, or to NO_PATIENT_SCREENS: {unknown}"
    )
    assert set(SCREENS) | NO_PATIENT_SCREENS <= screens, "a listed screen no longer exists"


async def test_each_api_answer_logs_one_row_per_episode_it_shows(world: World) -> None:
    client = world.api.client
    walked: Counter[str] = Counter()
    for reader in world.readers:
        for operation, call in CALLS.items():
            before = await _last_id(world)
            answer = await call(world, client, reader.headers)
            shown = shown_by(answer)
            rows = await _rows_after(world, before)
            assert_logged(rows, shown & world.episodes, reader, answer.request.url.path)
            walked[operation] += bool(shown & world.episodes)
    assert set(walked) == set(CALLS)
    assert all(walked.values()), f"an operation showed none of the region's patients: {walked}"


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


async def _log_in(browser: httpx.AsyncClient, reader: Reader) -> dict[str, str]:
    browser.cookies.clear()
    form = await browser.get("/ui/login")
    done = await browser.post(
        "/ui/login", data={"api_key": reader.token, "csrf_token": _csrf(form.text)}
    )
    assert done.status_code == 303, done.text
    return {"csrf": _csrf((await browser.get("/ui/")).text)}


async def test_each_screen_logs_one_row_per_episode_it_shows(
    world: World, browser: httpx.AsyncClient
) -> None:
    walked: Counter[str] = Counter()
    for reader in world.readers:
        context = await _log_in(browser, reader)
        for screen, call in SCREENS.items():
            before = await _last_id(world)
            page = await call(world, browser, context)
            shown = shown_by(page) | {e for e in world.episodes if str(e) in page.text}
            rows = await _rows_after(world, before)
            assert_logged(rows, shown, reader, page.request.url.path)
            walked[screen] += bool(shown)
    assert set(walked) == set(SCREENS)
    assert all(walked.values()), f"a screen showed none of the region's patients: {walked}"


async def test_answers_without_patient_fields_write_nothing(world: World) -> None:
    client, admin = world.api.client, world.readers[-1]
    viewer = await _reader(world.api, "viewer", await world.api.org("municipality"), "viewer")
    before = await _last_id(world)
    for reader, path in [(admin, "/v1/flags"), (viewer, "/v1/flags"), (viewer, "/v1/metrics")]:
        answer = await client.get(path, params={"month": "2024-06"} if "metrics" in path else {},
                                  headers=reader.headers)  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert not set(shown_in_json(answer.json()))
    assert await _rows_after(world, before) == []


async def test_a_list_of_patients_is_logged_in_one_statement(world: World) -> None:
    office = world.readers[1]
    with captured(world.api.client) as statements:
        answer = await world.api.client.get("/v1/handovers/pending", headers=office.headers)
    assert len(set(shown_in_json(answer.json()))) == 3
    inserts = [s for s, _ in statements if s.lstrip().upper().startswith("INSERT INTO ACCESS_LOG")]
    assert len(inserts) == 1, inserts
