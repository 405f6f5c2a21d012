"""POST /hooks/1c/<base>: what 1C gets back and what lands in the inbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox
from bitrix1c.web.onec_push import routes

TOKEN = "s3cr3t-Tok3n_x"
REF = "8f2c5a7e-0b1d-11ef-9c3a-00155d010203"


def change(**overrides: object) -> dict[str, object]:
    return {
        "type": "Document_ЗаказКлиента",
        "Ref_Key": REF,
        "DataVersion": "AAAAAgAAAAA=",
        "event": "posted",
        "changed_at": "2025-02-04T12:29:54",
        **overrides,
    }


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url)
    yield store
    await store.close()


@pytest.fixture
async def client(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(store, {"trade": TOKEN, "buh": "other"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bitrix1c") as client:
        yield client


async def rows(store: Store) -> list[dict[str, object]]:
    async with store.engine.connect() as conn:
        result = await conn.execute(sa.select(inbox).order_by(inbox.c.id))
        return [dict(row) for row in result.mappings()]


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_posted_document_lands_in_the_inbox_before_the_answer(
    client: httpx.AsyncClient, store: Store
) -> None:
    response = await client.post("/hooks/1c/trade", json={"changes": [change()]}, headers=bearer())
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "accepted": 1, "duplicates": 0}
    [row] = await rows(store)
    assert (row["source"], row["event"], row["object_type"], row["object_id"], row["status"]) == (
        "1c:trade",
        "posted",
        "Document_ЗаказКлиента",
        REF,
        "new",
    )
    assert row["payload"]["DataVersion"] == "AAAAAgAAAAA="
    assert row["payload"]["changed_at"] == "2025-02-04T12:29:54"


async def test_a_batch_with_a_repeat_is_stored_once_and_a_resend_is_still_ok(
    client: httpx.AsyncClient, store: Store
) -> None:
    other = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
    batch = {
        "changes": [
            change(event="written", DataVersion="AAAAAQAAAAA="),
            change(),
            change(),  # the same change twice in one request
            change(type="Catalog_Контрагенты", Ref_Key=other.upper(), event="deletion-marked"),
        ]
    }
    first = await client.post("/hooks/1c/trade", json=batch, headers=bearer())
    assert first.json() == {"status": "ok", "accepted": 3, "duplicates": 1}
    again = await client.post("/hooks/1c/trade", json=batch, headers=bearer())
    assert again.status_code == 200
    assert again.json() == {"status": "ok", "accepted": 0, "duplicates": 4}
    stored = await rows(store)
    assert [(r["event"], r["object_id"]) for r in stored] == [
        ("written", REF),
        ("posted", REF),
        ("deletion-marked", other),
    ]
    # a later version of the same document is a new change
    later = await client.post(
        "/hooks/1c/trade", json=change(DataVersion="AAAAAwAAAAA="), headers=bearer()
    )
    assert later.json()["accepted"] == 1


async def test_the_token_header_and_a_utf8_bom_body_as_1c_writes_it(
    client: httpx.AsyncClient, store: Store
) -> None:
    body = "\ufeff" + json.dumps(change(event="unposted"), ensure_ascii=False)
    response = await client.post(
        "/hooks/1c/trade",
        content=body.encode("utf-8"),
        headers={"X-Bitrix1c-Token": TOKEN, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert [r["event"] for r in await rows(store)] == ["unposted"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic " + TOKEN}, 401),
        ({"X-Bitrix1c-Token": "other"}, 401),  # the token of another base
    ],
)
async def test_without_the_right_token_nothing_is_stored(
    client: httpx.AsyncClient, store: Store, headers: dict[str, str], status: int
) -> None:
    response = await client.post("/hooks/1c/trade", json=change(), headers=headers)
    assert response.status_code == status
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await rows(store) == []


async def test_an_unknown_base_is_404(client: httpx.AsyncClient, store: Store) -> None:
    response = await client.post("/hooks/1c/retail", json=change(), headers=bearer())
    assert response.status_code == 404
    assert await rows(store) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": [change(), change(Ref_Key="not-a-guid")]}, "changes[1].Ref_Key"),
        ({"changes": [change(event="deleted")]}, "changes[0].event"),
        (
            {"changes": [{k: v for k, v in change().items() if k != "DataVersion"}]},
            "changes[0].DataVersion",
        ),
        (change(type="AccumulationRegister_ТоварыНаСкладах"), "changes[0].type"),
        ({"changes": []}, "changes"),
        ("posted", "(body)"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, store: Store, body: object, field: str
) -> None:
    response = await client.post("/hooks/1c/trade", json=body, headers=bearer())
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    assert await rows(store) == []


async def test_a_body_that_is_not_json_is_400(client: httpx.AsyncClient, store: Store) -> None:
    response = await client.post("/hooks/1c/trade", content=b"{'changes':", headers=bearer())
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]
    assert await rows(store) == []


async def test_a_bare_list_of_changes_is_accepted(client: httpx.AsyncClient, store: Store) -> None:
    response = await client.post("/hooks/1c/trade", json=[change()], headers=bearer())
    assert response.json()["accepted"] == 1


async def test_only_post_is_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/hooks/1c/trade", headers=bearer())).status_code == 405
