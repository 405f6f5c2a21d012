"""``crm.item.*`` (deals, contacts, companies, smart invoices), duplicates and timeline."""

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


def item_call(portal: Portal, method: str, **params: Any) -> Any:
    return portal.call(f"crm.item.{method}", params)["result"]


def test_deal_item_is_the_classic_deal(portal: Portal) -> None:
    company = portal.call("crm.company.add", {"fields": {"TITLE": "ООО Клиент"}})["result"]
    item = item_call(
        portal,
        "add",
        entityTypeId=2,
        fields={"title": "Поставка", "categoryId": 1, "companyId": company, "opportunity": 99.5},
    )["item"]
    assert item["id"] == 1 and item["entityTypeId"] == 2
    assert (item["stageId"], item["categoryId"], item["opportunity"]) == ("C1:NEW", 1, 99.5)
    assert item["companyId"] == company
    classic = portal.call("crm.deal.get", {"id": item["id"]})["result"]
    assert (classic["TITLE"], classic["OPPORTUNITY"]) == ("Поставка", "99.50")
    updated = item_call(portal, "update", entityTypeId=2, id=1, fields={"stageId": "C1:WON"})
    assert updated["item"]["stageSemanticId"] == "S"


def test_list_with_id_paging_and_camel_select(portal: Portal) -> None:
    for n in range(60):
        portal.call("crm.company.add", {"fields": {"TITLE": f"Компания {n}"}})
    page = portal.call(
        "crm.item.list",
        {
            "entityTypeId": 4,
            "select": ["id", "title"],
            "filter": {">id": 5},
            "order": {"id": "ASC"},
        },
    )
    assert page["total"] == 55 and page["next"] == 50
    items = page["result"]["items"]
    assert items[0] == {"id": 6, "title": "Компания 5"}
    fast = portal.call(
        "crm.item.list", {"entityTypeId": 4, "filter": {">id": 50}, "select": ["id"], "start": -1}
    )
    assert [i["id"] for i in fast["result"]["items"]] == list(range(51, 61))


def test_smart_invoice_links_and_stages(portal: Portal) -> None:
    company = portal.call("crm.company.add", {"fields": {"TITLE": "ООО Клиент"}})["result"]
    mine = portal.call("crm.company.add", {"fields": {"TITLE": "Наша", "IS_MY_COMPANY": "Y"}})
    deal = portal.call("crm.deal.add", {"fields": {"TITLE": "Сделка"}})["result"]
    invoice = item_call(
        portal,
        "add",
        entityTypeId=31,
        fields={
            "title": "Счет 1",
            "parentId2": deal,
            "companyId": company,
            "mycompanyId": mine["result"],
            "opportunity": 1200,
        },
    )["item"]
    assert invoice["stageId"].startswith("DT31_") and invoice["stageId"].endswith(":N")
    assert (invoice["parentId2"], invoice["companyId"]) == (deal, company)
    paid = invoice["stageId"].split(":")[0] + ":P"
    item_call(portal, "update", entityTypeId=31, id=invoice["id"], fields={"stageId": paid})
    found = item_call(portal, "list", entityTypeId=31, filter={"parentId2": deal})["items"]
    assert [(i["id"], i["stageId"], i["stageSemanticId"]) for i in found] == [
        (invoice["id"], paid, "S")
    ]
    categories = portal.call("crm.category.list", {"entityTypeId": 31})["result"]["categories"]
    stages = portal.call(
        "crm.status.list",
        {"filter": {"ENTITY_ID": f"SMART_INVOICE_STAGE_{categories[0]['id']}"}},
    )["result"]
    assert paid in {s["STATUS_ID"] for s in stages}
    assert item_call(portal, "delete", entityTypeId=31, id=invoice["id"]) == []
    with pytest.raises(RestError) as exc:
        item_call(portal, "get", entityTypeId=31, id=invoice["id"])
    assert exc.value.code == "NOT_FOUND"


def test_bad_entity_types(portal: Portal) -> None:
    with pytest.raises(RestError) as legacy:
        item_call(portal, "list", entityTypeId=5)
    assert legacy.value.code == "ENTITY_TYPE_NOT_SUPPORTED"
    with pytest.raises(RestError) as unknown:
        item_call(portal, "list", entityTypeId=999)
    assert (unknown.value.status, unknown.value.code) == (400, "NOT_FOUND")


