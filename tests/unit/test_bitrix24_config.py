"""The ``bitrix24.oauth`` settings block and the client built from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bitrix1c.bitrix24.auth import StateTokenStore
from bitrix1c.bitrix24.config import open_client
from bitrix1c.errors import Bitrix24AuthError
from bitrix1c.settings import Bitrix24Settings
from bitrix1c.state.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    yield store
    await store.close()


def settings(**oauth: object) -> Bitrix24Settings:
    return Bitrix24Settings.model_validate(
        {
            "webhook_url": "https://acme.bitrix24.ru/rest/1/code/",
            "oauth": {
                "client_id": "local.1",
                "client_secret": "s3cret",
                "member_id": "m1",
                "domain": "acme.bitrix24.ru",
                **oauth,
            },
        }
    )


def portal(request: httpx.Request) -> httpx.Response:
    if request.url.host == "oauth.bitrix.info":
        assert request.url.params["refresh_token"] == "r-initial"
        return httpx.Response(
            200,
            json={
                "access_token": "a1",
                "refresh_token": "r1",
                "expires_in": 3600,
                "member_id": "m1",
                "client_endpoint": "https://acme.bitrix24.ru/rest/",
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "domain": "oauth.bitrix.info",
            },
        )
    assert request.url.params["auth"] == "a1"
    body = request.content.decode()
    return httpx.Response(200, json={"result": body})


async def test_first_start_seeds_the_store_from_the_refresh_token(store: Store) -> None:
    b24 = await open_client(
        settings(refresh_token="r-initial"), store, transport=httpx.MockTransport(portal)
    )
    async with b24:
        reply = await b24.call("crm.company.add", {"fields": {"TITLE": "x"}})
    assert '"auth_connector": "bitrix1c"' in reply.result  # our writes are marked
    saved = await StateTokenStore(store).load("m1")
    assert saved is not None and (saved.access_token, saved.refresh_token) == ("a1", "r1")
    assert saved.domain == "acme.bitrix24.ru"


async def test_without_tokens_the_user_is_told_to_reauthorize(store: Store) -> None:
    with pytest.raises(Bitrix24AuthError, match="re-authorize the application"):
        await open_client(settings(), store)


async def test_webhook_settings_still_give_a_webhook_client(store: Store) -> None:
    plain = Bitrix24Settings.model_validate(
        {"webhook_url": "https://acme.bitrix24.ru/rest/1/code/"}
    )
    async with await open_client(plain, store) as b24:
        assert b24.auth is None and b24.portal == "acme.bitrix24.ru"
