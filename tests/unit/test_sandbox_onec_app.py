"""HTTP details of the 1C OData emulator, through httpx's in-process ASGI transport."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import defusedxml.ElementTree as ET
import httpx
import pytest

from bitrix1c.sandbox.onec import OneCBase, create_app

ROOT = "http://1c.local/trade/odata/standard.odata"
ITEM = "44444444-4444-4444-4444-444444444444"
ATOM = "{http://www.w3.org/2005/Atom}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"


@pytest.fixture
def base() -> OneCBase:
    b = OneCBase(None, name="trade", password="pw", predefined=True)
    rt = "InformationRegister_ЦеныНоменклатуры_RecordType"
    recorder = str(uuid.uuid4())
    for period, price in (
        ("2025-01-01T00:00:00", 10),
        ("2025-02-01T00:00:00", 12),
        ("2025-03-01T00:00:00", 15),
    ):
        b.create(
            rt,
            {
                "Recorder": recorder,
                "Recorder_Type": "StandardODATA.Document_УстановкаЦенНоменклатуры",
                "Period": period,
                "Номенклатура_Key": ITEM,
                "Цена": price,
            },
        )
    b.create(
        rt, {"Period": "2025-01-15T00:00:00", "Номенклатура_Key": str(uuid.uuid4()), "Цена": 99}
    )
    return b


@pytest.fixture
async def client(base: OneCBase) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app({"any-key": base}))
    async with httpx.AsyncClient(
        transport=transport, base_url=ROOT, auth=("odata.user", "pw")
    ) as c:
        yield c


async def test_unknown_base_and_auth(client: httpx.AsyncClient) -> None:
    other = await client.get("http://1c.local/other/odata/standard.odata/")
    assert other.status_code == 404
    anonymous = await client.get("/", auth=None)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["www-authenticate"]


async def test_atom_feed_with_count_and_json_nometadata(client: httpx.AsyncClient) -> None:
    r = await client.get("/Catalog_Контрагенты?$inlinecount=allpages&$select=Ref_Key,Description")
    assert r.headers["content-type"].startswith("application/atom+xml;type=feed")
    feed = ET.fromstring(r.content)
    assert feed.find(f"{M}count").text == "1"
    props = feed.find(f"{ATOM}entry/{ATOM}content/{M}properties")
    assert [p.tag for p in props] == [f"{D}Ref_Key", f"{D}Description"]
    plain = await client.get("/Catalog_Контрагенты?$format=application/json;odata=nometadata")
    assert "odata.metadata" not in plain.json() and len(plain.json()["value"]) == 1
    accept = await client.get("/Catalog_Контрагенты", headers={"Accept": "application/json"})
    assert accept.json()["odata.metadata"] == f"{ROOT}/$metadata#Catalog_Контрагенты"


async def test_put_merge_member_and_method_rules(client: httpx.AsyncClient) -> None:
    created = (
        await client.post(
            "/Catalog_Контрагенты?$format=json", json={"Description": "A", "ИНН": "1", "КПП": "2"}
        )
    ).json()
    url = f"/Catalog_Контрагенты(guid'{created['Ref_Key']}')"
    merged = await client.request("MERGE", f"{url}?$format=json", json={"КПП": "3"})
    assert (merged.json()["ИНН"], merged.json()["КПП"]) == ("1", "3")
    put = await client.put(f"{url}?$format=json", json={"Description": "B"})
    assert (put.json()["Description"], put.json()["ИНН"]) == ("B", "")
    assert put.json()["DataVersion"] == "AAAAAAAAAAI="
    member = await client.get(f"{url}/Description?$format=json")
    assert member.json() == {"odata.metadata": f"{ROOT}/$metadata#Edm.String", "value": "B"}
    keyed = await client.get(
        f"/Catalog_Контрагенты(Ref_Key=guid'{created['Ref_Key']}')?$format=json"
    )
    assert keyed.status_code == 200
    bad_key = await client.get("/Catalog_Контрагенты(guid'nonsense')?$format=json")
    assert bad_key.status_code == 400 and "nonsense" in bad_key.text
    not_allowed = await client.delete("/Catalog_Контрагенты?$format=json")
    assert not_allowed.status_code == 405 and not_allowed.json()["odata.error"]["code"] == "19"
    bind = await client.patch(
        f"{url}?$format=json", json={"Партнер@odata.bind": f"Catalog_Партнеры(guid'{ITEM}')"}
    )
    assert bind.json()["Партнер_Key"] == ITEM
    post_missing = await client.post(f"/Document_ЗаказКлиента(guid'{ITEM}')/Post")
    assert post_missing.status_code == 404


async def test_register_sets_and_slice_last(client: httpx.AsyncClient) -> None:
    rt = "/InformationRegister_ЦеныНоменклатуры_RecordType"
    records = (await client.get(f"{rt}?$format=json&$orderby=Period desc")).json()["value"]
    assert [r["Цена"] for r in records] == [15, 12, 99, 10]
    sets = (await client.get("/InformationRegister_ЦеныНоменклатуры?$format=json")).json()
    assert len(sets["value"]) == 2 and len(sets["value"][0]["RecordSet"]) == 3
    last = await client.get(
        f"{rt}/SliceLast(Period=datetime'2025-02-15T00:00:00',"
        f"Condition='Номенклатура_Key eq guid'{ITEM}'')?$format=json"
    )
    assert [r["Цена"] for r in last.json()["value"]] == [12]
    first = await client.get(f"{rt}/SliceFirst()?$format=json&$orderby=Цена")
    assert [r["Цена"] for r in first.json()["value"]] == [10, 99]
    all_last = await client.get(f"{rt}/SliceLast()?$format=json")
    assert sorted(r["Цена"] for r in all_last.json()["value"]) == [15, 99]
    balance = await client.get(f"{rt}/Balance()?$format=json")
    assert balance.status_code == 400


async def test_register_record_post_answers_200_and_duplicate_key_400(
    client: httpx.AsyncClient,
) -> None:
    rt = "/InformationRegister_ЦеныНоменклатуры_RecordType?$format=json"
    body = {"Period": "2026-01-01T00:00:00", "Номенклатура_Key": ITEM, "Цена": 1}
    first = await client.post(rt, json=body)
    assert first.status_code == 200 and "location" not in first.headers
    again = await client.post(rt, json=body)
    assert again.status_code == 400 and again.json()["odata.error"]["code"] == "15"
    key = (
        f"/InformationRegister_ЦеныНоменклатуры_RecordType(Period=datetime'2026-01-01T00:00:00',"
        f"Номенклатура_Key=guid'{ITEM}',Характеристика_Key=guid'{'0' * 8}-0000-0000-0000-"
        f"{'0' * 12}',ВидЦены_Key=guid'{'0' * 8}-0000-0000-0000-{'0' * 12}')?$format=json"
    )
    got = await client.get(key)
    assert got.status_code == 200 and got.json()["Цена"] == 1
    changed = await client.patch(key, json={"Цена": 2})
    assert changed.status_code == 200 and changed.json()["Цена"] == 2
    assert (await client.delete(key)).status_code == 204
    assert (await client.get(key)).status_code == 404
