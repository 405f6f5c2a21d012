"""OAuth application auth of the Bitrix24 client against a scripted portal and token server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.bitrix24.auth import (
    MemoryTokenStore,
    OAuth2Auth,
    StateTokenStore,
    TokenPair,
    token_url,
)
from bitrix1c.bitrix24.client import Bitrix24Client, RetryStrategy
from bitrix1c.errors import Bitrix24AuthError, StopAndAlert
from bitrix1c.state.store import Store

FAST = RetryStrategy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002)


def pair(access: str = "a0", refresh: str = "r0") -> TokenPair:
    return TokenPair(
        member_id="m1",
        domain="acme.bitrix24.ru",
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(UTC),
        client_endpoint="https://acme.bitrix24.ru/rest/",
        server_endpoint="https://oauth.bitrix.info/rest/",
        scope="crm",
        application_token="app-token",
    )


class FakeBitrix:
    """A portal whose access token expires on demand, and its rotating token server."""

    def __init__(self) -> None:
        self.valid_access = "a0"
        self.valid_refresh = "r0"
        self.generation = 0
        self.refresh_calls = 0
        self.refuse_refresh = False
        self.seen_tokens: list[str] = []

    def expire(self) -> None:
        self.valid_access = "expired-now"

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token/":
            self.refresh_calls += 1
            await asyncio.sleep(0.01)  # let concurrent callers pile up
            params = dict(request.url.params)
            if self.refuse_refresh or params.get("refresh_token") != self.valid_refresh:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": "Invalid grant"}
                )
            self.generation += 1
            self.valid_access = f"a{self.generation}"
            self.valid_refresh = f"r{self.generation}"
            return httpx.Response(
                200,
                json={
                    "access_token": self.valid_access,
                    "refresh_token": self.valid_refresh,
                    "expires": int(datetime.now(UTC).timestamp()) + 3600,
                    "expires_in": 3600,
                    "client_endpoint": "https://acme.bitrix24.ru/rest/",
                    "server_endpoint": "https://oauth.bitrix.info/rest/",
                    "domain": "oauth.bitrix.info",
                    "member_id": "m1",
                    "scope": "crm",
                    "status": "L",
                    "user_id": 1,
                },
            )
        token = request.url.params.get("auth", "")
        self.seen_tokens.append(token)
        if token == self.valid_access:
            return httpx.Response(200, json={"result": json.loads(request.content or b"{}")})
        if token.startswith("a") or token == "expired-now":
            return httpx.Response(
                401,
                json={
                    "error": "expired_token",
                    "error_description": "The access token provided has expired.",
                },
            )
        return httpx.Response(
            401, json={"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
        )


def make_client(fake: FakeBitrix, store: Any = None) -> tuple[Bitrix24Client, OAuth2Auth]:
    transport = httpx.MockTransport(fake.handler)
    auth = OAuth2Auth(
        pair(), client_id="app.1", client_secret="s3cret", store=store, transport=transport
    )
    b24 = Bitrix24Client.for_app(auth, rate=1000, burst=1000, transport=transport, retry=FAST)
    return b24, auth


def test_token_url_follows_server_endpoint() -> None:
    assert token_url("https://oauth.bitrix.info/rest/") == "https://oauth.bitrix.info/oauth/token/"
    assert token_url("http://127.0.0.1:8001/oauth/") == "http://127.0.0.1:8001/oauth/token/"


async def test_access_token_travels_with_every_call() -> None:
    fake = FakeBitrix()
    b24, _ = make_client(fake)
    async with b24:
        reply = await b24.call("crm.company.add", {"fields": {"TITLE": "Ромашка"}})
    assert reply.result == {"fields": {"TITLE": "Ромашка"}}
    assert fake.seen_tokens == ["a0"]


async def test_expired_token_is_refreshed_once_for_many_concurrent_calls() -> None:
    fake = FakeBitrix()
    store = MemoryTokenStore(pair())
    b24, _auth = make_client(fake, store)
    async with b24:
        await b24.call("crm.company.list")
        fake.valid_access = "a-other"  # the portal no longer accepts a0: expired
        replies = await asyncio.gather(*(b24.call("crm.company.get", {"id": i}) for i in range(10)))
    assert [r.result["id"] for r in replies] == list(range(10))
    assert fake.refresh_calls == 1
    saved = await store.load("m1")
    assert saved is not None and saved.access_token == "a1" and saved.refresh_token == "r1"
    # the portal's own domain is kept, not the auth server's
    assert saved.domain == "acme.bitrix24.ru"
    assert saved.application_token == "app-token"
    assert b24.stats.token_refreshes >= 1


async def test_refused_refresh_asks_to_reauthorize() -> None:
    fake = FakeBitrix()
    fake.refuse_refresh = True
    b24, _ = make_client(fake)
    async with b24:
        fake.valid_access = "a-other"
        with pytest.raises(Bitrix24AuthError, match="re-authorize the application") as caught:
            await b24.call("crm.company.list")
    assert isinstance(caught.value, StopAndAlert)
    assert caught.value.code == "invalid_grant"


async def test_unknown_token_asks_to_reauthorize() -> None:
    fake = FakeBitrix()
    b24, auth = make_client(fake)
    auth.tokens = TokenPair(**{**auth.tokens.__dict__, "access_token": "zzz"})
    async with b24:
        with pytest.raises(Bitrix24AuthError, match="re-authorize the application") as caught:
            await b24.call("crm.company.list")
    assert caught.value.code == "NO_AUTH_FOUND"
    assert fake.refresh_calls == 0


async def test_refreshed_pair_survives_a_restart(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    try:
        tokens = StateTokenStore(store)
        await tokens.save(pair())
        fake = FakeBitrix()
        transport = httpx.MockTransport(fake.handler)
        auth = await OAuth2Auth.from_store(
            tokens, "m1", client_id="app.1", client_secret="s3cret", transport=transport
        )
        async with Bitrix24Client.for_app(auth, rate=1000, burst=1000, transport=transport) as b24:
            fake.valid_access = "a-other"
            await b24.call("crm.company.list")
        # a new process loads the rotated pair and uses it without refreshing
        again = await OAuth2Auth.from_store(
            tokens, "m1", client_id="app.1", client_secret="s3cret", transport=transport
        )
        async with Bitrix24Client.for_app(again, rate=1000, burst=1000, transport=transport) as b24:
            await b24.call("crm.company.list")
        assert fake.refresh_calls == 1
        assert fake.seen_tokens[-1] == "a1"
        assert await tokens.application_token("m1", "acme.bitrix24.ru") == "app-token"
        assert await tokens.application_token("other", "acme.bitrix24.ru") == "app-token"
        assert await tokens.application_token("other", "evil.example") is None
    finally:
        await store.close()


async def test_webhook_clients_send_no_auth_parameter() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": True})

    async with Bitrix24Client(
        "https://acme.bitrix24.ru/rest/1/code/",
        rate=1000,
        burst=1000,
        transport=httpx.MockTransport(handler),
    ) as b24:
        await b24.call("crm.company.list")
    assert "auth" not in seen[0].url.params
