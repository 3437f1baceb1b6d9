"""``python -m tests.bench.bench_sign_in``: how long the password step takes for an unknown login
id and for a known one with a wrong password (they must not tell each other apart).

In process over ASGI on a scratch database; 20 people, one wrong password each (the throttle
allows 5 per login id and per address, so every attempt comes from an address of its own).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid

import httpx
import pyotp

from services.api.app import create_app
from shared.core.settings import Settings
from tests.services import fresh_database

ADMIN = "bench-sign-in-admin-token-0123456789"
PASSWORD = "a long enough passphrase 1"
PEOPLE = 20


def _field(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    assert match, html[:300]
    return match.group(1)


async def _run(url: str) -> dict[str, list[float]]:
    app = create_app(Settings(database_url=url, broker_url=url, admin_token=ADMIN,
                              enqueue_enabled=False))  # fmt: skip
    admin = {"Authorization": f"Bearer {ADMIN}"}
    times: dict[str, list[float]] = {"unknown login id": [], "wrong password": []}
    async with app.router.lifespan_context(app):

        def browser(n: int) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(f"10.77.{n // 250}.{n % 250}", 1))
            return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")

        org = f"H{uuid.uuid4().hex[:8]}"
        async with browser(999) as c:
            body = {"id": org, "kind": "hospital", "name": "bench", "region": "bench"}
            assert (await c.post("/v1/organizations", json=body, headers=admin)).is_success
            for n in range(PEOPLE):
                person = {"organization_id": org, "login_id": f"bench.person{n}",
                          "display_name": "bench", "role": "member"}  # fmt: skip
                link = (await c.post("/v1/users", json=person, headers=admin)).json()
                path = link["enrolment_url"].removeprefix("http://localhost:8000")
                page = (await c.get(path)).text
                secret = _field(r'id="totp-secret">([A-Z2-7]+)<', page)
                await c.post(path, data={
                    "csrf_token": _field(r'name="csrf_token" value="([^"]+)"', page),
                    "password": PASSWORD, "password_confirm": PASSWORD,
                    "totp_code": pyotp.TOTP(secret).now()})  # fmt: skip
        for n in range(2 * PEOPLE):
            kind = "unknown login id" if n % 2 else "wrong password"
            login_id = f"nobody{n}" if n % 2 else f"bench.person{n // 2}"
            async with browser(n) as c:
                csrf = _field(r'name="csrf_token" value="([^"]+)"', (await c.get("/ui/login")).text)
                started = time.perf_counter()
                r = await c.post("/ui/login", data={"csrf_token": csrf, "login_id": login_id,
                                                    "password": "wrong password"})  # fmt: skip
                times[kind].append(time.perf_counter() - started)
                assert r.status_code == 401, r.status_code
    return times


def main() -> None:
    with fresh_database("handover_bench_sign_in") as url:
        times = asyncio.run(_run(url))
    for kind, values in times.items():
        ms = sorted(v * 1000 for v in values)
        print(
            f"{kind:18} median {statistics.median(ms):6.0f} ms  "
            f"min {ms[0]:5.0f}  max {ms[-1]:5.0f}  (n={len(ms)})"
        )


if __name__ == "__main__":
    main()
