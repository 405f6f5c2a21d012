"""An independent 1C OData client from PyPI (python-1c-odata, aiohttp) reads the sandbox.

If the sandbox deviated from real 1C (URLs, literals, JSON shapes, Basic auth, counts as
strings, SliceLast), a client written against real bases would fail here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

# The independent client is in the dev extra (`make test` installs it): a plain import,
# so a missing package fails instead of silently skipping the check.
import python_1c_odata as odata
import uvicorn

from bitrix1c.sandbox.onec import OneCBase, TradeData, create_app, populate_trade, populate_ut11
from bitrix1c.sandbox.seed import generate_counterparties

LOGIN = "ОбменOData"
PASSWORD = "секрет"
COUNT = 60


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, OneCBase, TradeData]]:
    base = OneCBase(None, name="trade", username=LOGIN, password=PASSWORD, predefined=True)
    seeds = list(generate_counterparties(COUNT, seed=9))
    populate_ut11(base, seeds)
    trade = populate_trade(base, seeds, orders=6)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app({base.name: base}), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", base, trade
    server.should_exit = True
    thread.join(10)
    sock.close()
    base.close()


async def test_reads_counterparties(served: tuple[str, OneCBase, TradeData]) -> None:
    server, base, _ = served
    async with odata.Infobase(server, "trade", LOGIN, PASSWORD) as infobase:
        counterparties = odata.Catalog(infobase, "Контрагенты")
        total = await counterparties.count()
        assert total == base.count("Catalog_Контрагенты")
        rows = [
            row
            async for row in counterparties.iterate(
                page_size=25, select="Ref_Key,Description,ИНН,КПП", orderby="Ref_Key"
            )
        ]
        assert len(rows) == total
        stored = {r["Ref_Key"]: r["ИНН"] for r in base.rows("Catalog_Контрагенты")}
        assert {r["Ref_Key"]: r["ИНН"] for r in rows} == stored
        one = rows[-1]
        got = await counterparties.get(one["Ref_Key"], select="Ref_Key,Description")
        assert got["Description"] == one["Description"]
        by_inn = await counterparties.query(odata_filter=f"ИНН eq '{one['ИНН']}'", select="Ref_Key")
        assert one["Ref_Key"] in [r["Ref_Key"] for r in by_inn.value]


async def test_reads_a_price_slice(served: tuple[str, OneCBase, TradeData]) -> None:
    server, _, trade = served
    retail = trade.price_types["Розничная"]
    async with odata.Infobase(server, "trade", LOGIN, PASSWORD) as infobase:
        prices = odata.InformationRegister(infobase, "ЦеныНоменклатуры", record_type=True)
        payload = await prices.slice_last(
            condition=f"ВидЦены_Key eq {odata.guid(retail)}",
            select="Номенклатура_Key,ВидЦены_Key,Цена",
        )
    rows = payload["value"] if isinstance(payload, dict) else payload
    assert {r["Номенклатура_Key"] for r in rows} == set(trade.items)
    assert all(r["ВидЦены_Key"] == retail and r["Цена"] > 0 for r in rows)
