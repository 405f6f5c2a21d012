"""crm.address.* and crm.enum.addresstype of the Bitrix24 emulator, over its HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bitrix1c.sandbox.bitrix24 import Portal, create_app

# The key order of the crm.address.list sample (reference crm.address.list.json).
LIST_KEYS = [
    "TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1", "ADDRESS_2", "CITY", "POSTAL_CODE",
    "REGION", "PROVINCE", "COUNTRY", "COUNTRY_CODE", "LOC_ADDR_ID", "ANCHOR_TYPE_ID", "ANCHOR_ID",
]  # fmt: skip


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None, burst=1000, drain_per_second=100.0)
    yield p
    p.close()


@pytest.fixture
async def http(portal: Portal) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app(portal)),
        base_url=f"http://portal.test/rest/{portal.webhook_user_id}/{portal.webhook_code}/",
    ) as client:
        yield client


async def call(http: httpx.AsyncClient, method: str, params: dict[str, Any]) -> httpx.Response:
    return await http.post(method, json=params)


async def ok(http: httpx.AsyncClient, method: str, params: dict[str, Any]) -> Any:
    response = await call(http, method, params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def requisite(http: httpx.AsyncClient, entity_type_id: int = 4) -> tuple[int, int]:
    """A new company (or contact) with a requisite → (owner id, requisite id)."""
    owner = "crm.company.add" if entity_type_id == 4 else "crm.contact.add"
    owner_id = await ok(http, owner, {"fields": {"TITLE": "ООО «Ромашка»", "NAME": "Иван"}})
    requisite_id = await ok(
        http,
        "crm.requisite.add",
        {
            "fields": {
                "ENTITY_TYPE_ID": entity_type_id,
                "ENTITY_ID": owner_id,
                "PRESET_ID": 1,
                "NAME": "Реквизит",
            }
        },
    )
    return int(owner_id), int(requisite_id)


def address(requisite_id: int, type_id: int = 6, **extra: Any) -> dict[str, Any]:
    return {
        "fields": {
            "TYPE_ID": type_id,
            "ENTITY_TYPE_ID": 8,
            "ENTITY_ID": requisite_id,
            "ADDRESS_1": "ул. Ленина, д. 2",
            "CITY": "Тюмень",
            **extra,
        }
    }


async def addresses(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    rows = await ok(http, "crm.address.list", params)
    assert isinstance(rows, list)
    return rows


async def test_add_then_list_in_the_shape_of_the_reference(http: httpx.AsyncClient) -> None:
    company_id, requisite_id = await requisite(http)
    assert await ok(http, "crm.address.add", address(requisite_id, POSTAL_CODE="625003")) is True
    body = (await call(http, "crm.address.list", {"filter": {"ENTITY_ID": requisite_id}})).json()
    assert body["total"] == 1 and "next" not in body
    (row,) = body["result"]
    assert list(row) == LIST_KEYS
    assert row["TYPE_ID"] == "6" and row["ENTITY_TYPE_ID"] == "8"
    assert row["ENTITY_ID"] == str(requisite_id)
    assert (row["ADDRESS_1"], row["CITY"], row["POSTAL_CODE"]) == (
        "ул. Ленина, д. 2",
        "Тюмень",
        "625003",
    )
    assert row["ADDRESS_2"] is None and row["COUNTRY_CODE"] is None
    # The anchor is the requisite's owner; the location copy has an id of its own.
    assert (row["ANCHOR_TYPE_ID"], row["ANCHOR_ID"]) == ("4", str(company_id))
    assert row["LOC_ADDR_ID"] is not None and int(row["LOC_ADDR_ID"]) > 0


async def test_one_address_per_type_and_requisite(http: httpx.AsyncClient) -> None:
    _, requisite_id = await requisite(http)
    await ok(http, "crm.address.add", address(requisite_id, 6))
    again = await call(http, "crm.address.add", address(requisite_id, 6, ADDRESS_1="другой"))
    assert again.status_code == 400
    assert again.json() == {"error": "", "error_description": "TypeAddress exists."}
    await ok(http, "crm.address.add", address(requisite_id, 1, ADDRESS_1="склад"))
    rows = await addresses(http, filter={"ENTITY_ID": requisite_id}, order={"TYPE_ID": "ASC"})
    assert [(r["TYPE_ID"], r["ADDRESS_1"]) for r in rows] == [
        ("1", "склад"),
        ("6", "ул. Ленина, д. 2"),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TYPE_ID": 99}, "TYPE_ID is not defined or invalid."),
        ({"TYPE_ID": None}, "TYPE_ID is not defined or invalid."),
        ({"ENTITY_TYPE_ID": 5}, "ENTITY_TYPE_ID is not defined or invalid."),
        ({"ENTITY_ID": 0}, "ENTITY_ID is not defined or invalid."),
        ({"ENTITY_ID": 987654}, "ENTITY_ID is not defined or invalid."),
    ],
)
async def test_add_rejects_a_bad_key(
    http: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    _, requisite_id = await requisite(http)
    params = address(requisite_id)
    params["fields"].update(change)
    response = await call(http, "crm.address.add", params)
    assert response.status_code == 400
    assert response.json() == {"error": "", "error_description": message}
    assert await addresses(http) == []


async def test_update_changes_the_given_fields_and_delete_removes(
    http: httpx.AsyncClient,
) -> None:
    _, requisite_id = await requisite(http)
    await ok(http, "crm.address.add", address(requisite_id, 6, POSTAL_CODE="625003"))
    key = {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite_id}
    assert await ok(http, "crm.address.update", {"fields": {**key, "CITY": "Тобольск"}}) is True
    (row,) = await addresses(http, filter={"ENTITY_ID": requisite_id})
    # Fields not passed keep their values.
    assert (row["CITY"], row["ADDRESS_1"], row["POSTAL_CODE"]) == (
        "Тобольск",
        "ул. Ленина, д. 2",
        "625003",
    )
    missing = await call(http, "crm.address.update", {"fields": {**key, "TYPE_ID": 1}})
    assert missing.status_code == 400
    assert missing.json()["error_description"] == "TypeAddress not found."
    assert await ok(http, "crm.address.delete", {"fields": key}) is True
    assert await addresses(http, filter={"ENTITY_ID": requisite_id}) == []
    gone = await call(http, "crm.address.delete", {"fields": key})
    assert (gone.status_code, gone.json()["error_description"]) == (400, "TypeAddress not found.")


async def test_list_select_filter_and_pages(http: httpx.AsyncClient) -> None:
    requisites = [(await requisite(http))[1] for _ in range(26)]
    for requisite_id in requisites:
        await ok(http, "crm.address.add", address(requisite_id, 6))
        await ok(http, "crm.address.add", address(requisite_id, 1, CITY="Омск"))
    page = (await call(http, "crm.address.list", {"select": ["ENTITY_ID", "CITY"]})).json()
    assert (page["total"], page["next"], len(page["result"])) == (52, 50, 50)
    assert all(list(row) == ["ENTITY_ID", "CITY"] for row in page["result"])
    rest = await addresses(http, start=50)
    assert len(rest) == 2
    mine = await addresses(
        http, filter={"ENTITY_TYPE_ID": 8, "@ENTITY_ID": requisites[:3], "TYPE_ID": 1}
    )
    assert sorted(int(r["ENTITY_ID"]) for r in mine) == requisites[:3]
    assert {r["CITY"] for r in mine} == {"Омск"}


async def test_batch_runs_address_methods_and_reports_their_errors(
    http: httpx.AsyncClient,
) -> None:
    _, requisite_id = await requisite(http)
    fields = {"TYPE_ID": 8, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite_id, "ADDRESS_1": "а/я 15"}
    add = "crm.address.add?" + urlencode({f"fields[{k}]": v for k, v in fields.items()})
    body = await ok(
        http,
        "batch",
        {
            "halt": 0,
            "cmd": {
                "add": add,
                "twice": add,
                "list": f"crm.address.list?filter[ENTITY_ID]={requisite_id}",
            },
        },
    )
    assert body["result"]["add"] is True
    assert body["result_error"]["twice"] == {
        "error": "",
        "error_description": "TypeAddress exists.",
    }
    assert [r["ADDRESS_1"] for r in body["result"]["list"]] == ["а/я 15"]
    assert body["result_total"]["list"] == 1


async def test_deleting_a_requisite_drops_its_addresses_only(http: httpx.AsyncClient) -> None:
    _, gone = await requisite(http)
    _, kept = await requisite(http, entity_type_id=3)
    for requisite_id in (gone, kept):
        await ok(http, "crm.address.add", address(requisite_id, 6))
        await ok(http, "crm.address.add", address(requisite_id, 1))
    assert await ok(http, "crm.requisite.delete", {"id": gone}) is True
    rows = await addresses(http)
    assert {int(r["ENTITY_ID"]) for r in rows} == {kept} and len(rows) == 2
    assert {r["ANCHOR_TYPE_ID"] for r in rows} == {"3"}  # a contact's requisite


async def test_addresses_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "portal.db"
    first = Portal(path)
    try:
        company = first.call("crm.company.add", {"fields": {"TITLE": "ООО «Альфа»"}})["result"]
        requisite_id = first.call(
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Р"}},
        )["result"]
        first.call("crm.address.add", address(requisite_id, 6))
    finally:
        first.close()
    second = Portal(path)
    try:
        rows = second.call("crm.address.list", {})["result"]
        assert [(r["ENTITY_ID"], r["TYPE_ID"], r["CITY"]) for r in rows] == [
            (str(requisite_id), "6", "Тюмень")
        ]
    finally:
        second.close()


async def test_address_types(http: httpx.AsyncClient) -> None:
    types = await ok(http, "crm.enum.addresstype", {})
    by_id = {t["ID"]: t["NAME"] for t in types}
    assert set(by_id) == {1, 4, 6, 8, 9, 11}
    assert (by_id[6], by_id[1], by_id[8]) == (
        "Юридический адрес",
        "Фактический адрес",
        "Адрес для корреспонденции",
    )
    assert all(t["SYMBOL_CODE"] is None for t in types)
