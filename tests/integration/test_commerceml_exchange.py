"""1C's exchange with site, driven end to end by the sandbox client against bitrix1c's server."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from bitrix1c.onec.commerceml import (
    Offer,
    Order,
    OrderLine,
    Party,
    Price,
    PriceType,
    Product,
    Unit,
    inspect,
    write_catalog,
    write_offers,
)
from bitrix1c.sandbox.onec.exchange_client import ExchangeClient, ExchangeError
from bitrix1c.settings import CommerceMLSettings
from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox
from bitrix1c.web.commerceml import ExchangeServer

DATA = Path(__file__).parents[1] / "data" / "commerceml"
USER, PASSWORD = "1c-exchange", "пароль-1С"  # 1C sends Basic auth in UTF-8


class Orders:
    """The site's orders waiting for 1C, and what 1C confirmed."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = list(orders)
        self.delivered: list[Order] = []

    async def orders_for_1c(self) -> Sequence[Order]:
        return list(self.orders)

    async def orders_delivered(self, orders: Sequence[Order]) -> None:
        self.delivered.extend(orders)
        self.orders = [o for o in self.orders if o not in orders]


class ExchangeService:
    """bitrix1c's exchange endpoint served by uvicorn on a free port, in a thread."""

    def __init__(self, url: str, build: Callable[[Store], ExchangeServer]) -> None:
        self.url, self.build = url, build
        self.port = 0
        self._ready = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        store = await Store.open(self.url)
        exchange = self.build(store)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=exchange.routes())
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)
        self._ready.set()
        await task
        exchange.close()
        await store.close()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(30)
        return f"http://127.0.0.1:{self.port}/bitrix/admin/1c_exchange.php"

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.should_exit = True
        self._thread.join(30)


def settings(tmp_path: Path, **overrides: Any) -> CommerceMLSettings:
    values: dict[str, Any] = {
        "base": "trade",
        "username": USER,
        "password": SecretStr(PASSWORD),
        "work_dir": tmp_path / "exchange",
        **overrides,
    }
    return CommerceMLSettings(**values)


@pytest.fixture
def serve(sqlite_url: str) -> Iterator[Callable[..., str]]:
    services: list[ExchangeService] = []

    def start(config: CommerceMLSettings, orders: Orders | None = None) -> str:
        service = ExchangeService(
            sqlite_url, lambda store: ExchangeServer(store, config, orders=orders)
        )
        services.append(service)
        return service.__enter__()

    yield start
    for service in services:
        service.__exit__()


async def inbox_rows(url: str) -> list[dict[str, Any]]:
    store = await Store.open(url)
    try:
        async with store.engine.connect() as conn:
            result = await conn.execute(sa.select(inbox).order_by(inbox.c.id))
            return [dict(row) for row in result.mappings()]
    finally:
        await store.close()


def records(rows: list[dict[str, Any]], file: str) -> list[dict[str, Any]]:
    return [r for row in rows if row["payload"]["file"] == file for r in row["payload"]["records"]]


async def test_the_test_files_import_completely_from_a_zip_archive(
    serve: Callable[..., str], sqlite_url: str, tmp_path: Path
) -> None:
    url = serve(settings(tmp_path, zip=True))
    names = ["import_204_cp1251.xml", "offers_204_cp1251.xml", "import_210_bom.xml"]
    names += ["offers_207_utf8.xml", "rests_210.xml", "prices_210.xml"]
    files = {name: (DATA / name).read_bytes() for name in names}
    with ExchangeClient(url, USER, PASSWORD) as client:
        report = await asyncio.to_thread(client.run_catalog, files)
    assert report.zip and report.uploads == {"exchange.zip": 1}
    assert set(report.imports) == set(names)

    rows = await inbox_rows(sqlite_url)
    assert {row["source"] for row in rows} == {"commerceml:trade"}
    for name in names:
        expected = inspect(DATA / name).counts
        got: dict[str, int] = {}
        for record in records(rows, name):
            got[record["kind"]] = got.get(record["kind"], 0) + 1
        assert got == expected, name
    events = {row["payload"]["file"]: row["event"] for row in rows}
    assert events["import_204_cp1251.xml"] == "commerceml.catalog"
    assert events["offers_207_utf8.xml"] == "commerceml.offers"

    boots = [r for r in records(rows, "offers_204_cp1251.xml") if r["id"].startswith("7c6e5a10")]
    assert [b["id"].split("#")[1][:8] for b in boots] == ["7c6e5a11", "7c6e5a12"]
    rice = records(rows, "offers_207_utf8.xml")[3]  # after the price type and 2 warehouses
    assert rice["stock"] == {
        "8d9e0f1a-2b3c-4d4e-9f5a-6b7c8d9e0f1a": "120.5",
        "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b": "5",
    }
    fridge = records(rows, "import_204_cp1251.xml")[6]
    assert (fridge["name"], fridge["unit"]["code"]) == ("Холодильник Атлант ХМ 4010-022", "796")


