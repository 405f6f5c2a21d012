"""Bitrix24 emulator over real HTTP: OAuth app, online event delivery, offline queue, faults.

The portal and a tiny Starlette event receiver each run under uvicorn on a free
127.0.0.1 port; the portal POSTs its events to the receiver like a cloud portal
POSTs to an application's handler.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from bitrix1c.sandbox.bitrix24 import Portal, create_app

APP_TOKEN = "d8c2e3b9a1f04c6e9b7a5d3c2e1f0a9b"


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class Receiver:
    """An application's event handler: records every POST it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str]]] = []
        self.status = 200

    def app(self) -> Starlette:
        async def handler(request: Request) -> PlainTextResponse:
            body = (await request.body()).decode()
            self.posts.append((request.headers.get("content-type", ""), dict(parse_qsl(body))))
            return PlainTextResponse("ok", status_code=self.status)

        return Starlette(routes=[Route("/hooks/bitrix24", handler, methods=["POST"])])


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None, burst=1000, drain_per_second=100.0, event_delay=0.01)
    yield p
    p.close()


@pytest.fixture
def base(portal: Portal) -> Iterator[str]:
    with serve(create_app(portal)) as url:
        portal.base_url = url
        yield url


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with serve(rec.app()) as url:
        yield rec, f"{url}/hooks/bitrix24"


def rest(base: str, method: str, token: str, **params: Any) -> httpx.Response:
    return httpx.post(f"{base}/rest/{method}.json", json={"auth": token, **params}, timeout=10)


def test_online_event_reaches_the_handler(
    portal: Portal, base: str, receiver: tuple[Receiver, str]
) -> None:
    rec, handler = receiver
    auth = portal.install_application("local.app", "secret", application_token=APP_TOKEN)
    token = auth["access_token"]
    bound = rest(base, "event.bind", token, event="ONCRMCOMPANYUPDATE", handler=handler)
    assert bound.json()["result"] is True
    company = rest(base, "crm.company.add", token, fields={"TITLE": "ООО Ромашка"}).json()["result"]
    rest(base, "crm.company.update", token, id=company, fields={"TITLE": "ООО «Ромашка»"})
    assert portal.events.wait_idle(10)

    assert len(rec.posts) == 1
    content_type, form = rec.posts[0]
    assert content_type == "application/x-www-form-urlencoded"
    assert form["event"] == "ONCRMCOMPANYUPDATE"
    assert form["data[FIELDS][ID]"] == str(company)
    assert form["auth[application_token]"] == APP_TOKEN
    assert form["auth[member_id]"] == auth["member_id"]
    assert form["auth[domain]"] == base.removeprefix("http://")
    assert form["auth[client_endpoint]"] == f"{base}/rest/"
    assert int(form["ts"]) > 0 and int(form["event_handler_id"]) > 0
    # The event's access token works for calls back into the portal.
    back = rest(base, "crm.company.get", form["auth[access_token]"], id=company)
    assert back.json()["result"]["TITLE"] == "ООО «Ромашка»"
    assert [d.ok for d in portal.deliveries] == [True]


def test_failed_delivery_is_not_retried(
    portal: Portal, base: str, receiver: tuple[Receiver, str]
) -> None:
    rec, handler = receiver
    rec.status = 500
    token = portal.install_application("local.app", "secret")["access_token"]
    rest(base, "event.bind", token, event="ONCRMDEALADD", handler=handler)
    rest(base, "crm.deal.add", token, fields={"TITLE": "Сделка"})
    assert portal.events.wait_idle(10)
    assert len(rec.posts) == 1
    assert [d.status for d in portal.deliveries] == [500]
    assert not portal.deliveries[0].ok


def test_offline_queue_dedups_updates_of_one_deal(portal: Portal, base: str) -> None:
    token = portal.install_application("local.app", "secret")["access_token"]
    rest(base, "event.bind", token, event="ONCRMDEALUPDATE", event_type="offline")
    deal = rest(base, "crm.deal.add", token, fields={"TITLE": "Сделка"}).json()["result"]
    for amount in range(1, 6):
        rest(base, "crm.deal.update", token, id=deal, fields={"OPPORTUNITY": amount * 100})
    reply = rest(base, "event.offline.get", token, clear=0).json()["result"]
    assert len(reply["events"]) == 1
    assert reply["events"][0]["EVENT_NAME"] == "ONCRMDEALUPDATE"
    assert reply["events"][0]["EVENT_DATA"]["FIELDS"]["ID"] == deal
    cleared = rest(base, "event.offline.clear", token, process_id=reply["process_id"])
    assert cleared.json()["result"] is True
    assert rest(base, "event.offline.get", token).json()["result"]["events"] == []


def test_expired_token_refreshes_through_server_endpoint(portal: Portal, base: str) -> None:
    auth = portal.install_application("local.app", "secret")
    portal.expire_access_tokens()
    expired = rest(base, "crm.deal.list", auth["access_token"])
    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    answer = httpx.get(
        f"{auth['server_endpoint']}token/",
        params={
            "grant_type": "refresh_token",
            "client_id": "local.app",
            "client_secret": "secret",
            "refresh_token": auth["refresh_token"],
        },
    )
    assert answer.status_code == 200
    assert rest(base, "crm.deal.list", answer.json()["access_token"]).status_code == 200


def test_faults_over_http(portal: Portal, base: str) -> None:
    hook = f"{base}/rest/{portal.webhook_user_id}/{portal.webhook_code}"
    switch = httpx.post(f"{base}/_sandbox/faults", json={"reset": 1.0})
    assert switch.json()["reset"] == 1.0
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{hook}/crm.company.add", json={"fields": {"TITLE": "X"}})
    assert portal.store.count("company") == 0
    httpx.post(f"{base}/_sandbox/faults", json={"reset": 0, "timeout": 1.0, "timeout_seconds": 1})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{hook}/crm.company.add", json={"fields": {"TITLE": "X"}}, timeout=0.3)
    assert portal.store.count("company") == 1  # the write happened; only the reply was late
    httpx.post(f"{base}/_sandbox/faults", json={"timeout": 0, "http_503": 1.0})
    overloaded = httpx.get(f"{hook}/crm.company.list")
    assert (overloaded.status_code, overloaded.json()["error"]) == (503, "OVERLOAD_LIMIT")
    state = httpx.get(f"{base}/_sandbox/faults").json()
    assert state["injected"] == {
        "http_503": 1,
        "http_500": 0,
        "timeout": 1,
        "html_error": 0,
        "reset": 1,
    }
