"""Deals, pipelines and stages, deal contacts and product rows of the Bitrix24 emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


def get(portal: Portal, deal_id: int) -> dict[str, str]:
    result: dict[str, str] = portal.call("crm.deal.get", {"id": deal_id})["result"]
    return result


def test_default_pipeline_and_first_stage(portal: Portal) -> None:
    deal_id = portal.call("crm.deal.add", {"fields": {"TITLE": "Поставка"}})["result"]
    deal = get(portal, deal_id)
    assert deal["CATEGORY_ID"] == "0"
    assert deal["STAGE_ID"] == "NEW"
    assert deal["STAGE_SEMANTIC_ID"] == "P"
    assert deal["CLOSED"] == "N"
    assert deal["OPPORTUNITY"] == "0.00"
    untitled = portal.call("crm.deal.add", {"fields": {}})["result"]
    assert get(portal, untitled)["TITLE"] == f"Сделка #{untitled}"


def test_stages_of_other_pipelines_carry_the_prefix(portal: Portal) -> None:
    deal_id = portal.call("crm.deal.add", {"fields": {"CATEGORY_ID": 1}})["result"]
    assert get(portal, deal_id)["STAGE_ID"] == "C1:NEW"
    portal.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "C1:WON"}})
    deal = get(portal, deal_id)
    assert (deal["STAGE_ID"], deal["STAGE_SEMANTIC_ID"], deal["CLOSED"]) == ("C1:WON", "S", "Y")
    # A stage of another pipeline is not taken; CATEGORY_ID cannot change on update.
    portal.call(
        "crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "LOSE", "CATEGORY_ID": 2}}
    )
    deal = get(portal, deal_id)
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"]) == ("1", "C1:WON")


def test_lost_stage_semantics(portal: Portal) -> None:
    deal_id = portal.call("crm.deal.add", {"fields": {"STAGE_ID": "LOSE"}})["result"]
    assert get(portal, deal_id)["STAGE_SEMANTIC_ID"] == "F"


def test_unknown_category_is_rejected(portal: Portal) -> None:
    with pytest.raises(RestError) as exc:
        portal.call("crm.deal.add", {"fields": {"CATEGORY_ID": 99}})
    assert exc.value.status == 400
    assert portal.store.count("deal") == 0


def test_category_and_status_lists(portal: Portal) -> None:
    reply = portal.call("crm.category.list", {"entityTypeId": 2})
    categories = reply["result"]["categories"]
    assert [c["id"] for c in categories] == [0, 1, 2]
    assert categories[0]["isDefault"] == "Y"
    assert reply["total"] == 3
    stages = portal.call("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE_1"}})["result"]
    assert [s["STATUS_ID"] for s in stages] == ["C1:NEW", "C1:PREPARATION", "C1:WON"]
    assert stages[-1]["EXTRA"]["SEMANTICS"] == "success"
    default = portal.call("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE"}})["result"]
    assert {s["STATUS_ID"] for s in default} >= {"NEW", "WON", "LOSE"}
    with pytest.raises(RestError) as exc:
        portal.call("crm.category.list", {"entityTypeId": 999})
    assert exc.value.code == "NOT_FOUND"


def test_list_filters_by_pipeline_and_stage(portal: Portal) -> None:
    for category in (0, 1, 1, 2):
        portal.call("crm.deal.add", {"fields": {"CATEGORY_ID": category}})
    reply = portal.call("crm.deal.list", {"filter": {"CATEGORY_ID": 1}, "select": ["ID"]})
    assert reply["total"] == 2
    staged = portal.call("crm.deal.list", {"filter": {"STAGE_ID": "C2:NEW"}})
    assert [d["ID"] for d in staged["result"]] == ["4"]
    assert staged["result"][0]["OPPORTUNITY"] == "0.00"


def test_contact_bindings(portal: Portal) -> None:
    first = portal.call("crm.contact.add", {"fields": {"NAME": "Иван"}})["result"]
    second = portal.call("crm.contact.add", {"fields": {"NAME": "Анна"}})["result"]
    deal_id = portal.call("crm.deal.add", {"fields": {"CONTACT_IDS": [first, second]}})["result"]
    assert get(portal, deal_id)["CONTACT_ID"] == str(first)
    portal.call(
        "crm.deal.contact.items.set",
        {"id": deal_id, "items": [{"CONTACT_ID": second, "IS_PRIMARY": "Y"}]},
    )
    items = portal.call("crm.deal.contact.items.get", {"id": deal_id})["result"]
    assert items == [{"CONTACT_ID": second, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]
    assert get(portal, deal_id)["CONTACT_ID"] == str(second)


def test_productrows_set_replaces_rows_and_totals(portal: Portal) -> None:
    deal_id = portal.call("crm.deal.add", {"fields": {"TITLE": "Заказ"}})["result"]
    rows = [
        {"PRODUCT_NAME": "Стол", "PRICE": 120, "QUANTITY": 2, "TAX_RATE": 20, "TAX_INCLUDED": "Y"},
        {"PRODUCT_NAME": "Стул", "PRICE": 50, "QUANTITY": 1},
    ]
    assert portal.call("crm.deal.productrows.set", {"id": deal_id, "rows": rows})["result"] is True
    stored = portal.call("crm.deal.productrows.get", {"id": deal_id})["result"]
    assert [r["PRODUCT_NAME"] for r in stored] == ["Стол", "Стул"]
    assert stored[0]["PRICE_EXCLUSIVE"] == 100.0
    deal = get(portal, deal_id)
    assert (deal["OPPORTUNITY"], deal["TAX_VALUE"]) == ("290.00", "40.00")
    portal.call("crm.deal.productrows.set", {"id": deal_id, "rows": [rows[1]]})
    stored = portal.call("crm.deal.productrows.get", {"id": deal_id})["result"]
    assert [r["PRODUCT_NAME"] for r in stored] == ["Стул"]
    assert get(portal, deal_id)["OPPORTUNITY"] == "50.00"


def test_manual_opportunity_is_kept(portal: Portal) -> None:
    deal_id = portal.call(
        "crm.deal.add", {"fields": {"OPPORTUNITY": 1000, "IS_MANUAL_OPPORTUNITY": "Y"}}
    )["result"]
    portal.call(
        "crm.deal.productrows.set", {"id": deal_id, "rows": [{"PRODUCT_NAME": "X", "PRICE": 1}]}
    )
    assert get(portal, deal_id)["OPPORTUNITY"] == "1000.00"


def test_delete_removes_rows_and_bindings(portal: Portal) -> None:
    deal_id = portal.call("crm.deal.add", {"fields": {"TITLE": "Удалить"}})["result"]
    portal.call("crm.deal.productrows.set", {"id": deal_id, "rows": [{"PRODUCT_NAME": "X"}]})
    assert portal.call("crm.deal.delete", {"id": deal_id})["result"] is True
    with pytest.raises(RestError):
        portal.call("crm.deal.productrows.get", {"id": deal_id})
    assert portal.store.query("SELECT COUNT(*) FROM productrow")[0][0] == 0
    with pytest.raises(RestError) as exc:
        portal.call("crm.deal.delete", {"id": deal_id})
    assert (exc.value.status, exc.value.code) == (400, "")


def test_batch_with_deal_methods(portal: Portal) -> None:
    reply = portal.call(
        "batch",
        {
            "halt": 0,
            "cmd": {
                "deal": "crm.deal.add?fields[TITLE]=Пакет&fields[CATEGORY_ID]=2",
                "rows": "crm.deal.productrows.set?id=$result[deal]"
                "&rows[0][PRODUCT_NAME]=Услуга&rows[0][PRICE]=300&rows[0][QUANTITY]=2",
                "read": "crm.deal.get?id=$result[deal]",
                "stages": "crm.status.list?filter[ENTITY_ID]=DEAL_STAGE_2",
                "bad": "crm.deal.get?id=999",
            },
        },
    )["result"]
    assert reply["result"]["read"]["STAGE_ID"] == "C2:NEW"
    assert reply["result"]["read"]["OPPORTUNITY"] == "600.00"
    assert len(reply["result"]["stages"]) == 2
    assert reply["result_error"]["bad"]["error_description"] == "Not found"


def test_deleting_a_contact_unbinds_it_from_deals(portal: Portal) -> None:
    first = portal.call("crm.contact.add", {"fields": {"NAME": "Иван"}})["result"]
    second = portal.call("crm.contact.add", {"fields": {"NAME": "Анна"}})["result"]
    deal_id = portal.call("crm.deal.add", {"fields": {"CONTACT_IDS": [first, second]}})["result"]
    portal.call("crm.contact.delete", {"id": first})
    items = portal.call("crm.deal.contact.items.get", {"id": deal_id})["result"]
    assert [(i["CONTACT_ID"], i["IS_PRIMARY"]) for i in items] == [(second, "Y")]
    assert get(portal, deal_id)["CONTACT_ID"] == str(second)
