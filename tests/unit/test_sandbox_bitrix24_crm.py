"""crm.company.* / crm.contact.* behaviour of the Bitrix24 emulator (in-process)."""

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


def add_company(portal: Portal, **fields: Any) -> int:
    fields.setdefault("TITLE", "ООО «Ромашка»")
    result = portal.call("crm.company.add", {"fields": fields})["result"]
    assert isinstance(result, int)
    return result


def test_add_returns_int_and_get_returns_strings(portal: Portal) -> None:
    cid = add_company(
        portal,
        REVENUE=1500000,
        ASSIGNED_BY_ID=9,
        ORIGINATOR_ID="1c",
        ORIGIN_ID="a1b2",
        UF_CRM_INN="7707083893",
        UNKNOWN_FIELD="ignored",
    )
    item = portal.call("crm.company.get", {"id": cid})["result"]
    assert item["ID"] == str(cid)
    assert item["REVENUE"] == "1500000"
    assert item["ASSIGNED_BY_ID"] == "9"
    assert item["CREATED_BY_ID"] == "1"
    assert item["ORIGINATOR_ID"] == "1c" and item["ORIGIN_ID"] == "a1b2"
    assert item["ORIGIN_VERSION"] is None
    assert item["UF_CRM_INN"] == "7707083893"
    assert "UNKNOWN_FIELD" not in item
    assert item["HAS_PHONE"] == "N" and "PHONE" not in item
    assert item["DATE_CREATE"].endswith("+03:00")


def test_title_required_on_add(portal: Portal) -> None:
    with pytest.raises(RestError) as err:
        portal.call("crm.company.add", {"fields": {"COMMENTS": "x"}})
    assert err.value.status == 400 and err.value.code == ""


def test_fields_must_be_array(portal: Portal) -> None:
    with pytest.raises(RestError) as err:
        portal.call("crm.company.add", {"fields": "TITLE"})
    assert (err.value.status, err.value.code) == (400, "")
    assert err.value.description == "Parameter 'fields' must be array."


def test_not_found_errors(portal: Portal) -> None:
    cases = {
        "crm.company.get": "Not found",
        "crm.company.update": "Company is not found",
        "crm.company.delete": "Company is not found",
        "crm.contact.get": "Not found",
        "crm.contact.update": "Contact is not found",
    }
    for method, text in cases.items():
        with pytest.raises(RestError) as err:
            portal.call(method, {"id": 999, "fields": {"TITLE": "x"}})
        assert (err.value.status, err.value.code, err.value.description) == (400, "", text)
    with pytest.raises(RestError) as err:
        portal.call("crm.company.get", {"id": 0})
    assert err.value.description == "ID is not defined or invalid."


def test_unknown_method(portal: Portal) -> None:
    with pytest.raises(RestError) as err:
        portal.call("crm.company.frobnicate", {})
    assert (err.value.status, err.value.code, err.value.description) == (
        404,
        "ERROR_METHOD_NOT_FOUND",
        "Method not found!",
    )


def test_multifields_add_update_delete(portal: Portal) -> None:
    cid = add_company(
        portal,
        PHONE=[{"VALUE": "+74951234567", "VALUE_TYPE": "WORK"}, {"VALUE": "+79001112233"}],
        EMAIL=[{"VALUE": "info@example.com", "VALUE_TYPE": "WORK"}],
    )
    item = portal.call("crm.company.get", {"id": cid})["result"]
    assert item["HAS_PHONE"] == "Y" and item["HAS_EMAIL"] == "Y"
    phones = item["PHONE"]
    assert [p["VALUE"] for p in phones] == ["+74951234567", "+79001112233"]
    assert phones[1]["VALUE_TYPE"] == "WORK" and phones[0]["TYPE_ID"] == "PHONE"
    assert all(isinstance(p["ID"], str) for p in phones)
    first, second = phones[0]["ID"], phones[1]["ID"]

    portal.call(
        "crm.company.update",
        {
            "id": cid,
            "fields": {
                "PHONE": [
                    {"ID": first, "VALUE": "+74950000000", "VALUE_TYPE": "MOBILE"},
                    {"ID": second, "DELETE": "Y"},
                    {"VALUE": "+78120000000", "VALUE_TYPE": "HOME"},
                ],
                "EMAIL": [{"ID": item["EMAIL"][0]["ID"], "VALUE": ""}],
            },
        },
    )
    item = portal.call("crm.company.get", {"id": cid})["result"]
    phone = item["PHONE"][0]
    assert (phone["ID"], phone["VALUE"], phone["VALUE_TYPE"]) == (first, "+74950000000", "MOBILE")
    assert [p["VALUE"] for p in item["PHONE"]] == ["+74950000000", "+78120000000"]
    assert "EMAIL" not in item and item["HAS_EMAIL"] == "N"


def test_update_changes_fields_and_keeps_others(portal: Portal) -> None:
    cid = add_company(portal, COMMENTS="first", ORIGIN_VERSION="1")
    assert (
        portal.call("crm.company.update", {"id": cid, "fields": {"ORIGIN_VERSION": "2"}})["result"]
        is True
    )
    item = portal.call("crm.company.get", {"ID": str(cid)})["result"]
    assert item["ORIGIN_VERSION"] == "2" and item["COMMENTS"] == "first"


