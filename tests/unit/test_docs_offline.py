"""`/docs` and `/redoc` work on a closed network: every asset they name is served by the service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from services.api.app import create_app
from shared.core.settings import Settings

# src=, href= and spec-url= attributes, and the URLs in the page's script (the OpenAPI document).
ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifespan: the docs pages touch neither the database nor the broker."""
    app = create_app(Settings(database_url="postgresql://unused/unused", env="development"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def referenced(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_of_the_docs_page_is_same_host_and_served(
    client: httpx.AsyncClient, page: str
) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    urls = referenced(r.text)
    assert any(u.endswith(".js") for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme, f"{page} loads {url} from another host"
        assert not parts.netloc, f"{page} loads {url} from another host"
        assert url.startswith("/"), url
        assert (await client.get(url)).status_code == 200, url
    assert "googleapis" not in r.text
    assert "cdn." not in r.text


async def test_swagger_ui_fetches_no_validator_badge(client: httpx.AsyncClient) -> None:
    assert '"validatorUrl": null' in (await client.get("/docs")).text


async def test_the_home_page_redirects_to_the_screens(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code in (302, 307)
    assert r.headers["location"] == "/ui/"
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


async def test_redoc_may_load_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    """ReDoc's bundle draws a logo from cdn.redoc.ly: the page's policy stops the request."""
    csp = (await client.get("/redoc")).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    for name, sources in directives.items():
        for source in sources.split():
            assert source in ("'self'", "'none'", "'unsafe-inline'", "data:", "blob:"), (
                name,
                source,
            )
