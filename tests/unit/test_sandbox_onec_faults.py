"""Fault injection of the 1C sandbox: Python API, HTTP switch, what a client sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.sandbox.onec import OneCBase, create_app

ROOT = "/trade/odata/standard.odata"


@pytest.fixture
def base() -> OneCBase:
    return OneCBase(None, name="trade", username="u", password="p", faults={"lock_conflict": 1})


def _client(base: OneCBase) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app({base.name: base})),
        base_url="http://sandbox",
        auth=("u", "p"),
        headers={"Accept": "application/json"},
    )


async def test_lock_conflict_from_the_constructor_hits_the_next_write_only(base: OneCBase) -> None:
    async with _client(base) as http:
        read = await http.get(f"{ROOT}/Catalog_Контрагенты")
        assert read.status_code == 200
        refused = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "A"})
        assert refused.status_code == 500
        error = refused.json()["odata.error"]
        assert error["code"] == "-1" and "блокировки" in error["message"]["value"]
        created = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "A"})
        assert created.status_code == 201


async def test_switches_over_http_and_html_page(base: OneCBase) -> None:
    async with _client(base) as http:
        answer = await http.post(
            "/_sandbox/faults",
            json={
                "base": "trade",
                "clear": True,
                "html_error": 1,
                "business_error": 1,
                "business_message": "Не заполнен склад",
            },
        )
        assert answer.json()["trade"]["html_error"] == 1
        page = await http.get(f"{ROOT}/Catalog_Контрагенты")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        refused = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "B"})
        assert refused.json()["odata.error"]["message"]["value"] == "Не заполнен склад"
        assert (await http.get("/_sandbox/faults")).json()["trade"]["injected"]["html_error"] == 1
        bad = await http.post("/_sandbox/faults", json={"nonsense": 1})
        assert bad.status_code == 400


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        OneCBase(None, faults={"lock_conflicts": 1})


# --- an attribute renamed by a configuration change -------------------------------------------

SET = "Catalog_Контрагенты"
RENAME = {"Catalog_Контрагенты.ИНН": "ИНН_Старый"}


def _seeded(path: Path | None = None, **faults: Any) -> OneCBase:
    base = OneCBase(path, name="trade", username="u", password="p", faults=faults or None)
    if base.is_empty():
        base.create(SET, {"Description": "Ромашка", "ИНН": "7707083893", "КПП": "770701001"})
    return base


async def test_a_renamed_attribute_is_published_under_the_new_name_only() -> None:
    base = _seeded()
    async with _client(base) as http:
        switched = await http.post("/_sandbox/faults", json={"base": "trade", "rename": RENAME})
        assert switched.json()["trade"]["rename"] == RENAME
        metadata = (await http.get(f"{ROOT}/$metadata")).text
        entity_type = metadata.split(f'<EntityType Name="{SET}"', 1)[1].split("</EntityType>")[0]
        assert 'Name="ИНН_Старый"' in entity_type and 'Name="ИНН"' not in entity_type

        old = await http.get(f"{ROOT}/{SET}", params={"$select": "Ref_Key,ИНН"})
        assert old.status_code == 400
        assert old.json()["odata.error"]["code"] == "6"
        assert "ИНН" in old.json()["odata.error"]["message"]["value"]

        (row,) = (await http.get(f"{ROOT}/{SET}", params={"$select": "Ref_Key,ИНН_Старый"})).json()[
            "value"
        ]
        assert row["ИНН_Старый"] == "7707083893", "the data keeps its values"
        # (1C reads "+" as a plus: spaces go as %20)
        by_new = await http.get(f"{ROOT}/{SET}?$filter=ИНН_Старый%20eq%20'7707083893'")
        assert len(by_new.json()["value"]) == 1
        by_old = await http.get(f"{ROOT}/{SET}?$filter=ИНН%20eq%20'7707083893'")
        assert by_old.status_code == 400

        # Writes: the old name is an unknown property (ignored, as 1C does); the new one works.
        url = f"{ROOT}/{SET}(guid'{row['Ref_Key']}')"
        await http.patch(url, json={"ИНН": "5003052454"})
        assert (await http.get(url)).json()["ИНН_Старый"] == "7707083893"
        await http.patch(url, json={"ИНН_Старый": "5003052454"})
        assert (await http.get(url)).json()["ИНН_Старый"] == "5003052454"

        back = await http.post("/_sandbox/faults", json={"base": "trade", "rename": {}})
        assert back.json()["trade"]["rename"] == {}
        restored = (await http.get(url)).json()
        assert restored["ИНН"] == "5003052454" and "ИНН_Старый" not in restored
        assert 'Name="ИНН_Старый"' not in (await http.get(f"{ROOT}/$metadata")).text


async def test_a_rename_given_at_start_survives_in_storage_as_configured(tmp_path: Path) -> None:
    path = tmp_path / "trade.sqlite"
    _seeded(path).close()
    renamed = _seeded(path, rename={"Catalog_Контрагенты.КодПоОКПО": "ОКПО"})
    async with _client(renamed) as http:
        (row,) = (await http.get(f"{ROOT}/{SET}")).json()["value"]
        assert "ОКПО" in row and "КодПоОКПО" not in row
        await http.patch(f"{ROOT}/{SET}(guid'{row['Ref_Key']}')", json={"ОКПО": "12345678"})
    renamed.close()
    plain = _seeded(path)  # restarted without the fault: the base as configured
    async with _client(plain) as http:
        (row,) = (await http.get(f"{ROOT}/{SET}")).json()["value"]
        assert row["КодПоОКПО"] == "12345678" and "ОКПО" not in row
    plain.close()


@pytest.mark.parametrize(
    "rename",
    [
        {"Catalog_Контрагенты.Нет": "Х"},  # no such attribute
        {"Catalog_Контрагенты.Ref_Key": "Ключ"},  # standard properties keep their names
        {"Catalog_Контрагенты.ИНН": "КПП"},  # taken
        {"Catalog_Нет.ИНН": "Х"},
        {"Catalog_Контрагенты.Партнер_Key": "ПартнерСтарый"},  # a reference keeps _Key
        ["ИНН"],
    ],
)
def test_a_rename_that_does_not_fit_is_refused_and_changes_nothing(rename: Any) -> None:
    base = _seeded()
    with pytest.raises(ValueError):
        base.faults.configure({"rename": rename, "html_error": 3})
    assert base.faults.as_dict()["html_error"] == 0
    assert base.get(SET, base.rows(SET)[0]["Ref_Key"])["ИНН"] == "7707083893"  # type: ignore[index]


def test_clear_renames_back() -> None:
    base = _seeded()
    base.faults.configure({"rename": RENAME})
    assert "ИНН_Старый" in base.rows(SET)[0]
    base.faults.clear()
    assert base.rows(SET)[0]["ИНН"] == "7707083893"
