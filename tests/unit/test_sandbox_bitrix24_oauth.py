"""OAuth of the Bitrix24 emulator: install payload, token server, expiry, rotation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.sandbox.bitrix24 import Portal, create_app

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None, base_url=BASE)
    yield p
    p.close()


def asgi_client(portal: Portal) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(create_app(portal)), base_url=BASE)


@pytest.fixture
async def client(portal: Portal) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(portal) as c:
        yield c


async def refresh(
    client: httpx.AsyncClient, refresh_token: str, secret: str = "s3cret"
) -> tuple[int, dict[str, Any]]:
    response = await client.get(
        "/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": "local.app",
            "client_secret": secret,
            "refresh_token": refresh_token,
        },
    )
    return response.status_code, response.json()


async def test_install_payload_names_the_portal_and_its_token_server(portal: Portal) -> None:
    auth = portal.install_application("local.app", "s3cret", application_token="apptok")
    assert set(auth) >= {
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "scope",
        "domain",
        "server_endpoint",
        "client_endpoint",
        "member_id",
        "application_token",
        "status",
        "user_id",
    }
    assert auth["server_endpoint"] == f"{BASE}/oauth/"
    assert auth["client_endpoint"] == f"{BASE}/rest/"
    assert auth["domain"] == "127.0.0.1:8765"
    assert auth["application_token"] == "apptok"
    assert auth["expires_in"] == 3600
    assert auth["access_token"] != auth["refresh_token"]


async def test_rest_call_with_access_token(portal: Portal, client: httpx.AsyncClient) -> None:
    auth = portal.install_application("local.app", "s3cret")
    reply = await client.post(
        "/rest/crm.company.add.json",
        json={"auth": auth["access_token"], "fields": {"TITLE": "ООО Тест"}},
    )
    assert reply.status_code == 200
    assert reply.json()["result"] == 1
    unknown = await client.get("/rest/crm.company.list", params={"auth": "nope"})
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "NO_AUTH_FOUND"


async def test_expired_token_then_refresh_gives_a_working_pair(
    portal: Portal, client: httpx.AsyncClient
) -> None:
    auth = portal.install_application("local.app", "s3cret")
    portal.expire_access_tokens()
    expired = await client.get("/rest/crm.company.list", params={"auth": auth["access_token"]})
    assert expired.status_code == 401
    assert expired.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired.",
    }
    status, pair = await refresh(client, auth["refresh_token"])
    assert status == 200
    assert {"access_token", "refresh_token", "expires", "expires_in", "member_id"} <= set(pair)
    assert pair["refresh_token"] != auth["refresh_token"]
    assert pair["client_endpoint"] == f"{BASE}/rest/"
    again = await client.get("/rest/crm.company.list", params={"auth": pair["access_token"]})
    assert again.status_code == 200


async def test_refresh_token_rotates(portal: Portal, client: httpx.AsyncClient) -> None:
    auth = portal.install_application("local.app", "s3cret")
    status, first = await refresh(client, auth["refresh_token"])
    assert status == 200
    status, reused = await refresh(client, auth["refresh_token"])
    assert (status, reused["error"]) == (400, "invalid_grant")
    status, second = await refresh(client, first["refresh_token"])
    assert status == 200 and second["access_token"] != first["access_token"]


async def test_refresh_errors(portal: Portal, client: httpx.AsyncClient) -> None:
    auth = portal.install_application("local.app", "s3cret")
    status, body = await refresh(client, auth["refresh_token"], secret="wrong")
    assert (status, body["error"]) == (401, "invalid_client")
    portal.revoke_refresh_tokens()
    status, body = await refresh(client, auth["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert body["error_description"]


async def test_authorization_code_grant_works_once(
    portal: Portal, client: httpx.AsyncClient
) -> None:
    portal.install_application("local.app", "s3cret")
    code = portal.issue_authorization_code("local.app")
    params = {
        "grant_type": "authorization_code",
        "client_id": "local.app",
        "client_secret": "s3cret",
        "code": code,
    }
    first = await client.post("/oauth/token/", params=params)
    assert first.status_code == 200 and first.json()["access_token"]
    second = await client.post("/oauth/token/", params=params)
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")


async def test_webhook_cannot_bind_events(portal: Portal, client: httpx.AsyncClient) -> None:
    hook = f"/rest/{portal.webhook_user_id}/{portal.webhook_code}"
    reply = await client.post(
        f"{hook}/event.bind", json={"event": "ONCRMCOMPANYADD", "handler": "http://x/"}
    )
    assert reply.status_code == 403
    assert reply.json()["error"] == "WRONG_AUTH_TYPE"


async def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "portal.sqlite"
    first = Portal(db, base_url=BASE)
    auth = first.install_application("local.app", "s3cret")
    first.close()
    second = Portal(db, base_url=BASE)
    try:
        client = asgi_client(second)
        ok = await client.get("/rest/crm.company.list", params={"auth": auth["access_token"]})
        assert ok.status_code == 200
        status, _ = await refresh(client, auth["refresh_token"])
        assert status == 200
    finally:
        second.close()