def big_catalog(count: int) -> dict[str, bytes]:
    unit = Unit("796", "шт", "Штука", "PCE")
    products = [
        Product(
            id=f"00000000-0000-4000-8000-{i:012d}",
            name=f"Товар № {i} «тест»",
            article=f"A-{i}",
            unit=unit,
        )
        for i in range(count)
    ]
    catalog, offers = io.BytesIO(), io.BytesIO()
    write_catalog(catalog, classifier_id="c", catalog_id="c", name="Каталог", products=products)
    write_offers(
        offers,
        offers_id="c#",
        catalog_id="c",
        classifier_id="c",
        name="Предложения",
        price_types=[PriceType("p", "Розничная", "RUB", True)],
        offers=[
            Offer(id=p.id, prices=(Price("p", Decimal(i) + Decimal("0.99"), "RUB", "шт"),))
            for i, p in enumerate(products)
        ],
        encoding="windows-1251",
    )
    return {"import.xml": catalog.getvalue(), "offers.xml": offers.getvalue()}


async def test_a_large_catalog_goes_in_chunks_and_is_imported_with_progress_answers(
    serve: Callable[..., str], sqlite_url: str, tmp_path: Path
) -> None:
    url = serve(settings(tmp_path, zip=False, file_limit=65536, import_step=400))
    files = big_catalog(1000)
    assert len(files["import.xml"]) > 3 * 65536
    with ExchangeClient(url, USER, PASSWORD) as client:
        report = await asyncio.to_thread(client.run_catalog, files)
    assert not report.zip and report.file_limit == 65536
    assert report.uploads["import.xml"] == -(-len(files["import.xml"]) // 65536)
    assert report.imports == {"import.xml": 2, "offers.xml": 2}  # 400 + 400 + 200 records
    rows = await inbox_rows(sqlite_url)
    products = records(rows, "import.xml")
    assert len(products) == 1000 and len({p["id"] for p in products}) == 1000
    assert products[999]["name"] == "Товар № 999 «тест»"
    prices = [r for r in records(rows, "offers.xml") if r["kind"] == "offer"]
    assert prices[5]["prices"][0]["value"] == "5.99"
    assert [row["payload"]["batch"] for row in rows if row["payload"]["file"] == "import.xml"] == [
        1,
        2,
        3,
    ]


async def test_a_broken_file_is_refused_with_its_line_and_nothing_of_it_is_stored(
    serve: Callable[..., str], sqlite_url: str, tmp_path: Path
) -> None:
    url = serve(settings(tmp_path, zip=False, import_step=1))
    good = (DATA / "import_210_bom.xml").read_bytes()
    broken = good.replace("<Артикул>М-1</Артикул>".encode(), "<Артикул>М-1</Артикл>".encode())
    with ExchangeClient(url, USER, PASSWORD) as client:
        with pytest.raises(ExchangeError) as caught:
            await asyncio.to_thread(client.run_catalog, {"import.xml": broken})
    assert caught.value.answer.startswith("failure\n")
    line = (
        broken.decode("utf-8-sig")
        .splitlines()
        .index(next(s for s in broken.decode("utf-8-sig").splitlines() if "</Артикл>" in s))
    )
    assert f"line {line + 1}" in caught.value.answer
    assert "mismatched tag" in caught.value.answer
    assert await inbox_rows(sqlite_url) == []


async def test_wrong_password_and_calls_without_the_session_cookie_fail(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve(settings(tmp_path))
    with ExchangeClient(url, USER, "wrong") as client:
        with pytest.raises(ExchangeError) as caught:
            await asyncio.to_thread(client.run_catalog, {})
    assert caught.value.mode == "checkauth"
    assert "wrong user name or password" in caught.value.answer

    import httpx

    async with httpx.AsyncClient() as raw:
        answer = await raw.get(url, params={"type": "catalog", "mode": "init"})
    assert answer.text.startswith("failure\n") and "checkauth" in answer.text


async def test_sale_exchange_gives_orders_to_1c_and_takes_its_answer(
    serve: Callable[..., str], sqlite_url: str, tmp_path: Path
) -> None:
    order = Order(
        id="1051",
        number="1051",
        date=datetime(2025, 2, 4, 10, 5, 13),
        total=Decimal("65980.00"),
        parties=(
            Party(
                id="77", name='ООО "Ромашка"', role="Покупатель", inn="7710140679", kpp="771001001"
            ),
        ),
        lines=(
            OrderLine(
                id="5b3b1f20-5a8e-11e4-9803-0800200c9a66",
                name="Холодильник Атлант ХМ 4010-022",
                quantity=Decimal(2),
                price=Decimal("32990.00"),
                total=Decimal("65980.00"),
                unit=Unit("796", "шт", "Штука", "PCE"),
            ),
        ),
        requisites={"Метод оплаты": "Безналичный расчет"},
    )
    source = Orders([order])
    url = serve(settings(tmp_path, orders_encoding="windows-1251"), source)
    answer = {"documents___1c.xml": (DATA / "documents_208_utf8.xml").read_bytes()}
    with ExchangeClient(url, USER, PASSWORD) as client:
        report = await asyncio.to_thread(client.run_sale, answer)

    assert report.orders_xml.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert report.orders == [order]  # what 1C read is what the site meant
    assert source.delivered == [order] and source.orders == []
    rows = await inbox_rows(sqlite_url)
    assert [row["event"] for row in rows] == ["commerceml.orders"]
    [reply] = records(rows, "documents___1c.xml")
    assert reply["requisites"]["Номер по 1С"] == "УТ-000123"
    assert reply["parties"][0]["inn"] == "7710140679"


async def test_the_catalog_of_an_emulated_1c_base_reaches_bitrix1c(
    serve: Callable[..., str], sqlite_url: str, tmp_path: Path
) -> None:
    from bitrix1c.sandbox.onec import OneCBase
    from bitrix1c.sandbox.onec.exchange_client import catalog_files

    base = OneCBase(None)
    pieces = base.create(
        "Catalog_УпаковкиЕдиницыИзмерения",
        {"Code": "796", "Description": "шт", "НаименованиеПолное": "Штука"},
    )
    kilos = base.create(
        "Catalog_УпаковкиЕдиницыИзмерения",
        {"Code": "166", "Description": "кг", "НаименованиеПолное": "Килограмм"},
    )
    folder = base.create("Catalog_Номенклатура", {"Description": "Бакалея", "IsFolder": True})
    retail = base.create("Catalog_ВидыЦен", {"Description": "Розничная", "ЦенаВключаетНДС": True})
    store = base.create("Catalog_Склады", {"Description": "Основной склад"})
    items = []
    for i in range(12):
        unit = kilos if i % 2 else pieces
        item = base.create(
            "Catalog_Номенклатура",
            {
                "Description": f"Товар {i}",
                "Артикул": f"АРТ-{i:03d}",
                "Parent_Key": folder["Ref_Key"],
                "ЕдиницаИзмерения_Key": unit["Ref_Key"],
            },
        )
        base.create(
            "InformationRegister_ЦеныНоменклатуры_RecordType",
            {
                "Period": "2025-01-01T00:00:00",
                "Номенклатура_Key": item["Ref_Key"],
                "ВидЦены_Key": retail["Ref_Key"],
                "Цена": 100 + i,
            },
        )
        base.create(
            "AccumulationRegister_ТоварыНаСкладах_RecordType",
            {
                "Recorder": item["Ref_Key"],
                "LineNumber": "1",
                "RecordType": "Receipt",
                "Номенклатура_Key": item["Ref_Key"],
                "Склад_Key": store["Ref_Key"],
                "ВНаличии": i,
            },
        )
        items.append(item)

    url = serve(settings(tmp_path, zip=True, import_step=5))
    with ExchangeClient(url, USER, PASSWORD) as client:
        report = await asyncio.to_thread(client.run_catalog, catalog_files(base, encoding="windows-1251"))  # fmt: skip
    assert report.imports == {"import.xml": 2, "offers.xml": 2}  # 13 and 14 records

    rows = await inbox_rows(sqlite_url)
    products = [r for r in records(rows, "import.xml") if r["kind"] == "product"]
    assert [(p["id"], p["article"], p["unit"]["code"]) for p in products] == [
        (item["Ref_Key"], f"АРТ-{i:03d}", "166" if i % 2 else "796") for i, item in enumerate(items)
    ]
    assert {g for p in products for g in p["group_ids"]} == {folder["Ref_Key"]}
    offers = [r for r in records(rows, "offers.xml") if r["kind"] == "offer"]
    assert offers[7]["prices"][0]["value"] == "107"
    assert offers[7]["stock"] == {store["Ref_Key"]: "7"}
