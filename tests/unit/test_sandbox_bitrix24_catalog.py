"""``catalog.*`` of the Bitrix24 emulator: products, units, prices, stores, stock documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError

SPEC_DIR = Path(__file__).parents[1] / "data" / "reference" / "bitrix24" / "methods"


def example(method: str) -> dict[str, Any]:
    sample = json.loads((SPEC_DIR / f"{method}.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = sample["resultExample"]
    return result


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


def iblock(portal: Portal) -> int:
    catalogs = portal.call("catalog.catalog.list")["result"]["catalogs"]
    product_catalog = next(c for c in catalogs if not c["productIblockId"])
    return int(product_catalog["iblockId"])


def add_product(portal: Portal, name: str, **extra: Any) -> dict[str, Any]:
    fields = {"iblockId": iblock(portal), "name": name, **extra}
    element: dict[str, Any] = portal.call("catalog.product.add", {"fields": fields})["result"][
        "element"
    ]
    return element


def test_product_crud_and_shapes(portal: Portal) -> None:
    sample = example("catalog.product.add")["result"]["element"]
    element = add_product(portal, "Стол", xmlId="1c-guid-1", measure=5, purchasingPrice=100)
    skip = {"detailPicture", "previewPicture", "property258", "property259"}
    assert set(sample) - skip <= set(element)
    assert element["xmlId"] == "1c-guid-1"
    for key, value in sample.items():
        if key in element and value is not None and element[key] is not None:
            assert type(element[key]) is type(value) or key == "purchasingPrice", key
    got = portal.call("catalog.product.get", {"id": element["id"]})
    assert set(got["result"]) == {"product"}
    updated = portal.call(
        "catalog.product.update", {"id": element["id"], "fields": {"name": "Стол большой"}}
    )["result"]["element"]
    assert updated["name"] == "Стол большой"
    assert portal.call("catalog.product.delete", {"id": element["id"]})["result"] is True
    with pytest.raises(RestError) as exc:
        portal.call("catalog.product.get", {"id": element["id"]})
    assert (exc.value.code, exc.value.description) == ("", "product does not exist.")


def test_product_list_requirements_and_numeric_codes(portal: Portal) -> None:
    block = iblock(portal)
    for n in range(3):
        add_product(portal, f"Товар {n}", xmlId=f"guid-{n}")
    with pytest.raises(RestError) as no_select:
        portal.call("catalog.product.list", {"select": ["name"], "filter": {"iblockId": block}})
    assert no_select.value.body() == {
        "error": 0,
        "error_description": "Required select fields: id, iblockId",
    }
    with pytest.raises(RestError) as no_filter:
        portal.call("catalog.product.list", {"select": ["id", "iblockId"], "filter": {}})
    assert no_filter.value.body()["error"] == 0
    with pytest.raises(RestError) as bad_block:
        portal.call(
            "catalog.product.list", {"select": ["id", "iblockId"], "filter": {"iblockId": 7}}
        )
    assert bad_block.value.body()["error"] == 200040300000
    reply = portal.call(
        "catalog.product.list",
        {
            "select": ["id", "iblockId", "xmlId"],
            "filter": {"iblockId": block, "@xmlId": ["guid-0", "guid-2"]},
            "order": {"id": "desc"},
        },
    )
    assert reply["total"] == 2
    assert [p["xmlId"] for p in reply["result"]["products"]] == ["guid-2", "guid-0"]
    assert set(reply["result"]["products"][0]) == {"id", "iblockId", "xmlId"}


def test_measures_and_price_types(portal: Portal) -> None:
    measures = portal.call("catalog.measure.list")["result"]["measures"]
    assert {m["code"] for m in measures} >= {796, 166}
    added = portal.call(
        "catalog.measure.add", {"fields": {"code": 715, "measureTitle": "Пара", "symbol": "пар"}}
    )["result"]["measure"]
    assert set(added) == set(example("catalog.measure.add")["result"]["measure"])
    with pytest.raises(RestError) as exc:
        portal.call("catalog.measure.add", {"fields": {"code": 715}})
    assert exc.value.body()["error"] == 200600000000
    types = portal.call("catalog.priceType.list")["result"]["priceTypes"]
    assert types[0]["name"] == "BASE" and types[0]["base"] == "Y"
    wholesale = portal.call(
        "catalog.priceType.add", {"fields": {"name": "Оптовая", "xmlId": "wholesale"}}
    )["result"]["priceType"]
    assert set(wholesale) == set(example("catalog.priceType.add")["result"]["priceType"])


def test_prices_add_update_modify(portal: Portal) -> None:
    product = add_product(portal, "Стул")
    price = portal.call(
        "catalog.price.add",
        {
            "fields": {
                "productId": product["id"],
                "catalogGroupId": 1,
                "price": 100.5,
                "currency": "RUB",
            }
        },
    )["result"]["price"]
    assert set(price) == set(example("catalog.price.add")["result"]["price"])
    updated = portal.call("catalog.price.update", {"id": price["id"], "fields": {"price": 120}})
    assert updated["result"]["price"]["price"] == 120
    wholesale = portal.call("catalog.priceType.add", {"fields": {"name": "Опт"}})["result"]
    modified = portal.call(
        "catalog.price.modify",
        {
            "fields": {
                "product": {
                    "id": product["id"],
                    "prices": [
                        {"catalogGroupId": 1, "price": 200, "currency": "RUB"},
                        {
                            "catalogGroupId": wholesale["priceType"]["id"],
                            "price": 150,
                            "currency": "RUB",
                        },
                    ],
                }
            }
        },
    )["result"]["prices"]
    assert set(modified[0]) == set(example("catalog.price.modify")["result"]["prices"][0])
    listed = portal.call("catalog.price.list", {"filter": {"productId": product["id"]}})
    assert sorted(p["price"] for p in listed["result"]["prices"]) == [150, 200]
    assert listed["total"] == 2


def test_conducting_a_document_changes_stock(portal: Portal) -> None:
    product = add_product(portal, "Шкаф")
    store = portal.call("catalog.store.add", {"fields": {"title": "Склад 2", "address": "ул. 1"}})
    second = store["result"]["store"]["id"]
    stores = portal.call("catalog.store.list")["result"]["stores"]
    first = stores[0]["id"]
    arrival = portal.call("catalog.document.add", {"fields": {"docType": "A", "currency": "RUB"}})[
        "result"
    ]["document"]
    assert set(arrival) == set(example("catalog.document.add")["result"]["document"])
    element = portal.call(
        "catalog.document.element.add",
        {
            "fields": {
                "docId": arrival["id"],
                "elementId": product["id"],
                "storeTo": first,
                "amount": 10,
            }
        },
    )["result"]["documentElement"]
    assert set(element) == set(example("catalog.document.element.add")["result"]["documentElement"])
    assert portal.call("catalog.storeproduct.list")["result"]["storeProducts"] == []
    assert portal.call("catalog.document.conduct", {"id": arrival["id"]})["result"] is True
    move = portal.call("catalog.document.add", {"fields": {"docType": "M"}})["result"]["document"]
    portal.call(
        "catalog.document.element.add",
        {
            "fields": {
                "docId": move["id"],
                "elementId": product["id"],
                "storeFrom": first,
                "storeTo": second,
                "amount": 4,
            }
        },
    )
    portal.call("catalog.document.conduct", {"id": move["id"]})
    stock = portal.call("catalog.storeproduct.list", {"filter": {"productId": product["id"]}})
    amounts = {s["storeId"]: s["amount"] for s in stock["result"]["storeProducts"]}
    assert amounts == {first: 6, second: 4}
    with pytest.raises(RestError):
        portal.call("catalog.document.conduct", {"id": move["id"]})
    too_much = portal.call("catalog.document.add", {"fields": {"docType": "D"}})["result"]
    portal.call(
        "catalog.document.element.add",
        {
            "fields": {
                "docId": too_much["document"]["id"],
                "elementId": product["id"],
                "storeFrom": second,
                "amount": 5,
            }
        },
    )
    with pytest.raises(RestError):
        portal.call("catalog.document.conduct", {"id": too_much["document"]["id"]})
    assert portal.call("catalog.document.list")["total"] == 3


def test_product_events_and_batch(portal: Portal) -> None:
    portal.install_application("app", "secret")
    portal.call(
        "event.bind", {"event": "CATALOG.PRODUCT.ON.ADD", "event_type": "offline"}, client_id="app"
    )
    block = iblock(portal)
    reply = portal.call(
        "batch",
        {
            "cmd": {
                "p": f"catalog.product.add?fields[iblockId]={block}&fields[name]=Пакет",
                "price": "catalog.price.add?fields[productId]=$result[p][element][id]"
                "&fields[catalogGroupId]=1&fields[price]=10&fields[currency]=RUB",
                "bad": "catalog.product.list?select[]=name&filter[iblockId]=23",
            }
        },
    )["result"]
    assert reply["result"]["price"]["price"]["productId"] == reply["result"]["p"]["element"]["id"]
    assert reply["result_error"]["bad"]["error"] == 0
    events = portal.call("event.offline.get", {}, client_id="app")["result"]["events"]
    assert events[0]["EVENT_NAME"] == "CATALOG.PRODUCT.ON.ADD"
    assert events[0]["EVENT_DATA"]["FIELDS"]["ID"] == reply["result"]["p"]["element"]["id"]
