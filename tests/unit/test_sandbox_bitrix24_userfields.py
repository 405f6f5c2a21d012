"""``crm.*.userfield.*`` of the Bitrix24 emulator, incl. what deleting a field changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


@pytest.mark.parametrize(
    ("raw", "full"),
    [("DEBT", "UF_CRM_DEBT"), ("UF_DEBT", "UF_CRM_DEBT"), ("UF_CRM_DEBT", "UF_CRM_DEBT")],
)
def test_field_name_gets_the_prefix(portal: Portal, raw: str, full: str) -> None:
    field_id = portal.call(
        "crm.company.userfield.add",
        {"fields": {"FIELD_NAME": raw, "USER_TYPE_ID": "double", "LABEL": "Долг"}},
    )["result"]
    assert isinstance(field_id, int)
    field = portal.call("crm.company.userfield.get", {"id": field_id})["result"]
    assert field["FIELD_NAME"] == full
    assert field["ENTITY_ID"] == "CRM_COMPANY"
    assert field["EDIT_FORM_LABEL"]["ru"] == "Долг"
    described = portal.call("crm.company.fields")["result"][full]
    assert described["type"] == "double"
    assert described["isDynamic"] is True
    assert described["formLabel"] == "Долг"


def test_list_update_and_duplicates(portal: Portal) -> None:
    for name in ("PAID", "BALANCE"):
        portal.call(
            "crm.deal.userfield.add",
            {"fields": {"FIELD_NAME": name, "USER_TYPE_ID": "double", "XML_ID": name}},
        )
    listed = portal.call("crm.deal.userfield.list", {"filter": {"XML_ID": "PAID"}})
    assert [f["FIELD_NAME"] for f in listed["result"]] == ["UF_CRM_PAID"]
    assert listed["result"][0]["ENTITY_ID"] == "CRM_DEAL"
    field_id = int(listed["result"][0]["ID"])
    portal.call(
        "crm.deal.userfield.update", {"id": field_id, "fields": {"MANDATORY": "Y", "SORT": 5}}
    )
    field = portal.call("crm.deal.userfield.get", {"id": field_id})["result"]
    assert (field["MANDATORY"], field["SORT"]) == ("Y", "5")
    assert portal.call("crm.deal.fields")["result"]["UF_CRM_PAID"]["isRequired"] is True
    with pytest.raises(RestError) as exc:
        portal.call(
            "crm.deal.userfield.add", {"fields": {"FIELD_NAME": "PAID", "USER_TYPE_ID": "string"}}
        )
    assert exc.value.status == 400
    with pytest.raises(RestError):
        portal.call("crm.deal.userfield.add", {"fields": {"FIELD_NAME": "X"}})


def test_values_round_trip_through_records(portal: Portal) -> None:
    portal.call(
        "crm.contact.userfield.add", {"fields": {"FIELD_NAME": "SNILS", "USER_TYPE_ID": "string"}}
    )
    contact = portal.call(
        "crm.contact.add", {"fields": {"NAME": "Иван", "UF_CRM_SNILS": "112-233-445 95"}}
    )["result"]
    item = portal.call("crm.contact.get", {"id": contact})["result"]
    assert item["UF_CRM_SNILS"] == "112-233-445 95"
    found = portal.call(
        "crm.contact.list", {"filter": {"UF_CRM_SNILS": "112-233-445 95"}, "select": ["ID"]}
    )
    assert found["total"] == 1


def test_deleted_field_disappears_and_writes_are_ignored(portal: Portal) -> None:
    field_id = portal.call(
        "crm.company.userfield.add",
        {"fields": {"FIELD_NAME": "DEBT", "USER_TYPE_ID": "double"}},
    )["result"]
    company = portal.call(
        "crm.company.add", {"fields": {"TITLE": "ООО Долг", "UF_CRM_DEBT": "10"}}
    )["result"]
    assert portal.call("crm.company.userfield.delete", {"id": field_id})["result"] is True
    assert "UF_CRM_DEBT" not in portal.call("crm.company.fields")["result"]
    assert portal.call("crm.company.userfield.list")["result"] == []
    portal.call("crm.company.update", {"id": company, "fields": {"UF_CRM_DEBT": "20"}})
    assert "UF_CRM_DEBT" not in portal.call("crm.company.get", {"id": company})["result"]
    assert "UF_CRM_DEBT" not in portal.call("crm.company.fields")["result"]
    with pytest.raises(RestError):
        portal.call("crm.company.userfield.get", {"id": field_id})
    # Re-creating the field makes it known again.
    portal.call(
        "crm.company.userfield.add", {"fields": {"FIELD_NAME": "DEBT", "USER_TYPE_ID": "double"}}
    )
    assert "UF_CRM_DEBT" in portal.call("crm.company.fields")["result"]


def test_enumeration_items(portal: Portal) -> None:
    field_id = portal.call(
        "crm.company.userfield.add",
        {
            "fields": {
                "FIELD_NAME": "SEGMENT",
                "USER_TYPE_ID": "enumeration",
                "LIST": [{"VALUE": "A", "SORT": 10}, {"VALUE": "B", "SORT": 20}],
            }
        },
    )["result"]
    field = portal.call("crm.company.userfield.get", {"id": field_id})["result"]
    assert [i["VALUE"] for i in field["LIST"]] == ["A", "B"]
    first = field["LIST"][0]["ID"]
    portal.call(
        "crm.company.userfield.update",
        {"id": field_id, "fields": {"LIST": [{"ID": first, "DEL": "Y"}, {"VALUE": "C"}]}},
    )
    field = portal.call("crm.company.userfield.get", {"id": field_id})["result"]
    assert [i["VALUE"] for i in field["LIST"]] == ["B", "C"]
    items = portal.call("crm.company.fields")["result"]["UF_CRM_SEGMENT"]["items"]
    assert [i["VALUE"] for i in items] == ["B", "C"]
