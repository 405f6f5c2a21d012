"""crm.requisite.* and crm.requisite.preset.list of the Bitrix24 emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


@pytest.fixture
def company(portal: Portal) -> int:
    result = portal.call("crm.company.add", {"fields": {"TITLE": "ООО «Ромашка»"}})["result"]
    assert isinstance(result, int)
    return result


def requisite(company: int, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ENTITY_TYPE_ID": 4,
        "ENTITY_ID": company,
        "PRESET_ID": 1,
        "NAME": "Организация",
        "RQ_INN": "7707083893",
        "RQ_KPP": "773601001",
        "RQ_OGRN": "1027700132195",
        "RQ_COMPANY_NAME": "ООО «Ромашка»",
        "XML_ID": "5e4641fd-1dd9-11e6-b2f2-005056c00008",
    }
    fields.update(extra)
    return {"fields": fields}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ENTITY_TYPE_ID": None}, "ENTITY_TYPE_ID is not defined or invalid."),
        ({"ENTITY_TYPE_ID": 2}, "ENTITY_TYPE_ID is not defined or invalid."),
        ({"ENTITY_ID": None}, "ENTITY_ID is not defined or invalid."),
        ({"ENTITY_ID": 0}, "ENTITY_ID is not defined or invalid."),
        ({"PRESET_ID": None}, "PRESET_ID is not defined or invalid."),
        ({"PRESET_ID": 77}, "PRESET_ID is not defined or invalid."),
        ({"ENTITY_ID": 999}, "Entity not found."),
    ],
)
def test_add_validation(
    portal: Portal, company: int, override: dict[str, Any], message: str
) -> None:
    params = requisite(company)
    for key, value in override.items():
        if value is None:
            params["fields"].pop(key)
        else:
            params["fields"][key] = value
    with pytest.raises(RestError) as err:
        portal.call("crm.requisite.add", params)
    assert (err.value.status, err.value.code, err.value.description) == (400, "", message)


def test_name_required(portal: Portal, company: int) -> None:
    params = requisite(company)
    del params["fields"]["NAME"]
    with pytest.raises(RestError) as err:
        portal.call("crm.requisite.add", params)
    assert err.value.status == 400 and err.value.code == ""


def test_add_get_update_delete(portal: Portal, company: int) -> None:
    rid = portal.call("crm.requisite.add", requisite(company, UF_CRM_BANK="x"))["result"]
    assert isinstance(rid, int)
    item = portal.call("crm.requisite.get", {"id": rid})["result"]
    assert item["ID"] == str(rid) and item["ENTITY_TYPE_ID"] == "4"
    assert item["ENTITY_ID"] == str(company) and item["PRESET_ID"] == "1"
    assert item["RQ_INN"] == "7707083893" and item["RQ_OGRNIP"] is None
    assert item["ACTIVE"] == "Y" and item["SORT"] == "500" and item["DATE_MODIFY"] == ""
    assert item["UF_CRM_BANK"] == "x"
    assert (
        portal.call("crm.requisite.update", {"id": rid, "fields": {"RQ_KPP": "770101001"}})[
            "result"
        ]
        is True
    )
    item = portal.call("crm.requisite.get", {"id": rid})["result"]
    assert item["RQ_KPP"] == "770101001" and item["MODIFY_BY_ID"] == "1"
    assert item["DATE_MODIFY"].endswith("+03:00")
    assert portal.call("crm.requisite.delete", {"id": rid})["result"] is True
    for method in ("crm.requisite.get", "crm.requisite.delete", "crm.requisite.update"):
        with pytest.raises(RestError) as err:
            portal.call(method, {"id": rid, "fields": {"NAME": "x"}})
        assert err.value.description == f"The Requisite with ID '{rid}' is not found"


def test_update_validates_owner(portal: Portal, company: int) -> None:
    rid = portal.call("crm.requisite.add", requisite(company))["result"]
    with pytest.raises(RestError) as err:
        portal.call("crm.requisite.update", {"id": rid, "fields": {"ENTITY_TYPE_ID": 7}})
    assert err.value.description == "ENTITY_TYPE_ID is not defined or invalid."


def test_list_filter_select_order(portal: Portal, company: int) -> None:
    second = portal.call("crm.company.add", {"fields": {"TITLE": "ИП Петров"}})["result"]
    contact = portal.call("crm.contact.add", {"fields": {"NAME": "Пётр"}})["result"]
    portal.call("crm.requisite.add", requisite(company))
    portal.call(
        "crm.requisite.add",
        requisite(
            second, PRESET_ID=2, RQ_INN="500100732259", RQ_KPP="", RQ_OGRNIP="304500116000157"
        ),
    )
    portal.call(
        "crm.requisite.add",
        requisite(contact, ENTITY_TYPE_ID=3, PRESET_ID=3, RQ_INN="500100732259"),
    )
    found = portal.call(
        "crm.requisite.list",
        {
            "filter": {"@RQ_INN": ["7707083893", "500100732259"], "ENTITY_TYPE_ID": 4},
            "select": ["ENTITY_ID", "RQ_INN"],
            "order": {"ENTITY_ID": "DESC"},
        },
    )
    assert found["result"] == [
        {"ENTITY_ID": str(second), "RQ_INN": "500100732259"},
        {"ENTITY_ID": str(company), "RQ_INN": "7707083893"},
    ]
    assert found["total"] == 2
    everything = portal.call("crm.requisite.list", {})["result"]
    assert len(everything) == 3 and "RQ_CPF" in everything[0] and "ID" in everything[0]
    with pytest.raises(RestError) as err:
        portal.call("crm.requisite.list", {"select": ["BAD_FIELD"]})
    assert (err.value.status, err.value.code) == (400, "100")


def test_preset_list(portal: Portal) -> None:
    body = portal.call(
        "crm.requisite.preset.list", {"order": {"ID": "ASC"}, "select": ["ID", "NAME"]}
    )
    assert body["result"] == [
        {"ID": "1", "NAME": "Организация"},
        {"ID": "2", "NAME": "ИП"},
        {"ID": "3", "NAME": "Физ. лицо"},
        {"ID": "4", "NAME": "Организация (доп.)"},
    ]
    assert body["total"] == 4
    full = portal.call("crm.requisite.preset.list", {"filter": {"%NAME": "ИП"}})["result"]
    assert [p["ID"] for p in full] == ["2"]
    assert full[0]["ENTITY_TYPE_ID"] == "8" and full[0]["COUNTRY_ID"] == "1"


def test_requisite_fields(portal: Portal) -> None:
    fields = portal.call("crm.requisite.fields", {})["result"]
    assert fields["ENTITY_TYPE_ID"]["isRequired"] is True
    assert fields["ENTITY_TYPE_ID"]["isImmutable"] is True
    assert fields["RQ_INN"]["type"] == "string"
