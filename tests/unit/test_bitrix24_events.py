"""The Bitrix24 event receiver: token check, inbox before 200; offline event pulls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.encoding import php_decode
from bitrix1c.bitrix24.events import fetch_offline_events, poll_offline_events
from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox
from bitrix1c.web.bitrix24_events import routes

TOKENS = {("m1", "acme.bitrix24.ru"): "s3cret-app-token"}


async def lookup(member_id: str, domain: str) -> str | None:
    return TOKENS.get((member_id, domain))


def deal_update(token: str, member_id: str = "m1") -> str:
    return urlencode(
        [
            ("event", "ONCRMDEALUPDATE"),
            ("event_handler_id", "201"),
            ("data[FIELDS][ID]", "759"),
            ("ts", "1736405807"),
            ("auth[domain]", "acme.bitrix24.ru"),
            ("auth[client_endpoint]", "https://acme.bitrix24.ru/rest/"),
            ("auth[member_id]", member_id),
            ("auth[application_token]", token),
            ("auth[access_token]", "must-not-be-stored"),
        ]
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    yield store
    await store.close()


async def post(store: Store, body: str) -> httpx.Response:
    app = Starlette(routes=routes(store, lookup))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service"
    ) as http:
        return await http.post(
            "/hooks/bitrix24",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )


async def inbox_rows(store: Store) -> list[dict]:
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(inbox))).mappings()]


def test_php_bracket_payload_is_rebuilt() -> None:
    data = php_decode(parse_qsl(deal_update("t")))
    assert data["data"] == {"FIELDS": {"ID": "759"}}
    assert data["auth"]["member_id"] == "m1"
    assert php_decode([("id[]", "1"), ("id[]", "2")]) == {"id": {"0": "1", "1": "2"}}


async def test_event_of_a_known_portal_lands_in_the_inbox(store: Store) -> None:
    response = await post(store, deal_update("s3cret-app-token"))
    assert response.status_code == 200
    rows = await inbox_rows(store)
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["event"], row["object_type"], row["object_id"]) == (
        "bitrix24",
        "ONCRMDEALUPDATE",
        "deal",
        "759",
    )
    assert row["status"] == "new"
    assert "must-not-be-stored" not in json.dumps(row["payload"])
    assert response.json()["id"] == row["id"]


@pytest.mark.parametrize(
    "body",
    [
        deal_update("wrong-token"),
        deal_update("s3cret-app-token", member_id="someone-else"),
        deal_update(""),
        "event=ONCRMDEALUPDATE",
    ],
    ids=["wrong token", "unknown portal", "empty token", "no auth"],
)
async def test_unverified_events_are_refused_and_not_stored(store: Store, body: str) -> None:
    response = await post(store, body)
    assert response.status_code == 401
    assert await inbox_rows(store) == []


async def test_offline_events_are_cleared_only_after_processing() -> None:
    queue = [
        {
            "ID": str(i),
            "EVENT_NAME": "ONCRMCOMPANYUPDATE",
            "MESSAGE_ID": f"m{i}",
            "EVENT_DATA": {"FIELDS": {"ID": str(i)}},
        }
        for i in range(3)
    ]
    calls: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        params = json.loads(request.content)
        calls.append((method, params))
        if method == "event.offline.get":
            events = [e for e in queue if e["MESSAGE_ID"] not in cleared][: params["limit"]]
            return httpx.Response(200, json={"result": {"process_id": "p1", "events": events}})
        cleared.update(params["message_id"])
        return httpx.Response(200, json={"result": True})

    cleared: set[str] = set()
    async with Bitrix24Client(
        "https://acme.bitrix24.ru/rest/1/code/",
        rate=1000,
        burst=1000,
        transport=httpx.MockTransport(handler),
    ) as b24:
        with pytest.raises(RuntimeError):
            async for _batch in fetch_offline_events(b24, auth_connector="bitrix1c", limit=2):
                raise RuntimeError("handler failed")
        assert cleared == set()  # failed batch stays in the queue
        seen = []
        async for batch in fetch_offline_events(b24, auth_connector="bitrix1c", limit=2):
            seen += [e.EVENT_NAME for e in batch.events]
    assert len(seen) == 3 and cleared == {"m0", "m1", "m2"}
    get_params = calls[0][1]
    assert get_params["clear"] == 0 and get_params["auth_connector"] == "bitrix1c"


async def test_poller_clears_nothing_when_the_inbox_cannot_store(store: Store) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        calls.append(method)
        event = {"ID": "7", "EVENT_NAME": "ONCRMDEALADD", "EVENT_DATA": {"FIELDS": {"ID": 12}}}
        return httpx.Response(200, json={"result": {"process_id": "p", "events": [event]}})

    async with store.transaction() as conn:
        await conn.execute(sa.text("DROP TABLE inbox"))  # the store breaks
    async with Bitrix24Client(
        "https://acme.bitrix24.ru/rest/1/code/",
        rate=1000,
        burst=1000,
        transport=httpx.MockTransport(handler),
    ) as b24:
        with pytest.raises(sa.exc.SQLAlchemyError):
            await poll_offline_events(b24, store, process_id="p")
    assert calls == ["event.offline.get"]  # the batch stays reserved in Bitrix24
