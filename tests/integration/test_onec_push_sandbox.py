"""The sandbox 1C base pushes posted documents to bitrix1c's /hooks/1c/<base> over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette

from bitrix1c.sandbox.onec import OneCBase, create_app
from bitrix1c.sandbox.onec.push_client import PushClient
from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox
from bitrix1c.web.onec_push import routes

TOKEN = "push-token-0123456789"
ORDERS = "Document_ЗаказКлиента"


class PushService:
    """bitrix1c's push endpoint served by uvicorn on a free port, in a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = 0
        self._ready = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        store = await Store.open(self.url)
        app = Starlette(routes=routes(store, {"trade": TOKEN}))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)
        self._ready.set()
        await task
        await store.close()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(30)
        return f"http://127.0.0.1:{self.port}/hooks/1c/trade"

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.should_exit = True
        self._thread.join(30)


@pytest.fixture
def hook(sqlite_url: str) -> Iterator[str]:
    with PushService(sqlite_url) as url:
        yield url


async def inbox_rows(url: str) -> list[tuple[str, str, str, str]]:
    store = await Store.open(url)
    try:
        async with store.engine.connect() as conn:
            result = await conn.execute(sa.select(inbox).order_by(inbox.c.id))
            return [
                (r["event"], r["object_type"], r["object_id"], r["payload"]["DataVersion"])
                for r in result.mappings()
            ]
    finally:
        await store.close()


async def test_an_order_written_and_posted_through_odata_is_pushed(
    hook: str, sqlite_url: str
) -> None:
    base = OneCBase(None, password="pw")
    client = PushClient(base, hook, TOKEN).attach()
    odata = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app({"trade": base})),
        base_url="http://1c/trade/odata/standard.odata/",
        auth=("odata.user", "pw"),
    )
    async with odata:
        created = await odata.post(f"{quote(ORDERS)}?$format=json", json={"Комментарий": "из CRM"})
        assert created.status_code == 201, created.text
        ref = created.json()["Ref_Key"]
        posted = await odata.post(f"{quote(ORDERS)}(guid'{ref}')/Post?$format=json")
        assert posted.status_code == 200, posted.text
        counterparty = await odata.post(
            f"{quote('Catalog_Контрагенты')}?$format=json", json={"Description": "ООО Ромашка"}
        )
        assert counterparty.status_code == 201
    version = base.get(ORDERS, ref)["DataVersion"]  # type: ignore[index]

    assert len(client.pending) == 2  # documents only: the counterparty is not registered
    delivered = await asyncio.to_thread(client.flush)
    assert delivered == 2 and client.pending == []
    rows = await inbox_rows(sqlite_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [("written", ORDERS, ref), ("posted", ORDERS, ref)]
    assert rows[1][3] == version


async def test_changes_stay_registered_until_bitrix1c_accepts_them(
    hook: str, sqlite_url: str
) -> None:
    base = OneCBase(None)
    client = PushClient(base, hook, "wrong-token", token_header="x-token").attach()
    order = base.create(ORDERS, {})
    base.set_posted(ORDERS, order["Ref_Key"], True)
    base.update(ORDERS, order["Ref_Key"], {"DeletionMark": True})

    assert await asyncio.to_thread(client.flush) == 0
    assert "401" in (client.last_error or "")
    assert [c["event"] for c in client.pending] == ["written", "posted", "deletion-marked"]
    assert await inbox_rows(sqlite_url) == []

    client.set_token(TOKEN)
    assert await asyncio.to_thread(client.flush) == 3
    assert client.pending == [] and client.last_error is None
    rows = await inbox_rows(sqlite_url)
    assert [r[0] for r in rows] == ["written", "posted", "deletion-marked"]
