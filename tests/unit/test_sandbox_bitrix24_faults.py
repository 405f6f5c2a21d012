"""Fault-injection switches of the Bitrix24 emulator, seen over its HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bitrix1c.sandbox.bitrix24 import Portal, create_app
from bitrix1c.sandbox.bitrix24.faults import Faults


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None, burst=1000, drain_per_second=100.0)
    yield p
    p.close()


def asgi_client(portal: Portal) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app(portal)), base_url="http://portal.test"
    )


@pytest.fixture
async def client(portal: Portal) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(portal) as c:
        yield c


def hook(portal: Portal) -> str:
    return f"/rest/{portal.webhook_user_id}/{portal.webhook_code}"


async def test_503_rate_one_answers_overload_on_every_call(
    portal: Portal, client: httpx.AsyncClient
) -> None:
    reply = await client.post("/_sandbox/faults", json={"http_503": 1.0})
    assert reply.status_code == 200 and reply.json()["http_503"] == 1.0
    for _ in range(5):
        answer = await client.post(
            f"{hook(portal)}/crm.company.add", json={"fields": {"TITLE": "X"}}
        )
        assert answer.status_code == 503
        assert answer.json()["error"] == "OVERLOAD_LIMIT"
    assert portal.store.count("company") == 0  # nothing was executed
    await client.post("/_sandbox/faults", json={"http_503": 0})
    ok = await client.post(f"{hook(portal)}/crm.company.add", json={"fields": {"TITLE": "X"}})
    assert ok.status_code == 200
    assert (await client.get("/_sandbox/faults")).json()["injected"]["http_503"] == 5


async def test_500_and_html_pages(portal: Portal, client: httpx.AsyncClient) -> None:
    portal.faults.configure({"http_500": 1.0})
    answer = await client.get(f"{hook(portal)}/crm.company.list")
    assert answer.status_code == 500
    assert answer.json()["error"] == "INTERNAL_SERVER_ERROR"
    portal.faults.configure({"http_500": 0, "html_error": 1.0, "html_status": 200})
    page = await client.get(f"{hook(portal)}/crm.company.list")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.lstrip().startswith("<html>")
    portal.faults.configure({"html_status": 502})
    assert (await client.get(f"{hook(portal)}/crm.company.list")).status_code == 502


async def test_faults_set_at_construction() -> None:
    portal = Portal(None, faults={"http_500": 1.0})
    try:
        async with asgi_client(portal) as client:
            answer = await client.get(f"{hook(portal)}/crm.company.list")
        assert answer.status_code == 500
    finally:
        portal.close()


def test_rates_are_deterministic_with_a_seed() -> None:
    first = Faults({"http_503": 0.3, "http_500": 0.2, "seed": 7})
    second = Faults({"http_503": 0.3, "http_500": 0.2, "seed": 7})
    draws = [first.pick() for _ in range(200)]
    assert draws == [second.pick() for _ in range(200)]
    assert 30 < draws.count("http_503") < 90  # the rate is roughly honoured
    assert None in draws


async def test_bad_settings_are_rejected(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sandbox/faults", json={"http_503": 2})).status_code == 400
    assert (await client.post("/_sandbox/faults", json={"nonsense": 1})).status_code == 400
    assert (await client.get("/_sandbox/faults")).json()["http_503"] == 0.0