def test_item_fields_and_user_fields(portal: Portal) -> None:
    portal.call(
        "crm.deal.userfield.add", {"fields": {"FIELD_NAME": "PAID", "USER_TYPE_ID": "double"}}
    )
    fields = item_call(portal, "fields", entityTypeId=2)["fields"]
    assert fields["stageId"]["upperName"] == "STAGE_ID"
    assert fields["ufCrmPaid"]["upperName"] == "UF_CRM_PAID"
    item = item_call(portal, "add", entityTypeId=2, fields={"ufCrmPaid": "150.5"})["item"]
    assert item["ufCrmPaid"] == "150.5"
    invoice_fields = item_call(portal, "fields", entityTypeId=31)["fields"]
    assert {"parentId2", "mycompanyId", "companyId"} <= set(invoice_fields)


def test_item_shapes(portal: Portal) -> None:
    added = portal.call("crm.item.add", {"entityTypeId": 2, "fields": {"title": "X"}})
    sample = example("crm.item.add")
    assert set(added) == set(sample)
    mine, theirs = added["result"]["item"], sample["result"]["item"]
    missing = {k for k in theirs if not k.startswith(("ufCrm", "parentId"))} - set(mine)
    assert not missing, missing
    for key, value in theirs.items():
        if key in mine and value is not None and mine[key] is not None:
            assert type(mine[key]) is type(value) or isinstance(value, float), key
    listed = portal.call("crm.item.list", {"entityTypeId": 2})
    assert set(listed) - {"next"} == set(example("crm.item.list"))
    assert set(listed["result"]) == {"items"}
    deleted = portal.call("crm.item.delete", {"entityTypeId": 2, "id": 1})
    assert deleted["result"] == example("crm.item.delete")["result"]


def test_find_duplicates_by_phone_and_email(portal: Portal) -> None:
    contact = portal.call(
        "crm.contact.add",
        {
            "fields": {
                "NAME": "Иван",
                "PHONE": [{"VALUE": "+7 (999) 123-45-67", "VALUE_TYPE": "WORK"}],
            }
        },
    )["result"]
    company = portal.call(
        "crm.company.add",
        {"fields": {"TITLE": "ООО", "EMAIL": [{"VALUE": "Info@Example.ru", "VALUE_TYPE": "WORK"}]}},
    )["result"]
    phones = portal.call(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["79991234567 доб. 12"]}
    )
    assert phones["result"] == {"CONTACT": [contact]}
    assert set(phones) == set(example("crm.duplicate.findbycomm"))
    mails = portal.call(
        "crm.duplicate.findbycomm",
        {"type": "EMAIL", "values": ["info@example.ru"], "entity_type": "COMPANY"},
    )
    assert mails["result"] == {"COMPANY": [company]}
    none = portal.call("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["x@y.z"]})
    assert none["result"] == []
    with pytest.raises(RestError) as exc:
        portal.call("crm.duplicate.findbycomm", {"values": ["1"]})
    assert exc.value.code == "Communication type is not defined"


def test_timeline_comment(portal: Portal) -> None:
    deal = portal.call("crm.deal.add", {"fields": {"TITLE": "Сделка"}})["result"]
    reply = portal.call(
        "crm.timeline.comment.add",
        {"fields": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal", "COMMENT": "Оплата получена"}},
    )
    assert isinstance(reply["result"], int)
    assert set(reply) == set(example("crm.timeline.comment.add"))
    listed = portal.call(
        "crm.timeline.comment.list", {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}}
    )["result"]
    assert [c["COMMENT"] for c in listed] == ["Оплата получена"]
    with pytest.raises(RestError):
        portal.call(
            "crm.timeline.comment.add",
            {"fields": {"ENTITY_ID": 999, "ENTITY_TYPE": "deal", "COMMENT": "x"}},
        )


def test_moving_a_deal_to_another_pipeline(portal: Portal) -> None:
    portal.install_application("app", "secret")
    portal.call(
        "event.bind", {"event": "ONCRMDEALMOVETOCATEGORY", "event_type": "offline"}, client_id="app"
    )
    deal = portal.call("crm.deal.add", {"fields": {"STAGE_ID": "PREPARATION"}})["result"]
    moved = item_call(portal, "update", entityTypeId=2, id=deal, fields={"categoryId": 2})["item"]
    assert (moved["categoryId"], moved["stageId"]) == (2, "C2:NEW")
    staged = item_call(
        portal, "update", entityTypeId=2, id=deal, fields={"categoryId": 2, "stageId": "C2:WON"}
    )["item"]
    assert staged["stageId"] == "C2:WON"
    events = portal.call("event.offline.get", {}, client_id="app")["result"]["events"]
    assert [(e["EVENT_NAME"], e["EVENT_DATA"]["FIELDS"]["ID"]) for e in events] == [
        ("ONCRMDEALMOVETOCATEGORY", deal)
    ]
    with pytest.raises(RestError):
        item_call(portal, "update", entityTypeId=2, id=deal, fields={"categoryId": 42})