def test_select_masks(portal: Portal) -> None:
    add_company(portal, PHONE=[{"VALUE": "1"}], UF_CRM_CODE="c1")
    default = portal.call("crm.company.list", {})["result"][0]
    assert "TITLE" in default and "UF_CRM_CODE" in default and "PHONE" not in default
    star = portal.call("crm.company.list", {"select": ["*"]})["result"][0]
    assert "TITLE" in star and "UF_CRM_CODE" not in star and "PHONE" not in star
    uf = portal.call("crm.company.list", {"select": ["UF_*"]})["result"][0]
    assert set(uf) == {"UF_CRM_CODE", "ID"}
    named = portal.call("crm.company.list", {"select": ["TITLE", "PHONE"]})["result"][0]
    assert list(named) == ["TITLE", "ID", "PHONE"]
    assert named["PHONE"][0]["VALUE"] == "1"


def test_paging_total_next_and_fast_mode(portal: Portal) -> None:
    for i in range(120):
        add_company(portal, TITLE=f"Компания {i}")
    first = portal.call("crm.company.list", {"order": {"ID": "ASC"}, "select": ["ID"]})
    assert len(first["result"]) == 50 and first["total"] == 120 and first["next"] == 50
    assert list(first) == ["result", "next", "total", "time"]
    last = portal.call("crm.company.list", {"start": 100, "select": ["ID"]})
    assert len(last["result"]) == 20 and last["total"] == 120 and "next" not in last
    fast = portal.call(
        "crm.company.list",
        {"order": {"ID": "ASC"}, "filter": {">ID": 60}, "start": -1, "select": ["ID"]},
    )
    assert fast["total"] == 0 and "next" not in fast
    assert [int(r["ID"]) for r in fast["result"]] == list(range(61, 111))
    desc = portal.call("crm.company.list", {"order": {"ID": "DESC"}, "select": ["ID"]})
    assert desc["result"][0]["ID"] == "120"


def test_company_fields_lists_uf(portal: Portal) -> None:
    add_company(portal, UF_CRM_1C_GUID="x")
    fields = portal.call("crm.company.fields", {})["result"]
    assert fields["TITLE"]["isRequired"] is True
    assert fields["PHONE"]["isMultiple"] is True
    assert fields["UF_CRM_1C_GUID"]["isDynamic"] is True


def test_contacts_and_company_links(portal: Portal) -> None:
    company = add_company(portal)
    other = add_company(portal, TITLE="ООО «Другая»")
    c1 = portal.call(
        "crm.contact.add",
        {"fields": {"NAME": "Иван", "LAST_NAME": "Петров", "COMPANY_ID": company}},
    )["result"]
    c2 = portal.call("crm.contact.add", {"fields": {"NAME": "Анна", "COMPANY_IDS": [company]}})[
        "result"
    ]
    contact = portal.call("crm.contact.get", {"id": c1})["result"]
    assert contact["COMPANY_ID"] == str(company) and contact["NAME"] == "Иван"
    items = portal.call("crm.company.contact.items.get", {"id": company})["result"]
    assert items == [
        {"CONTACT_ID": c1, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
        {"CONTACT_ID": c2, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "N"},
    ]
    portal.call(
        "crm.company.contact.items.set",
        {
            "id": other,
            "items": [{"CONTACT_ID": c2, "SORT": 100}, {"CONTACT_ID": c1, "IS_PRIMARY": "Y"}],
        },
    )
    items = portal.call("crm.company.contact.items.get", {"id": other})["result"]
    assert items == [
        {"CONTACT_ID": c2, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        {"CONTACT_ID": c1, "SORT": 110, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
    ]
    with pytest.raises(RestError) as err:
        portal.call("crm.company.contact.items.set", {"id": other, "items": "x"})
    assert err.value.description == "The parameter items must be array."
    with pytest.raises(RestError) as err:
        portal.call("crm.company.contact.items.get", {"id": 0})
    assert err.value.description == "The parameter ownerEntityID is invalid or not defined."
    listed = portal.call("crm.contact.list", {"filter": {"COMPANY_ID": company}, "select": ["ID"]})
    assert {r["ID"] for r in listed["result"]} == {str(c1), str(c2)}
    portal.call("crm.company.delete", {"id": company})
    contact = portal.call("crm.contact.get", {"id": c1})["result"]
    assert contact["COMPANY_ID"] == str(other)


def test_delete_company_removes_requisites(portal: Portal) -> None:
    cid = add_company(portal)
    portal.call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": cid, "PRESET_ID": 1, "NAME": "Организация"}},
    )
    assert portal.call("crm.company.delete", {"id": cid})["result"] is True
    assert portal.call("crm.requisite.list", {"filter": {"ENTITY_ID": cid}})["result"] == []


def test_import_mode_sets_dates(portal: Portal) -> None:
    cid = portal.call(
        "crm.company.add",
        {
            "fields": {"TITLE": "Old", "DATE_CREATE": "2020-05-01T10:00:00+03:00"},
            "params": {"IMPORT": "Y"},
        },
    )["result"]
    item = portal.call("crm.company.get", {"id": cid})["result"]
    assert item["DATE_CREATE"] == "2020-05-01T10:00:00+03:00"
    cid2 = add_company(portal, DATE_CREATE="2020-05-01T10:00:00+03:00")
    assert portal.call("crm.company.get", {"id": cid2})["result"]["DATE_CREATE"] != (
        "2020-05-01T10:00:00+03:00"
    )


def test_time_block(portal: Portal) -> None:
    body = portal.call("crm.company.fields", {})
    keys = {"start", "finish", "duration", "processing", "date_start", "date_finish"}
    assert keys | {"operating", "operating_reset_at"} == set(body["time"])
    assert body["time"]["date_start"].endswith("+03:00")
    onprem = Portal(None, plan="onpremise")
    assert set(onprem.call("crm.company.fields", {})["time"]) == keys
    onprem.close()
